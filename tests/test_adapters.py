"""Behaviour of cuprum.adapters: structured logging, metrics and tracing of events."""

from __future__ import annotations

import json
import logging
import threading
import types
import typing as t
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry

from cuprum import adapters
from cuprum.adapters import logging_adapter, metrics_adapter, tracing_adapter, tracing_memory
from cuprum.adapters.logging_adapter import (
    JsonLoggingFormatter,
    LogLevels,
    structured_logging_hook,
)
from cuprum.adapters.metrics_adapter import (
    InMemoryMetrics,
    MetricsCollector,
    MetricsHook,
    UnhandledMetricsPhaseError,
    metrics_hook,
)
from cuprum.adapters.tracing_adapter import Span, Tracer, TracingHook, tracing_hook
from cuprum.adapters.tracing_memory import InMemorySpan, InMemoryTracer
from cuprum.catalogue import ECHO
from cuprum.events import ExecEvent, ExecId, new_exec_id
from cuprum.program import Program
from telemetry_backends import OpenTelemetryTracer, PrometheusCollector

LOGGER = "cuprum.test.adapters"


def _event(phase: str, **overrides: t.Any) -> ExecEvent:
    fields: dict[str, t.Any] = {
        "phase": phase,
        "program": ECHO,
        "argv": ("echo", "hi"),
        "cwd": None,
        "env": None,
        "pid": None if phase == "plan" else 4242,
        "timestamp": 1700000000.0,
        "line": None,
        "exit_code": None,
        "duration_s": None,
        "tags": types.MappingProxyType({"project": "core-ops", "capture": True, "echo": False}),
    }
    fields.update(overrides)
    return ExecEvent(**fields)


def _lifecycle(exec_id: ExecId | None, *, exit_code: int = 0, **extra: t.Any) -> list[ExecEvent]:
    common = {"exec_id": exec_id, **extra}
    return [
        _event("plan", **common),
        _event("start", **common),
        _event("stdin", byte_count=12, **common),
        _event("stdout", line="out-1", **common),
        _event("stderr", line="err-1", **common),
        _event("stdout", line="out-2", **common),
        _event("exit", exit_code=exit_code, duration_s=0.25, **common),
    ]


class _ExplodingTags(Mapping[str, object]):
    """Tags that fail on any access: proves a code path never looks at them."""

    def __getitem__(self, key: str) -> object:
        raise AssertionError("tags were read")

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("tags were read")

    def __len__(self) -> int:
        raise AssertionError("tags were read")


def test_adapters_package_exports_nothing() -> None:
    assert adapters.__all__ == []


def test_submodule_exports() -> None:
    assert set(logging_adapter.__all__) == {
        "JsonLoggingFormatter",
        "LogLevels",
        "structured_logging_hook",
    }
    assert set(metrics_adapter.__all__) >= {
        "InMemoryMetrics",
        "MetricsCollector",
        "MetricsHook",
        "metrics_hook",
    }
    assert set(tracing_adapter.__all__) >= {
        "InMemorySpan",
        "InMemoryTracer",
        "Span",
        "Tracer",
        "TracingHook",
        "tracing_hook",
    }
    assert set(tracing_memory.__all__) == {"InMemorySpan", "InMemoryTracer"}
    assert tracing_adapter.InMemorySpan is InMemorySpan
    assert tracing_adapter.InMemoryTracer is InMemoryTracer


# --- structured logging -------------------------------------------------------------------


def test_log_levels_defaults_and_mapping() -> None:
    levels = LogLevels()
    assert (levels.plan_level, levels.start_level, levels.output_level, levels.exit_level) == (
        logging.DEBUG,
        logging.INFO,
        logging.DEBUG,
        logging.INFO,
    )
    levels.output_level = logging.WARNING
    assert levels.level_for("stdout") == logging.WARNING
    assert levels.level_for("stderr") == logging.WARNING
    assert levels.level_for("stdin") == logging.DEBUG
    assert levels.level_for("stdin_error") == logging.DEBUG


