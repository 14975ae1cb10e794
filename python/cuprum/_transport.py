"""How a run reaches a program that does not live on this machine.

A command whose program runs elsewhere (:mod:`cuprum.remote`) carries a
:class:`Transport`. The run path asks it three things and nothing else:

- ``connect``: executions to run before the command itself (opening a shared
  connection), as a generator driven like the run: it yields engine handles
  and receives their outcomes; it may raise;
- ``launch``: the argv the engine executes locally in place of the
  command's own (``ssh … host 'program args'``), and a :class:`Launch` that
  interprets the local exit code once the run is over;
- ``tags``: what events say about where the command ran
  (``{"host": ...}``).

The program name, argv, results, events and the allowlist keep speaking of
the remote program; only the engine sees the local argv.

Live processes (``start()``) fit the same shape: ``connect`` is a generator
any driver can run — a blocking start drives it inline before spawning —
and ``launch``/``finish`` wrap the spawn and the wait.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from typing import Protocol

from cuprum import _native

ConnectSteps = Generator[_native.Execution, _native.Outcome, None]
"""Executions a transport needs before the run: yields handles, receives outcomes."""


class Launch(Protocol):
    """One stage's local execution on behalf of a transport."""

    @property
    def argv(self) -> Sequence[str]:
        """What the engine executes locally (secrets revealed)."""

    def finish(self, exit_code: int) -> None:
        """Interpret the local exit code; raise when the transport failed.
        Releases whatever the launch holds (also on raising)."""

    def close(self) -> None:
        """Release whatever the launch holds; idempotent."""


class Transport(Protocol):
    """Where a command's program runs, as the run path sees it."""

    @property
    def tags(self) -> Mapping[str, object]:
        """Tags every event of the command carries (before the call's own)."""

    def connect(self, *, timeout: float | None, inline: bool) -> ConnectSteps:
        """Executions to run first; ``timeout`` bounds them (``None``: the
        transport's own bound); ``inline`` is the run's supervision mode."""

    def launch(self, argv: Sequence[str], *, stdin: bool, grace: float) -> Launch:
        """The local execution of ``argv`` (the program first). ``stdin``:
        the stage is fed data (a payload or a pipeline relay); ``grace``:
        the run's ``cancel_grace``."""


def transport_of(cmd: object) -> Transport | None:
    """The transport of a command, ``None`` for a local one."""
    transport: Transport | None = getattr(cmd, "transport", None)
    return transport


def tags_with_transport(
    cmd: object, extra: Mapping[str, object] | None
) -> Mapping[str, object] | None:
    """The call's tags, preceded by the command's transport tags."""
    transport = transport_of(cmd)
    if transport is None:
        return extra
    return {**transport.tags, **(extra or {})}
