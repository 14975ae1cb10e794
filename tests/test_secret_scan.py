"""The secret scan (beyond.md §18): one command through every path, every
renderer watching, and a grep of all captured text for the secret values.

Every run below gets an argv secret (positional and builder keyword) and two
environment secrets (``ExecutionContext.env`` and an ``env()`` overlay), with
every hook and adapter registered: ``logging_hook``, the structured logging
hook rendered by a plain and a JSON formatter, ``metrics_hook`` over a real
``prometheus_client`` registry and over ``InMemoryMetrics``, ``tracing_hook``
over the OpenTelemetry SDK and over ``InMemoryTracer``, and raw before, after
and observe hooks that keep the ``repr`` of everything they see.

The children prove they received the real values without printing them
verbatim (the ``hex`` fixture decodes the argv secret; ``tr`` upper-cases the
environment secret), so the scan can be strict: the values appear *nowhere*
in the captured text — the children's own output included.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import Callable, Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest

from cuprum import (
    ExecEvent,
    ExecutionContext,
    ExitCodeError,
    SafeCmd,
    Secret,
    TimeoutExpired,
    after,
    before,
    current_context,
    env,
    logging_hook,
    observe,
)
from cuprum.adapters.logging_adapter import JsonLoggingFormatter, LogLevels, structured_logging_hook
from cuprum.adapters.metrics_adapter import InMemoryMetrics, metrics_hook
from cuprum.adapters.tracing_adapter import InMemoryTracer, tracing_hook
from cuprum.program import Program
from cuprum.sh import CommandResult, PipelineResult, make
from helpers import FIXTURE, SH, TEST_CATALOGUE, TEST_PROJECT
from telemetry_backends import OpenTelemetryTracer, PrometheusCollector

ARG_PLAIN = b"argv-secret-payload"
ARG_SECRET = ARG_PLAIN.hex()
"""Given to the ``hex`` fixture, which writes ``ARG_PLAIN``: proof without echo."""
FLAG_SECRET = "flag-secret-value"
CTX_SECRET = "ctx-secret-value"
SCOPE_SECRET = "scope-secret-value"
SECRETS = (ARG_SECRET, FLAG_SECRET, CTX_SECRET, SCOPE_SECRET)

fx = make(FIXTURE, catalogue=TEST_CATALOGUE)
sh = make(SH, catalogue=TEST_CATALOGUE)


class Capture:
    """Everything cuprum rendered during the scan, as text."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.events: list[ExecEvent] = []

    def add(self, *items: object) -> None:
        for item in items:
            self.texts.append(item if type(item) is str else repr(item))
            if not isinstance(item, str):
                self.texts.append(str(item))

    def exception(self, error: BaseException) -> None:
        self.add(error, error.args)
        self.texts.append("".join(traceback.format_exception(error)))
        for name in ("cmd", "output", "stdout", "stderr", "result", "filename"):
            if hasattr(error, name):
                self.add(getattr(error, name))


class _Records(logging.Handler):
    def __init__(self, capture: Capture) -> None:
        super().__init__(level=logging.DEBUG)
        self.capture = capture
        self.plain = logging.Formatter("%(levelname)s %(name)s %(message)s")
        self.json = JsonLoggingFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.capture.add(self.plain.format(record), self.json.format(record))
        self.capture.add(vars(record))