def test_structured_messages_per_phase(caplog: pytest.LogCaptureFixture) -> None:
    hook = structured_logging_hook(logger=logging.getLogger(LOGGER))
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        hook(_event("plan"))
        hook(_event("start"))
        hook(_event("stdout", line="a 'quoted' line"))
        hook(_event("stderr", line="err"))
        hook(_event("exit", exit_code=0, duration_s=1.5))
        hook(_event("exit", exit_code=1))
        hook(_event("stdin", byte_count=3))
        hook(_event("stdin_error", operation="write"))
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "cuprum.plan program=echo argv=('echo', 'hi')",
        "cuprum.start program=echo pid=4242",
        "cuprum.stdout pid=4242 line=\"a 'quoted' line\"",
        "cuprum.stderr pid=4242 line='err'",
        "cuprum.exit program=echo pid=4242 exit_code=0 duration_s=1.500000",
        "cuprum.exit program=echo pid=4242 exit_code=1 duration_s=unknown",
        "cuprum.stdin program=echo",
        "cuprum.stdin_error program=echo",
    ]
    levels = [r.levelno for r in caplog.records]
    assert levels == [
        logging.DEBUG,
        logging.INFO,
        logging.DEBUG,
        logging.DEBUG,
        logging.INFO,
        logging.INFO,
        logging.DEBUG,
        logging.DEBUG,
    ]


def test_structured_extras(caplog: pytest.LogCaptureFixture) -> None:
    hook = structured_logging_hook(logger=logging.getLogger(LOGGER))
    event = _event(
        "exit",
        cwd=Path("/work"),
        exit_code=2,
        duration_s=0.5,
        env={"SECRET": "x"},
        exec_id=new_exec_id(),
        note="n",
        byte_count=1,
        operation="write",
        error_type="OSError",
    )
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        hook(event)
    (record,) = caplog.records
    extras = {k: v for k, v in vars(record).items() if k.startswith("cuprum_")}
    assert extras == {
        "cuprum_phase": "exit",
        "cuprum_program": "echo",
        "cuprum_argv": ("echo", "hi"),
        "cuprum_pid": 4242,
        "cuprum_cwd": "/work",
        "cuprum_exit_code": 2,
        "cuprum_duration_s": 0.5,
        "cuprum_tags": {"project": "core-ops", "capture": True, "echo": False},
    }
    assert type(extras["cuprum_tags"]) is dict
    assert type(extras["cuprum_program"]) is str


def test_structured_extras_omit_unset_fields(caplog: pytest.LogCaptureFixture) -> None:
    hook = structured_logging_hook(logger=logging.getLogger(LOGGER))
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        hook(_event("plan"))
        hook(_event("stdout", line=""))
    plan, stdout = caplog.records
    assert not hasattr(plan, "cuprum_pid")
    assert not hasattr(plan, "cuprum_cwd")
    assert not hasattr(plan, "cuprum_exit_code")
    assert not hasattr(plan, "cuprum_duration_s")
    assert not hasattr(plan, "cuprum_line")
    assert plan.cuprum_tags == {"project": "core-ops", "capture": True, "echo": False}  # type: ignore[attr-defined]
    assert stdout.cuprum_line == ""  # type: ignore[attr-defined]


def test_structured_hook_builds_nothing_when_level_disabled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hook = structured_logging_hook(
        logger=logging.getLogger(LOGGER), levels=LogLevels(exit_level=logging.DEBUG)
    )
    with caplog.at_level(logging.INFO, logger=LOGGER):
        hook(_event("exit", exit_code=0, tags=_ExplodingTags()))
        hook(_event("stdout", line="x", tags=_ExplodingTags()))
    assert caplog.records == []


def test_structured_hook_default_logger(caplog: pytest.LogCaptureFixture) -> None:
    hook = structured_logging_hook()
    with caplog.at_level(logging.INFO, logger="cuprum.exec"):
        hook(_event("start"))
    assert [r.name for r in caplog.records] == ["cuprum.exec"]


