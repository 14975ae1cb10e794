"""Structured execution events delivered to observe hooks.

An observe hook (registered with :func:`cuprum.context.observe` or through a
:class:`~cuprum.context.ScopeConfig`) receives one :class:`ExecEvent` per step
of each execution:

=============== ===========================================================
phase           fields set
=============== ===========================================================
``plan``        none beyond the invariant ones (``pid`` is ``None``)
``start``       ``pid``
``stdout``      ``pid``, ``line`` (terminator removed)
``stderr``      ``pid``, ``line`` (terminator removed)
``stdin``       ``pid``, ``byte_count``
``stdin_error`` ``pid``, ``operation``, ``error_type``, ``note``
``exit``        ``pid``, ``exit_code``, ``duration_s``
=============== ===========================================================

Per execution, ``plan`` comes first and ``exit`` last; ``start`` precedes every
stdin and output event; output lines of one stream keep their order, while the
streams interleave freely. Every event of one execution (each pipeline stage is
one execution) carries the same ``exec_id``.

An observe hook may return an awaitable; it then runs as a background task
that is awaited before the run returns.
"""

from __future__ import annotations

import dataclasses
import types
import typing as t
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from cuprum.program import Program

if t.TYPE_CHECKING:
    from cuprum._command import SafeCmd

__all__ = ["ExecEvent", "ExecHook", "ExecId", "ExecPhase", "new_exec_id"]

ExecPhase: t.TypeAlias = t.Literal[
    "plan", "start", "stdout", "stderr", "stdin", "stdin_error", "exit"
]
"""The seven phases of an execution, in the order they can first occur."""

ExecId = t.NewType("ExecId", uuid.UUID)
"""The identifier shared by every event of one execution."""


def new_exec_id() -> ExecId:
    """A fresh random :data:`ExecId` (a version 4 UUID)."""
    return ExecId(uuid.uuid4())


@dataclasses.dataclass(frozen=True, slots=True)
class ExecEvent:
    """One step of one execution, as seen by observe hooks.

    ``argv`` includes the program as its first element. ``cwd`` is the
    child's working directory (``None``: the parent's). ``env`` holds only the
    overlay variables (scope overlays and the call's ``env``), ``None`` when
    there are none. ``timestamp`` is :func:`time.time` at emission. ``tags``
    is a read-only mapping (see the users' guide for the default keys).
    Fields that do not apply to a phase are ``None``.
    """

    phase: ExecPhase
    program: Program
    argv: tuple[str, ...]
    cwd: Path | None
    env: Mapping[str, str] | None
    pid: int | None
    timestamp: float
    line: str | None
    exit_code: int | None
    duration_s: float | None
    tags: Mapping[str, object]
    note: str | None = None
    byte_count: int | None = None
    operation: str | None = None
    error_type: str | None = None
    exec_id: ExecId | None = None


ExecHook: t.TypeAlias = Callable[[ExecEvent], Awaitable[None] | None]
"""An observe hook: called with each event; may return an awaitable."""


def present_fields(event: ExecEvent) -> list[tuple[str, object]]:
    """The per-phase fields an event actually carries, as ``(name, value)``
    pairs in a fixed order: ``pid``, ``cwd`` (as ``str``), ``exit_code``,
    ``duration_s``, ``line``. Not part of ``__all__``: the logging and tracing
    adapters project events with it.
    """
    values = (
        ("pid", event.pid),
        ("cwd", None if event.cwd is None else str(event.cwd)),
        ("exit_code", event.exit_code),
        ("duration_s", event.duration_s),
        ("line", event.line),
    )
    return [(name, value) for name, value in values if value is not None]


def default_tags(
    cmd: SafeCmd,
    *,
    capture: bool,
    echo: bool,
    stage_index: int | None = None,
    stage_count: int | None = None,
    extra: Mapping[str, object] | None = None,
) -> Mapping[str, object]:
    """The read-only tags of an execution's events.

    Keys in order: ``project`` (the command's project name), ``capture``,
    ``echo``; then, for a pipeline stage, ``pipeline_stage_index`` and
    ``pipeline_stages``; then ``extra`` (the call's ``ExecutionContext.tags``),
    which may override any of them. Not part of ``__all__``: the run path
    builds tags once per execution with it.

    Raises:
        ValueError: only one of ``stage_index`` and ``stage_count`` is given.
    """
    tags: dict[str, object] = {"project": cmd.project.name, "capture": capture, "echo": echo}
    if (stage_index is None) != (stage_count is None):
        msg = "stage_index and stage_count must be given together"
        raise ValueError(msg)
    if stage_index is not None:
        tags["pipeline_stage_index"] = stage_index
        tags["pipeline_stages"] = stage_count
    if extra:
        tags.update(extra)
    return types.MappingProxyType(tags)
