"""Execution metrics: counters and a duration histogram per program and project.

:class:`MetricsHook` is an observe hook that drives a :class:`MetricsCollector`
— a two-method protocol a user implements over their metrics back end.
:class:`InMemoryMetrics` is a ready collector for tests and small tools.

Operations per phase (value ``1.0`` unless noted):

=============== ===========================================================
phase           operations
=============== ===========================================================
``plan``        none
``start``       counter ``cuprum_executions_total``
``stdout``      counter ``cuprum_stdout_lines_total``
``stderr``      counter ``cuprum_stderr_lines_total``
``stdin``       counter ``cuprum_stdin_bytes_total`` += ``byte_count``
``stdin_error`` counter ``cuprum_stdin_errors_total``
``exit``        counter ``cuprum_failures_total`` when ``exit_code`` is
                non-zero, then histogram ``cuprum_duration_seconds``
=============== ===========================================================

Every operation carries the labels ``program`` and ``project``.
"""

from __future__ import annotations

import dataclasses
import threading
import typing as t
from collections.abc import Mapping

if t.TYPE_CHECKING:
    from cuprum.events import ExecEvent

__all__ = [
    "InMemoryMetrics",
    "MetricsCollector",
    "MetricsHook",
    "UnhandledMetricsPhaseError",
    "metrics_hook",
]

_UNKNOWN = "unknown"


@t.runtime_checkable
class MetricsCollector(t.Protocol):
    """A metrics back end. Implementations must be thread-safe.

    Labels are ``{"program": ..., "project": ...}``.
    """

    def inc_counter(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        """Add ``value`` to the counter ``name`` with ``labels``."""

    def observe_histogram(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        """Record ``value`` in the histogram ``name`` with ``labels``."""


class UnhandledMetricsPhaseError(ValueError):
    """:class:`MetricsHook` received an event whose phase it does not know."""

    def __init__(self, phase: str) -> None:
        super().__init__(f"Unhandled metrics phase: {phase}")
        self.phase = phase


def _labels(event: ExecEvent) -> dict[str, str]:
    program = str(event.program) if event.program else _UNKNOWN
    project = event.tags.get("project")
    project_label = str(project) if project is not None else ""
    return {"program": program, "project": project_label or _UNKNOWN}


class MetricsHook:
    """An observe hook recording execution metrics on a :class:`MetricsCollector`.

    Collector exceptions propagate (and so fail the command); nothing is
    retried and the operations of one event are not atomic.
    """

    __slots__ = ("collector",)

    def __init__(self, collector: MetricsCollector) -> None:
        self.collector = collector

    def __call__(self, event: ExecEvent) -> None:
        """Record ``event``.

        Raises:
            UnhandledMetricsPhaseError: the phase is not one of the seven.
        """
        phase = event.phase
        if phase == "plan":
            return
        collector = self.collector
        if phase == "start":
            collector.inc_counter("cuprum_executions_total", 1.0, _labels(event))
        elif phase == "stdout":
            collector.inc_counter("cuprum_stdout_lines_total", 1.0, _labels(event))
        elif phase == "stderr":
            collector.inc_counter("cuprum_stderr_lines_total", 1.0, _labels(event))
        elif phase == "stdin":
            if event.byte_count is not None:
                collector.inc_counter(
                    "cuprum_stdin_bytes_total", float(event.byte_count), _labels(event)
                )
        elif phase == "stdin_error":
            collector.inc_counter("cuprum_stdin_errors_total", 1.0, _labels(event))
        elif phase == "exit":
            labels = _labels(event)
            if event.exit_code is not None and event.exit_code != 0:
                collector.inc_counter("cuprum_failures_total", 1.0, labels)
            if event.duration_s is not None:
                collector.observe_histogram("cuprum_duration_seconds", event.duration_s, labels)
        else:
            raise UnhandledMetricsPhaseError(phase)


def metrics_hook(collector: MetricsCollector) -> MetricsHook:
    """An observe hook recording execution metrics on ``collector``."""
    return MetricsHook(collector)


@dataclasses.dataclass(slots=True)
class InMemoryMetrics:
    """A thread-safe in-memory :class:`MetricsCollector`; labels are ignored.

    ``counters`` maps a name to its running total; ``histograms`` maps a name
    to every observed value in order.
    """

    counters: dict[str, float] = dataclasses.field(default_factory=dict)
    histograms: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    _lock: threading.Lock = dataclasses.field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def inc_counter(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        """Add ``value`` to the counter ``name``."""
        with self._lock:
            self.counters[name] = self.counters.get(name, 0.0) + value

    def observe_histogram(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        """Append ``value`` to the histogram ``name``."""
        with self._lock:
            self.histograms.setdefault(name, []).append(value)

    def reset(self) -> None:
        """Forget every counter and histogram."""
        with self._lock:
            self.counters.clear()
            self.histograms.clear()