def test_json_formatter_renders_cuprum_attributes(caplog: pytest.LogCaptureFixture) -> None:
    hook = structured_logging_hook(logger=logging.getLogger(LOGGER))
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        hook(_event("exit", exit_code=0, duration_s=0.125, cwd=Path("/w")))
    (record,) = caplog.records
    record.cuprum_extra_object = object()
    record.cuprum_nested = {1: (Path("/p"), [2, None])}
    record.unrelated = "not included"
    formatter = JsonLoggingFormatter()
    payload = json.loads(formatter.format(record))
    assert payload["timestamp"] == formatter.formatTime(record)
    assert payload["level"] == "INFO"
    assert payload["logger"] == LOGGER
    assert payload["message"] == record.getMessage()
    assert payload["cuprum_argv"] == ["echo", "hi"]
    assert payload["cuprum_tags"] == {"project": "core-ops", "capture": True, "echo": False}
    assert payload["cuprum_exit_code"] == 0
    assert payload["cuprum_duration_s"] == 0.125
    assert payload["cuprum_cwd"] == "/w"
    assert payload["cuprum_extra_object"].startswith("<object object at")
    assert payload["cuprum_nested"] == {"1": ["/p", [2, None]]}
    assert "unrelated" not in payload
    assert set(payload) == {
        "timestamp",
        "level",
        "logger",
        "message",
        "cuprum_phase",
        "cuprum_program",
        "cuprum_argv",
        "cuprum_pid",
        "cuprum_cwd",
        "cuprum_exit_code",
        "cuprum_duration_s",
        "cuprum_tags",
        "cuprum_extra_object",
        "cuprum_nested",
    }


def test_json_formatter_on_a_plain_record() -> None:
    record = logging.LogRecord(LOGGER, logging.WARNING, __file__, 1, "hello %s", ("x",), None)
    payload = json.loads(JsonLoggingFormatter().format(record))
    assert set(payload) == {"timestamp", "level", "logger", "message"}
    assert payload["message"] == "hello x"
    assert payload["level"] == "WARNING"


# --- metrics ------------------------------------------------------------------------------


