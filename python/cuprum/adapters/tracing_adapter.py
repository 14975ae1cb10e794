"""Tracing: one span per execution, opened at ``start`` and closed at ``exit``.

:class:`TracingHook` is an observe hook that drives a :class:`Tracer` — a
one-method protocol a user implements over their tracing back end — and the
:class:`Span` objects it returns. Spans are keyed by the event's
``exec_id``, so each pipeline stage gets its own span.

:class:`InMemoryTracer` and :class:`InMemorySpan` (from
:mod:`cuprum.adapters.tracing_memory`) are re-exported here.
"""

from __future__ import annotations

import logging
import threading
import typing as t
from collections.abc import Mapping

from cuprum.adapters.tracing_memory import InMemorySpan, InMemoryTracer
from cuprum.events import present_fields

if t.TYPE_CHECKING:
    from cuprum.events import ExecEvent, ExecId

__all__ = [
    "InMemorySpan",
    "InMemoryTracer",
    "Span",
    "Tracer",
    "TracingHook",
    "tracing_hook",
]

_logger = logging.getLogger(__name__)

_EVENT_FIELDS = ("line", "operation", "error_type", "note")


@t.runtime_checkable
class Span(t.Protocol):
    """A span of a tracing back end."""

    def set_attribute(self, key: str, value: object) -> None:
        """Set one attribute on the span."""

    def add_event(self, name: str, attributes: Mapping[str, object] | None = None) -> None:
        """Add a timestamped event to the span."""

    def set_status(self, *, ok: bool) -> None:
        """Set the span's outcome."""

    def end(self) -> None:
        """Finish the span."""


@t.runtime_checkable
class Tracer(t.Protocol):
    """A tracing back end that starts spans."""

    def start_span(self, name: str, attributes: Mapping[str, object] | None = None) -> Span:
        """Start and return a span named ``name`` with initial ``attributes``."""
        ...


def _start_attributes(event: ExecEvent) -> dict[str, object]:
    attributes: dict[str, object] = {
        "cuprum.program": str(event.program),
        "cuprum.argv": list(event.argv),
    }
    attributes.update((f"cuprum.{name}", value) for name, value in present_fields(event))
    project = event.tags.get("project")
    if project is not None:
        attributes["cuprum.project"] = str(project)
    for key in ("pipeline_stage_index", "pipeline_stages"):
        value = event.tags.get(key)
        if value is not None:
            attributes[f"cuprum.{key}"] = value
    return attributes


class TracingHook:
    """An observe hook that records each execution as a span on a :class:`Tracer`.

    * Events without an ``exec_id`` are ignored, as are events for an
      ``exec_id`` with no open span.
    * ``start`` opens ``"cuprum.exec <program>"`` with the attributes
      ``cuprum.program``, ``cuprum.argv`` (list) and, when present,
      ``cuprum.pid``, ``cuprum.cwd``, ``cuprum.exit_code``,
      ``cuprum.duration_s``, ``cuprum.line``, ``cuprum.project``,
      ``cuprum.pipeline_stage_index`` and ``cuprum.pipeline_stages``. A span
      still open for the same ``exec_id`` is marked failed and ended first.
    * ``stdout``/``stderr`` (only if ``record_output``) and ``stdin_error``
      (always) add an event ``cuprum.<phase>`` with whichever of ``line``,
      ``operation``, ``error_type`` and ``note`` are set.
    * ``exit`` sets ``cuprum.exit_code``/``cuprum.duration_s`` when present,
      the status (ok when the exit code is 0 or unknown) and ends the span.
    * ``plan`` and ``stdin`` are ignored; unknown phases are logged at DEBUG.
    """

    __slots__ = ("_lock", "_spans", "record_output", "tracer")

    def __init__(self, tracer: Tracer, *, record_output: bool = True) -> None:
        self.tracer = tracer
        self.record_output = record_output
        self._spans: dict[ExecId, Span] = {}
        self._lock = threading.Lock()

    def __call__(self, event: ExecEvent) -> None:
        """Record ``event`` on the span of its execution."""
        exec_id = event.exec_id
        if exec_id is None:
            return
        phase = event.phase
        if phase == "start":
            self._start(exec_id, event)
        elif phase in {"stdout", "stderr", "stdin_error"}:
            if phase == "stdin_error" or self.record_output:
                self._add_event(exec_id, event)
        elif phase == "exit":
            self._finish(exec_id, event)
        elif phase not in {"plan", "stdin"}:
            _logger.debug("Ignoring unhandled tracing adapter phase: %s", phase)

    def _start(self, exec_id: ExecId, event: ExecEvent) -> None:
        span = self.tracer.start_span(f"cuprum.exec {event.program}", _start_attributes(event))
        with self._lock:
            stale = self._spans.pop(exec_id, None)
            self._spans[exec_id] = span
        if stale is not None:
            stale.set_status(ok=False)
            stale.end()

    def _add_event(self, exec_id: ExecId, event: ExecEvent) -> None:
        with self._lock:
            span = self._spans.get(exec_id)
        if span is None:
            return
        attributes: dict[str, object] = {}
        for name in _EVENT_FIELDS:
            value = getattr(event, name)
            if value is not None:
                attributes[name] = value
        span.add_event(f"cuprum.{event.phase}", attributes)

    def _finish(self, exec_id: ExecId, event: ExecEvent) -> None:
        with self._lock:
            span = self._spans.pop(exec_id, None)
        if span is None:
            return
        if event.exit_code is not None:
            span.set_attribute("cuprum.exit_code", event.exit_code)
        if event.duration_s is not None:
            span.set_attribute("cuprum.duration_s", event.duration_s)
        span.set_status(ok=event.exit_code is None or event.exit_code == 0)
        span.end()


def tracing_hook(tracer: Tracer, *, record_output: bool = True) -> TracingHook:
    """An observe hook recording each execution as a span on ``tracer``."""
    return TracingHook(tracer, record_output=record_output)