@pytest.fixture
def scan() -> Iterator[tuple[Capture, Callable[[], list[str]]]]:
    """Registers every hook and adapter; yields the capture and a function
    returning every text the telemetry back ends hold."""
    capture = Capture()
    root = logging.getLogger()
    handler = _Records(capture)
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    registry = CollectorRegistry()
    memory_metrics = InMemoryMetrics()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    memory_tracer = InMemoryTracer()
    levels = LogLevels(plan_level=logging.INFO, output_level=logging.INFO)

    def on_event(event: ExecEvent) -> None:
        capture.events.append(event)
        capture.add(event, event.argv, event.env)

    registrations = [
        env(SCOPE_TOKEN=Secret(SCOPE_SECRET)),
        logging_hook(),
        observe(structured_logging_hook(levels=levels)),
        observe(metrics_hook(PrometheusCollector(registry))),
        observe(metrics_hook(memory_metrics)),
        observe(tracing_hook(OpenTelemetryTracer(provider.get_tracer("scan")))),
        observe(tracing_hook(memory_tracer)),
        observe(on_event),
        before(lambda cmd: capture.add(cmd, cmd.argv_with_program)),
        after(lambda cmd, result: capture.add(cmd, result, result.argv)),
    ]
    capture.add(current_context())

    def telemetry() -> list[str]:
        texts = [generate_latest(registry).decode()]
        texts.append(repr(memory_metrics))
        texts.extend(span.to_json() for span in exporter.get_finished_spans())
        texts.extend(repr(span) for span in memory_tracer.spans)
        return texts

    try:
        yield capture, telemetry
    finally:
        for registration in reversed(registrations):
            registration.detach()
        root.removeHandler(handler)
        root.setLevel(saved_level)


CONTEXT = ExecutionContext(
    env={"CTX_TOKEN": Secret(CTX_SECRET), "FLAG": Secret(FLAG_SECRET)}, timeout=30
)


def _proof_cmd() -> SafeCmd:
    """Writes the argv secret decoded (by the ``hex`` fixture, ``$0``), then
    both env secrets upper-cased; ``$2`` is the ``--flag=`` secret."""
    script = (
        '"$0" hex "$1"; [ "$2" = "--flag=$FLAG" ] || exit 9; '
        'printf " %s %s" "$CTX_TOKEN" "$SCOPE_TOKEN" | tr a-z A-Z'
    )
    return sh("-c", script, str(FIXTURE), Secret(ARG_SECRET), flag=Secret(FLAG_SECRET))


def _paths(capture: Capture) -> None:
    # success: a command (sync and awaited) and a pipeline
    proof = _proof_cmd()
    capture.add(proof, CONTEXT)
    result = proof.run_sync(context=CONTEXT, check=True)
    expected = f"{ARG_PLAIN.decode()} {CTX_SECRET.upper()} {SCOPE_SECRET.upper()}"
    assert result.stdout == expected
    capture.add(result)
    awaited = asyncio.run(proof.run(context=CONTEXT, check=True))
    assert awaited.stdout == expected
    capture.add(awaited)
    pipeline = fx("hex", Secret(ARG_SECRET)) | fx("cat") | fx("count")
    capture.add(pipeline)
    piped = pipeline.run_sync(context=CONTEXT, check=True)
    assert piped.stdout == f"{len(ARG_PLAIN)}\n"
    capture.add(piped)

    # failure with check: a command and a pipeline
    failing = fx("exit", 3, Secret(ARG_SECRET), flag=Secret(FLAG_SECRET))
    with pytest.raises(ExitCodeError) as failed:
        failing.run_sync(context=CONTEXT, check=True)
    capture.exception(failed.value)
    with pytest.raises(ExitCodeError) as failed_pipe:
        (fx("echo", "x") | failing | fx("cat")).run_sync(context=CONTEXT, check=True)
    capture.exception(failed_pipe.value)

    # timeout: a command and a pipeline
    sleeper = fx("sleep", 30, Secret(ARG_SECRET), flag=Secret(FLAG_SECRET))
    short = ExecutionContext(env=CONTEXT.env, cancel_grace=0.1)
    with pytest.raises(TimeoutExpired) as timed_out:
        sleeper.run_sync(context=short, timeout=0.05)
    capture.exception(timed_out.value)
    with pytest.raises(TimeoutExpired) as timed_out_pipe:
        (sleeper | fx("cat")).run_sync(context=short, timeout=0.05)
    capture.exception(timed_out_pipe.value)

    # the NUL ValueError: in the secret itself, and next to a secret
    for args in ((Secret(ARG_SECRET + "\0"),), (Secret(ARG_SECRET), "plain\0")):
        with pytest.raises(ValueError, match="NUL") as nul:
            fx("echo", *args, flag=Secret(FLAG_SECRET)).run_sync(context=CONTEXT)
        capture.exception(nul.value)

    # spawn errors: a missing program, a missing working directory
    missing = SafeCmd(Program("/nonexistent/cuprum-tool"), (Secret(ARG_SECRET),), TEST_PROJECT)
    with pytest.raises(FileNotFoundError) as not_found:
        missing.run_sync(context=CONTEXT)
    capture.exception(not_found.value)
    bad_cwd = ExecutionContext(env=CONTEXT.env, cwd="/nonexistent/dir")
    with pytest.raises(FileNotFoundError) as no_cwd:
        fx("echo", Secret(ARG_SECRET)).run_sync(context=bad_cwd)
    capture.exception(no_cwd.value)
    capture.add(current_context(), short, bad_cwd)