class RecordingCollector:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, float, dict[str, str]]] = []

    def inc_counter(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        self.calls.append(("counter", name, value, dict(labels)))

    def observe_histogram(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        self.calls.append(("histogram", name, value, dict(labels)))


LABELS = {"program": "echo", "project": "core-ops"}


def test_metrics_operations_per_phase() -> None:
    collector = RecordingCollector()
    hook = MetricsHook(collector)
    for event in _lifecycle(new_exec_id(), exit_code=3):
        hook(event)
    hook(_event("stdin_error", operation="write"))
    assert collector.calls == [
        ("counter", "cuprum_executions_total", 1.0, LABELS),
        ("counter", "cuprum_stdin_bytes_total", 12.0, LABELS),
        ("counter", "cuprum_stdout_lines_total", 1.0, LABELS),
        ("counter", "cuprum_stderr_lines_total", 1.0, LABELS),
        ("counter", "cuprum_stdout_lines_total", 1.0, LABELS),
        ("counter", "cuprum_failures_total", 1.0, LABELS),
        ("histogram", "cuprum_duration_seconds", 0.25, LABELS),
        ("counter", "cuprum_stdin_errors_total", 1.0, LABELS),
    ]


def test_metrics_successful_exit_observes_duration_only() -> None:
    collector = RecordingCollector()
    metrics_hook(collector)(_event("exit", exit_code=0, duration_s=1.0))
    metrics_hook(collector)(_event("exit", exit_code=None, duration_s=None))
    assert collector.calls == [("histogram", "cuprum_duration_seconds", 1.0, LABELS)]


def test_metrics_failure_without_duration_counts_failure_only() -> None:
    collector = RecordingCollector()
    MetricsHook(collector)(_event("exit", exit_code=-15))
    assert collector.calls == [("counter", "cuprum_failures_total", 1.0, LABELS)]


def test_metrics_stdin_without_byte_count_does_nothing() -> None:
    collector = RecordingCollector()
    MetricsHook(collector)(_event("stdin", byte_count=None))
    MetricsHook(collector)(_event("stdin", byte_count=0))
    assert collector.calls == [("counter", "cuprum_stdin_bytes_total", 0.0, LABELS)]


def test_metrics_plan_computes_no_labels() -> None:
    collector = RecordingCollector()
    MetricsHook(collector)(_event("plan", tags=_ExplodingTags()))
    assert collector.calls == []


def test_metrics_unknown_phase_raises() -> None:
    with pytest.raises(UnhandledMetricsPhaseError) as info:
        MetricsHook(RecordingCollector())(_event("teleport"))
    assert isinstance(info.value, ValueError)
    assert info.value.phase == "teleport"
    assert str(info.value) == "Unhandled metrics phase: teleport"


@pytest.mark.parametrize(
    "tags",
    [{}, {"project": None}, {"project": ""}],
    ids=["missing", "none", "empty"],
)
def test_metrics_missing_project_is_unknown(tags: dict[str, object]) -> None:
    collector = RecordingCollector()
    MetricsHook(collector)(_event("start", tags=tags))
    assert collector.calls == [
        ("counter", "cuprum_executions_total", 1.0, {"program": "echo", "project": "unknown"})
    ]


def test_metrics_labels_stringify_values_and_default_program() -> None:
    collector = RecordingCollector()
    MetricsHook(collector)(_event("start", program=Program(""), tags={"project": 7}))
    assert collector.calls[0][3] == {"program": "unknown", "project": "7"}


def test_metrics_collector_errors_propagate() -> None:
    class Broken(RecordingCollector):
        def inc_counter(self, name: str, value: float, labels: Mapping[str, str]) -> None:
            raise RuntimeError("backend down")

    collector = Broken()
    with pytest.raises(RuntimeError, match="backend down"):
        MetricsHook(collector)(_event("exit", exit_code=1, duration_s=1.0))
    assert collector.calls == []


def test_in_memory_metrics() -> None:
    metrics = InMemoryMetrics()
    assert isinstance(metrics, MetricsCollector)
    hook = metrics_hook(metrics)
    for event in _lifecycle(new_exec_id(), exit_code=1):
        hook(event)
    assert metrics.counters == {
        "cuprum_executions_total": 1.0,
        "cuprum_stdin_bytes_total": 12.0,
        "cuprum_stdout_lines_total": 2.0,
        "cuprum_stderr_lines_total": 1.0,
        "cuprum_failures_total": 1.0,
    }
    assert metrics.histograms == {"cuprum_duration_seconds": [0.25]}
    metrics.reset()
    assert metrics.counters == {}
    assert metrics.histograms == {}


def test_in_memory_metrics_is_thread_safe() -> None:
    metrics = InMemoryMetrics()
    labels = {"program": "echo", "project": "core-ops"}

    def work() -> None:
        for _ in range(2000):
            metrics.inc_counter("c", 1.0, labels)
            metrics.observe_histogram("h", 1.0, labels)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert metrics.counters["c"] == 16000.0
    assert len(metrics.histograms["h"]) == 16000


def test_metrics_with_prometheus_client() -> None:
    registry = CollectorRegistry()
    collector = PrometheusCollector(registry)
    assert isinstance(collector, MetricsCollector)
    hook = metrics_hook(collector)
    for event in _lifecycle(new_exec_id(), exit_code=2):
        hook(event)
    for event in _lifecycle(new_exec_id(), exit_code=0, tags={}):
        hook(event)
    unknown = {"program": "echo", "project": "unknown"}
    assert registry.get_sample_value("cuprum_executions_total", LABELS) == 1.0
    assert registry.get_sample_value("cuprum_executions_total", unknown) == 1.0
    assert registry.get_sample_value("cuprum_stdout_lines_total", LABELS) == 2.0
    assert registry.get_sample_value("cuprum_stderr_lines_total", LABELS) == 1.0
    assert registry.get_sample_value("cuprum_stdin_bytes_total", LABELS) == 12.0
    assert registry.get_sample_value("cuprum_failures_total", LABELS) == 1.0
    assert registry.get_sample_value("cuprum_failures_total", unknown) is None
    assert registry.get_sample_value("cuprum_duration_seconds_count", LABELS) == 1.0
    assert registry.get_sample_value("cuprum_duration_seconds_sum", unknown) == 0.25


# --- tracing ------------------------------------------------------------------------------


def test_in_memory_span_and_tracer() -> None:
    tracer = InMemoryTracer()
    assert isinstance(tracer, Tracer)
    source: dict[str, object] = {"a": 1}
    span = tracer.start_span("s", source)
    assert isinstance(span, Span)
    source["a"] = 2
    assert span.attributes == {"a": 1}
    event_attrs: dict[str, object] = {"k": "v"}
    span.add_event("e1", event_attrs)
    event_attrs["k"] = "changed"
    span.add_event("e2")
    span.set_attribute("b", True)
    assert span.status_ok is None
    assert span.ended is False
    span.set_status(ok=False)
    span.end()
    assert span.events == [("e1", {"k": "v"}), ("e2", {})]
    assert span.attributes == {"a": 1, "b": True}
    assert _state(span) == (False, True)
    assert tracer.spans == [span]
    assert tracer.start_span("no-attributes").attributes == {}
    tracer.reset()
    assert tracer.spans == []


def test_in_memory_span_copies_constructor_attributes() -> None:
    source: dict[str, object] = {"a": 1}
    span = InMemorySpan(name="s", attributes=source)
    source["a"] = 2
    assert span.attributes == {"a": 1}


def test_tracing_records_one_span_per_execution() -> None:
    tracer = InMemoryTracer()
    hook = tracing_hook(tracer)
    for event in _lifecycle(new_exec_id(), cwd=Path("/srv")):
        hook(event)
    (span,) = tracer.spans
    assert span.name == "cuprum.exec echo"
    assert span.attributes == {
        "cuprum.program": "echo",
        "cuprum.argv": ["echo", "hi"],
        "cuprum.pid": 4242,
        "cuprum.cwd": "/srv",
        "cuprum.project": "core-ops",
        "cuprum.exit_code": 0,
        "cuprum.duration_s": 0.25,
    }
    assert span.events == [
        ("cuprum.stdout", {"line": "out-1"}),
        ("cuprum.stderr", {"line": "err-1"}),
        ("cuprum.stdout", {"line": "out-2"}),
    ]
    assert span.status_ok is True
    assert span.ended is True


def test_tracing_ignores_events_without_exec_id() -> None:
    tracer = InMemoryTracer()
    hook = TracingHook(tracer)
    for event in _lifecycle(None):
        hook(event)
    hook(_event("stdin_error", operation="write"))
    assert tracer.spans == []


def test_tracing_ignores_unknown_exec_ids() -> None:
    tracer = InMemoryTracer()
    hook = TracingHook(tracer)
    stray = new_exec_id()
    hook(_event("stdout", line="x", exec_id=stray))
    hook(_event("exit", exit_code=1, exec_id=stray))
    assert tracer.spans == []


def test_tracing_without_output_still_records_stdin_errors() -> None:
    tracer = InMemoryTracer()
    hook = TracingHook(tracer, record_output=False)
    exec_id = new_exec_id()
    events = _lifecycle(exec_id, exit_code=1)
    events.insert(
        -1,
        _event(
            "stdin_error",
            exec_id=exec_id,
            operation="write",
            error_type="BrokenPipeError",
            note="BrokenPipeError: [Errno 32] Broken pipe",
        ),
    )
    for event in events:
        hook(event)
    (span,) = tracer.spans
    assert span.events == [
        (
            "cuprum.stdin_error",
            {
                "operation": "write",
                "error_type": "BrokenPipeError",
                "note": "BrokenPipeError: [Errno 32] Broken pipe",
            },
        )
    ]
    assert span.status_ok is False
    assert span.attributes["cuprum.exit_code"] == 1


def test_tracing_exit_without_code_is_ok() -> None:
    tracer = InMemoryTracer()
    hook = TracingHook(tracer)
    exec_id = new_exec_id()
    hook(_event("start", exec_id=exec_id))
    hook(_event("exit", exec_id=exec_id))
    (span,) = tracer.spans
    assert span.status_ok is True
    assert "cuprum.exit_code" not in span.attributes
    assert "cuprum.duration_s" not in span.attributes


def _state(span: InMemorySpan) -> tuple[bool | None, bool]:
    return span.status_ok, span.ended


def test_tracing_restart_fails_the_stale_span() -> None:
    tracer = InMemoryTracer()
    hook = TracingHook(tracer)
    exec_id = new_exec_id()
    hook(_event("start", exec_id=exec_id))
    hook(_event("start", exec_id=exec_id, pid=7))
    stale, fresh = tracer.spans
    assert _state(stale) == (False, True)
    assert _state(fresh) == (None, False)
    hook(_event("exit", exec_id=exec_id, exit_code=0))
    assert _state(fresh) == (True, True)


def test_tracing_one_span_per_pipeline_stage() -> None:
    tracer = InMemoryTracer()
    hook = TracingHook(tracer)
    ids = [new_exec_id(), new_exec_id()]
    for index, exec_id in enumerate(ids):
        tags = {"project": "core-ops", "pipeline_stage_index": index, "pipeline_stages": 2}
        hook(_event("start", exec_id=exec_id, tags=tags, pid=100 + index))
    for index, exec_id in enumerate(ids):
        hook(_event("exit", exec_id=exec_id, exit_code=index, pid=100 + index))
    first, second = tracer.spans
    assert first.attributes["cuprum.pipeline_stage_index"] == 0
    assert second.attributes["cuprum.pipeline_stage_index"] == 1
    assert first.attributes["cuprum.pipeline_stages"] == 2
    assert (first.status_ok, second.status_ok) == (True, False)


def test_tracing_start_attributes_include_optional_fields_when_present() -> None:
    tracer = InMemoryTracer()
    TracingHook(tracer)(
        _event("start", exec_id=new_exec_id(), line="odd", exit_code=5, duration_s=0.1, tags={})
    )
    (span,) = tracer.spans
    assert span.attributes["cuprum.line"] == "odd"
    assert span.attributes["cuprum.exit_code"] == 5
    assert span.attributes["cuprum.duration_s"] == 0.1
    assert "cuprum.project" not in span.attributes


def test_tracing_logs_unknown_phases_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    tracer = InMemoryTracer()
    hook = TracingHook(tracer)
    with caplog.at_level(logging.DEBUG, logger=tracing_adapter.__name__):
        hook(_event("teleport", exec_id=new_exec_id()))
        hook(_event("plan", exec_id=new_exec_id()))
        hook(_event("stdin", exec_id=new_exec_id(), byte_count=1))
    assert tracer.spans == []
    (record,) = caplog.records
    assert record.levelno == logging.DEBUG
    assert "teleport" in record.getMessage()


def test_tracing_with_opentelemetry_sdk() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = OpenTelemetryTracer(provider.get_tracer("cuprum.tests"))
    assert isinstance(tracer, Tracer)
    hook = tracing_hook(tracer)
    for event in _lifecycle(new_exec_id(), exit_code=0):
        hook(event)
    for event in _lifecycle(new_exec_id(), exit_code=9):
        hook(event)
    provider.shutdown()
    ok_span, failed_span = exporter.get_finished_spans()
    assert ok_span.name == "cuprum.exec echo"
    assert ok_span.attributes is not None
    assert dict(ok_span.attributes) == {
        "cuprum.program": "echo",
        "cuprum.argv": ("echo", "hi"),
        "cuprum.pid": 4242,
        "cuprum.project": "core-ops",
        "cuprum.exit_code": 0,
        "cuprum.duration_s": 0.25,
    }
    assert [(e.name, dict(e.attributes or {})) for e in ok_span.events] == [
        ("cuprum.stdout", {"line": "out-1"}),
        ("cuprum.stderr", {"line": "err-1"}),
        ("cuprum.stdout", {"line": "out-2"}),
    ]
    assert ok_span.status.status_code is StatusCode.OK
    assert failed_span.status.status_code is StatusCode.ERROR
    assert failed_span.attributes is not None
    assert failed_span.attributes["cuprum.exit_code"] == 9
