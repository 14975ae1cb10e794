"""When the engine wakes a waiting run: only at the finish for a plain run
(every event then arrives in one batch), per event when something acts on
events before the end (hooks, a streamed stdin, echo chunks)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from cuprum import ExecutionContext, RunOutputOptions, _native
from cuprum.context import observe
from cuprum.events import ExecEvent
from cuprum.sh import SafeCmdBuilder

Run = Callable[..., Any]


def test_plain_runs_are_woken_only_when_they_finish(
    fx: SafeCmdBuilder, runner: Run, spawned_specs: list[_native.SpawnSpec]
) -> None:
    result = runner(fx("lines", 3))
    assert result.stdout == "line 0\nline 1\nline 2\n"
    assert result.pid > 0
    pipeline = runner(fx("lines", 2) | fx("cat"))
    assert pipeline.stdout == "line 0\nline 1\n"
    assert [spec.wake for spec in spawned_specs] == ["finish", "finish"]


def test_observed_runs_are_woken_per_event(
    fx: SafeCmdBuilder, runner: Run, spawned_specs: list[_native.SpawnSpec]
) -> None:
    events: list[ExecEvent] = []
    with observe(events.append):
        runner(fx("lines", 1))
    assert [spec.wake for spec in spawned_specs] == ["events"]


def test_a_streamed_stdin_or_echo_chunks_keep_the_run_woken_per_event(
    fx: SafeCmdBuilder, runner: Run, spawned_specs: list[_native.SpawnSpec]
) -> None:
    assert runner(fx("cat"), stdin=iter([b"a", b"b"])).stdout == "ab"
    # A text-only sink has no descriptor: the echo comes back as events.
    sink = io.StringIO()
    runner(
        fx("echo", "hi"),
        output=RunOutputOptions(echo=True),
        context=ExecutionContext(stdout_sink=sink, stderr_sink=io.StringIO()),
    )
    assert sink.getvalue() == "hi\n"
    assert [spec.wake for spec in spawned_specs] == ["events", "events"]


def test_an_observed_run_sees_its_start_while_the_child_still_runs(
    fx: SafeCmdBuilder, runner: Run
) -> None:
    events: list[ExecEvent] = []
    with observe(events.append):
        runner(fx("sleep", "0.5"))
    timestamps = {event.phase: event.timestamp for event in events}
    # Delivered at the finish, the start would be stamped with the exit.
    # Half the child's run time is a generous margin on a loaded machine.
    assert timestamps["exit"] - timestamps["start"] > 0.25