def test_secret_values_appear_nowhere_but_in_what_the_children_received(
    scan: tuple[Capture, Callable[[], list[str]]],
) -> None:
    capture, telemetry = scan
    _paths(capture)
    texts = capture.texts + telemetry()
    # The scan saw every kind of output it claims to.
    joined = "\n".join(texts)
    for token in (
        "cuprum.start",
        "cuprum.exit",
        "cuprum.plan",
        '"cuprum_argv"',
        "cuprum_executions_total",
        "cuprum.argv",
        "exited with 3",
        "timed out after",
        "NUL",
        "/nonexistent/cuprum-tool",
        "/nonexistent/dir",
    ):
        assert token in joined, token
    phases = {event.phase for event in capture.events}
    assert {"plan", "start", "stdout", "exit"} <= phases
    # What is shown instead of each secret.
    assert "'***'" in joined
    assert "--flag=***" in joined
    assert any(event.env and event.env.get("CTX_TOKEN") == "***" for event in capture.events)
    assert any(event.env and event.env.get("SCOPE_TOKEN") == "***" for event in capture.events)
    for secret in SECRETS:
        leaks = [text for text in texts if secret in text]
        assert leaks == [], f"{secret!r} leaked into {leaks[:3]!r}"


def test_event_and_result_argv_hold_plain_masked_strings(
    scan: tuple[Capture, Callable[[], list[str]]],
) -> None:
    capture, _ = scan
    result = fx("hex", Secret(ARG_SECRET), flag=Secret(FLAG_SECRET)).run_sync()
    assert isinstance(result, CommandResult)
    assert result.argv == ("hex", "***", "--flag=***")
    assert all(type(item) is str for item in result.argv)
    start = next(event for event in capture.events if event.phase == "start")
    assert start.argv[1:] == ("hex", "***", "--flag=***")
    assert all(type(item) is str for item in start.argv)
    assert start.env is not None
    assert dict(start.env) == {"SCOPE_TOKEN": "***"}
    assert all(type(value) is str for value in start.env.values())


def test_json_log_records_show_the_mask(scan: tuple[Capture, Callable[[], list[str]]]) -> None:
    capture, _ = scan
    fx("echo", Secret(ARG_SECRET)).run_sync()
    payloads = [json.loads(text) for text in capture.texts if text.startswith('{"timestamp"')]
    argvs = [payload["cuprum_argv"] for payload in payloads if "cuprum_argv" in payload]
    assert argvs
    assert all(argv[-1] == "***" for argv in argvs)


def test_a_pipeline_result_repr_shows_the_mask() -> None:
    result = (fx("hex", Secret(ARG_SECRET)) | fx("cat")).run_sync()
    assert isinstance(result, PipelineResult)
    assert result.stages[0].argv == ("hex", "***")
    assert ARG_SECRET not in repr(result)
    assert ARG_SECRET not in repr(fx("echo", Secret(ARG_SECRET)) | fx("cat"))
