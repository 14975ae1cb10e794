"""An in-memory tracer that records spans, for tests and debugging.

:class:`InMemoryTracer` satisfies :class:`cuprum.adapters.tracing_adapter.Tracer`
and keeps every :class:`InMemorySpan` it started, in order.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping

__all__ = ["InMemorySpan", "InMemoryTracer"]


@dataclasses.dataclass(slots=True)
class InMemorySpan:
    """A recorded span.

    ``attributes`` is a private copy of what it was given; ``events`` lists
    ``(name, attributes)`` pairs (copies; ``None`` recorded as ``{}``);
    ``status_ok`` is ``None`` until :meth:`set_status`; ``ended`` turns
    ``True`` on :meth:`end`.
    """

    name: str
    attributes: dict[str, object] = dataclasses.field(default_factory=dict)
    events: list[tuple[str, dict[str, object]]] = dataclasses.field(default_factory=list)
    status_ok: bool | None = None
    ended: bool = False

    def __post_init__(self) -> None:
        self.attributes = dict(self.attributes)

    def set_attribute(self, key: str, value: object) -> None:
        """Set one attribute."""
        self.attributes[key] = value

    def add_event(self, name: str, attributes: Mapping[str, object] | None = None) -> None:
        """Record an event with a copy of ``attributes``."""
        self.events.append((name, dict(attributes) if attributes is not None else {}))

    def set_status(self, *, ok: bool) -> None:
        """Record the span's outcome."""
        self.status_ok = ok

    def end(self) -> None:
        """Mark the span ended."""
        self.ended = True


@dataclasses.dataclass(slots=True)
class InMemoryTracer:
    """A thread-safe tracer keeping every span it starts in ``spans``."""

    spans: list[InMemorySpan] = dataclasses.field(default_factory=list)
    _lock: threading.Lock = dataclasses.field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def start_span(self, name: str, attributes: Mapping[str, object] | None = None) -> InMemorySpan:
        """Start, record and return a span named ``name``."""
        span = InMemorySpan(name=name, attributes=dict(attributes) if attributes else {})
        with self._lock:
            self.spans.append(span)
        return span

    def reset(self) -> None:
        """Forget every recorded span."""
        with self._lock:
            self.spans.clear()
