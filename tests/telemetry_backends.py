"""Adapters' protocols implemented over real telemetry libraries, as a user would wire them.

``PrometheusCollector`` is a ``MetricsCollector`` over a ``prometheus_client``
registry; ``OpenTelemetryTracer`` is a ``Tracer`` over an OpenTelemetry SDK
tracer.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from opentelemetry import trace as otel_trace
from opentelemetry.util.types import AttributeValue
from prometheus_client import CollectorRegistry, Counter, Histogram

LABEL_NAMES = ("program", "project")


class PrometheusCollector:
    """Creates one labelled Counter or Histogram per metric name on first use."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._counters: dict[str, Counter] = {}
        self._histograms: dict[str, Histogram] = {}
        self._lock = threading.Lock()

    def inc_counter(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        with self._lock:
            counter = self._counters.get(name)
            if counter is None:
                counter = Counter(name, f"cuprum {name}", LABEL_NAMES, registry=self.registry)
                self._counters[name] = counter
        counter.labels(**labels).inc(value)

    def observe_histogram(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        with self._lock:
            histogram = self._histograms.get(name)
            if histogram is None:
                histogram = Histogram(name, f"cuprum {name}", LABEL_NAMES, registry=self.registry)
                self._histograms[name] = histogram
        histogram.labels(**labels).observe(value)


def _otel_value(value: object) -> AttributeValue:
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Sequence):
        return [str(item) for item in value]
    return str(value)


def _otel_attributes(attributes: Mapping[str, object] | None) -> dict[str, AttributeValue]:
    return {key: _otel_value(value) for key, value in (attributes or {}).items()}


class OpenTelemetrySpan:
    """Forwards the ``Span`` protocol to an OpenTelemetry span."""

    def __init__(self, span: otel_trace.Span) -> None:
        self.span = span

    def set_attribute(self, key: str, value: object) -> None:
        self.span.set_attribute(key, _otel_value(value))

    def add_event(self, name: str, attributes: Mapping[str, object] | None = None) -> None:
        self.span.add_event(name, attributes=_otel_attributes(attributes))

    def set_status(self, *, ok: bool) -> None:
        code = otel_trace.StatusCode.OK if ok else otel_trace.StatusCode.ERROR
        self.span.set_status(otel_trace.Status(code))

    def end(self) -> None:
        self.span.end()


class OpenTelemetryTracer:
    """Forwards the ``Tracer`` protocol to an OpenTelemetry tracer."""

    def __init__(self, tracer: otel_trace.Tracer) -> None:
        self.tracer = tracer

    def start_span(
        self, name: str, attributes: Mapping[str, object] | None = None
    ) -> OpenTelemetrySpan:
        return OpenTelemetrySpan(
            self.tracer.start_span(name, attributes=_otel_attributes(attributes))
        )
