"""Hooks and events in real runs: order, fields, line events, async observe
tasks and hooks that raise (spec §4.3, §4.6, §4.7, §5.5, §5.6, §6)."""

from __future__ import annotations

import asyncio
import io
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cuprum import _native
from cuprum.context import (
    ScopeConfig,
    after,
    before,
    current_context,
    env,
    observe,
    scoped,
)
from cuprum.events import ExecEvent
from cuprum.sh import (
    CommandResult,
    ExecutionContext,
    PipelineResult,
    RunOutputOptions,
    SafeCmd,
    SafeCmdBuilder,
    StdinInput,
)
from helpers import FIXTURE, TEST_PROJECT_NAME, assert_no_children, sh_cmd, wait_dead

Run = Callable[..., Any]


class Boom(Exception):
    """Raised by test hooks."""


@pytest.fixture
def events() -> Iterator[list[ExecEvent]]:
    recorded: list[ExecEvent] = []
    with observe(recorded.append):
        yield recorded


def phases(events: list[ExecEvent]) -> list[str]:
    return [e.phase for e in events]


def lines(events: list[ExecEvent], phase: str) -> list[str | None]:
    return [e.line for e in events if e.phase == phase]


# --- order --------------------------------------------------------------------------


def test_command_order_of_hooks_and_events(fx: SafeCmdBuilder, runner: Run) -> None:
    log: list[str] = []
    with (
        observe(lambda e: log.append(e.phase)),
        before(lambda cmd: log.append("before")),
        after(lambda cmd, result: log.append("after-1")),
        after(lambda cmd, result: log.append("after-2")),
    ):
        runner(fx("echo", "hi"), stdin=StdinInput(data=b""))
    assert log[:3] == ["plan", "before", "start"]
    assert sorted(log[3:5]) == ["stdin", "stdout"]
    assert log[5:] == ["exit", "after-2", "after-1"], "after hooks run LIFO"


def test_scoped_hooks_nest(fx: SafeCmdBuilder, runner: Run) -> None:
    """§11.38: before hooks parent then child; after hooks child then parent."""
    log: list[str] = []
    parent = ScopeConfig(
        before_hooks=(lambda cmd: log.append("before-parent"),),
        after_hooks=(lambda cmd, result: log.append("after-parent"),),
    )
    child = ScopeConfig(
        before_hooks=(lambda cmd: log.append("before-child"),),
        after_hooks=(lambda cmd, result: log.append("after-child"),),
    )
    with scoped(parent), scoped(child):
        runner(fx("echo"))
    assert log == ["before-parent", "before-child", "after-child", "after-parent"]


def test_pipeline_order_of_hooks_and_events(fx: SafeCmdBuilder, runner: Run) -> None:
    """§11.39."""
    log: list[tuple[str, int]] = []

    def stage_of(cmd: SafeCmd) -> int:
        return int(cmd.argv[1])

    def record(event: ExecEvent) -> None:
        if event.phase not in ("stdout", "stderr"):
            log.append((event.phase, int(event.tags["pipeline_stage_index"])))

    with (
        observe(record),
        before(lambda cmd: log.append(("before", stage_of(cmd)))),
        after(lambda cmd, result: log.append(("after", stage_of(cmd)))),
    ):
        runner(fx("echo", 0) | fx("echo", 1))
    assert log == [
        ("plan", 0),
        ("before", 0),
        ("plan", 1),
        ("before", 1),
        ("start", 0),
        ("start", 1),
        ("exit", 0),
        ("exit", 1),
        ("after", 0),
        ("after", 1),
    ]


def test_after_hooks_receive_each_stage_result(fx: SafeCmdBuilder) -> None:
    seen: list[tuple[SafeCmd, CommandResult]] = []
    pipeline = fx("echo", "x") | fx("cat")
    with after(lambda cmd, result: seen.append((cmd, result))):
        result = pipeline.run_sync()
        single = fx("echo", "y").run_sync()
    assert seen[0] == (pipeline.parts[0], result.stages[0])
    assert seen[1] == (pipeline.parts[1], result.stages[1])
    assert seen[2] == (fx("echo", "y"), single)


def test_hooks_are_snapshot_when_the_run_starts(fx: SafeCmdBuilder) -> None:
    log: list[str] = []
    registrations = []

    def late_registering(cmd: SafeCmd) -> None:
        registrations.append(after(lambda cmd, result: log.append("late")))

    with before(late_registering):
        fx("echo").run_sync()
    for registration in registrations:
        registration.detach()
    assert log == []


# --- event fields ------------------------------------------------------------------------


def test_event_fields(fx: SafeCmdBuilder, events: list[ExecEvent], tmp_path: Path) -> None:
    began = time.time()
    result = fx("both", "out", "err").run_sync(context=ExecutionContext(cwd=str(tmp_path)))
    ended = time.time()
    for event in events:
        assert event.program == FIXTURE
        assert event.argv == (str(FIXTURE), "both", "out", "err")
        assert event.cwd == tmp_path
        assert event.env is None
        assert began <= event.timestamp <= ended
    plan, start = events[0], events[1]
    assert plan.pid is None
    assert start.pid == result.pid
    assert lines(events, "stdout") == ["out"]
    assert lines(events, "stderr") == ["err"]
    exit_event = events[-1]
    assert exit_event.phase == "exit"
    assert exit_event.exit_code == 0
    assert exit_event.duration_s is not None
    assert 0 <= exit_event.duration_s <= ended - began


def test_event_env_holds_overlay_keys_only(fx: SafeCmdBuilder, events: list[ExecEvent]) -> None:
    """§11.45 (second half)."""
    fx("echo").run_sync()
    assert {e.env for e in events} == {None}
    events.clear()
    with env(CUPRUM_TEST_SCOPE="scope"):
        fx("echo").run_sync(context=ExecutionContext(env={"CUPRUM_TEST_CALL": "call"}))
    assert all(e.env == {"CUPRUM_TEST_SCOPE": "scope", "CUPRUM_TEST_CALL": "call"} for e in events)


def test_tags(fx: SafeCmdBuilder, events: list[ExecEvent]) -> None:
    """§11.46."""
    fx("echo").run_sync(output=RunOutputOptions(capture=False))
    assert dict(events[0].tags) == {"project": TEST_PROJECT_NAME, "capture": False, "echo": False}
    events.clear()
    (fx("echo") | fx("cat")).run_sync()
    assert [dict(e.tags) for e in events if e.phase == "plan"] == [
        {
            "project": TEST_PROJECT_NAME,
            "capture": True,
            "echo": False,
            "pipeline_stage_index": i,
            "pipeline_stages": 2,
        }
        for i in range(2)
    ]
    events.clear()
    fx("echo").run_sync(context=ExecutionContext(tags={"project": "mine", "extra": 1}))
    assert dict(events[0].tags) == {
        "project": "mine",
        "capture": True,
        "echo": False,
        "extra": 1,
    }


def test_exec_ids(fx: SafeCmdBuilder, events: list[ExecEvent]) -> None:
    """§11.47: one id per run, shared by its events; distinct per stage."""
    fx("echo").run_sync()
    fx("echo").run_sync()
    (fx("echo") | fx("cat") | fx("cat")).run_sync()
    ids = [e.exec_id for e in events]
    assert all(isinstance(i, uuid.UUID) for i in ids)
    per_run = {e.exec_id for e in events if "pipeline_stage_index" not in e.tags}
    assert len(per_run) == 2
    by_stage: dict[object, set[uuid.UUID | None]] = {}
    for e in events:
        if "pipeline_stage_index" in e.tags:
            by_stage.setdefault(e.tags["pipeline_stage_index"], set()).add(e.exec_id)
    assert all(len(found) == 1 for found in by_stage.values())
    stage_ids = set().union(*by_stage.values())
    assert len(stage_ids) == 3
    assert not stage_ids & per_run


def test_plan_first_exit_last_lines_between(
    fx: SafeCmdBuilder, runner: Run, events: list[ExecEvent]
) -> None:
    """§11.48."""
    runner(fx("lines", 2000))
    assert events[0].phase == "plan"
    assert events[1].phase == "start"
    assert events[-1].phase == "exit"
    assert lines(events, "stdout") == [f"line {i}" for i in range(2000)]


def test_stdin_event_counts_bytes(fx: SafeCmdBuilder, runner: Run, events: list[ExecEvent]) -> None:
    """§11.19 and the non-empty case."""
    runner(fx("count"), stdin=StdinInput(data=b""))
    runner(fx("count"), stdin=StdinInput(text="héllo"))
    assert [e.byte_count for e in events if e.phase == "stdin"] == [0, 6]
    assert all(e.pid is not None for e in events if e.phase == "stdin")


def test_no_stdin_event_without_payload(fx: SafeCmdBuilder, events: list[ExecEvent]) -> None:
    fx("echo").run_sync()
    assert "stdin" not in phases(events)


# --- line events ----------------------------------------------------------------------------


def test_line_splitting(fx: SafeCmdBuilder, runner: Run, events: list[ExecEvent]) -> None:
    """§11.49: blank lines kept, unterminated tail emitted, other boundaries kept."""
    runner(fx("hex", b"x\n\n".hex()))
    assert lines(events, "stdout") == ["x", ""]
    events.clear()
    runner(fx("hex", b"a\r\nb\rc\x0cd\ntail".hex()))
    assert lines(events, "stdout") == ["a", "b", "c\x0c", "d", "tail"]
    events.clear()
    runner(fx("exit", 0))
    assert lines(events, "stdout") == []


def test_crlf_across_reads_is_one_line(events: list[ExecEvent]) -> None:
    """§11.49: no extra empty line when "\\r\\n" straddles two reads."""
    sh_cmd(r"printf 'a\r'; sleep 0.2; printf '\nb\r'; sleep 0.2; printf 'c'").run_sync()
    assert lines(events, "stdout") == ["a", "b", "c"]


def test_no_line_events_when_not_piped(fx: SafeCmdBuilder, runner: Run) -> None:
    """§11.50."""
    recorded: list[ExecEvent] = []
    with observe(recorded.append):
        runner(fx("both", "out", "err"), output=RunOutputOptions(capture=False, echo=False))
        runner(fx("both", "o", "e") | fx("cat"), output=RunOutputOptions(capture=False))
    assert not {"stdout", "stderr"} & set(phases(recorded))


def test_line_events_when_only_echoing(fx: SafeCmdBuilder, events: list[ExecEvent]) -> None:
    ctx = ExecutionContext(stdout_sink=io.StringIO(), stderr_sink=io.StringIO())
    fx("both", "out", "err").run_sync(
        output=RunOutputOptions(capture=False, echo=True), context=ctx
    )
    assert lines(events, "stdout") == ["out"]
    assert lines(events, "stderr") == ["err"]


def test_pipeline_line_events(fx: SafeCmdBuilder, runner: Run, events: list[ExecEvent]) -> None:
    """§11.51: stdout events only from the last stage; stderr from every stage.
    (No stage writes to a downstream that may already have exited: that
    stage could die of a broken pipe before writing its stderr.)"""
    runner(fx("both", "out-0", "err-0") | fx("cat"))
    runner(fx("err", "err-0") | fx("both", "out-1", "err-1"))
    stdout = [(e.line, e.tags["pipeline_stage_index"]) for e in events if e.phase == "stdout"]
    stderr = [(e.line, e.tags["pipeline_stage_index"]) for e in events if e.phase == "stderr"]
    assert stdout == [("out-0", 1), ("out-1", 1)]
    assert sorted(stderr) == [("err-0", 0), ("err-0", 0), ("err-1", 1)]


# --- async observe hooks -------------------------------------------------------------------


def test_async_observe_tasks_finish_before_run_sync_returns(fx: SafeCmdBuilder) -> None:
    """§11.52 (first half), also from a thread that runs a loop."""
    finished: list[str] = []

    async def slow(event: ExecEvent) -> None:
        await asyncio.sleep(0.05)
        finished.append(event.phase)

    with observe(slow):
        fx("echo").run_sync()
        assert sorted(finished) == sorted(["plan", "start", "stdout", "exit"])
        finished.clear()

        async def inside_a_loop() -> None:
            fx("echo").run_sync()
            assert len(finished) == 4

        asyncio.run(inside_a_loop())


def test_async_observe_tasks_finish_before_run_returns(fx: SafeCmdBuilder) -> None:
    finished: list[tuple[str, str]] = []

    async def slow(event: ExecEvent) -> None:
        await asyncio.sleep(0.05)
        task = asyncio.current_task()
        assert task is not None
        finished.append((event.phase, task.get_name()))

    async def main() -> None:
        with observe(slow):
            await fx("echo").run()
        assert sorted(finished) == sorted(
            (phase, f"cuprum.observe.{phase}") for phase in ("plan", "start", "stdout", "exit")
        )

    asyncio.run(main())


def test_failing_async_observe_task_raises_after_after_hooks(
    fx: SafeCmdBuilder, runner: Run
) -> None:
    """§11.52 (second half): the first failure, after the after hooks ran."""
    log: list[str] = []

    async def failing(event: ExecEvent) -> None:
        if event.phase in ("start", "exit"):
            raise Boom(event.phase)

    with (
        observe(failing),
        after(lambda cmd, result: log.append("after")),
        pytest.raises(Boom, match="start"),
    ):
        runner(fx("echo"))
    assert log == ["after"]


def test_failing_async_task_with_a_failing_after_hook(fx: SafeCmdBuilder, runner: Run) -> None:
    """SafeCmd: the task error wins, with the original as its context;
    Pipeline: both in a BaseExceptionGroup."""

    async def failing(event: ExecEvent) -> None:
        if event.phase == "plan":
            raise Boom("task")

    def raising_after(cmd: SafeCmd, result: CommandResult) -> None:
        raise Boom("after")

    with observe(failing), after(raising_after):
        with pytest.raises(Boom, match="task") as single:
            runner(fx("echo"))
        assert isinstance(single.value.__context__, Boom)
        assert str(single.value.__context__) == "after"
        with pytest.raises(BaseExceptionGroup) as group:
            runner(fx("echo") | fx("cat"))
    assert group.value.message == "pipeline finalization failed"
    assert [str(e) for e in group.value.exceptions] == ["after", "task"]


# --- raising hooks -----------------------------------------------------------------------


def test_raising_plan_hook_prevents_spawning(
    fx: SafeCmdBuilder, runner: Run, caplog: pytest.LogCaptureFixture
) -> None:
    """§11.53."""
    recorded: list[ExecEvent] = []

    def raising(event: ExecEvent) -> None:
        recorded.append(event)
        if event.phase == "plan":
            raise Boom

    with caplog.at_level(logging.WARNING), observe(raising), pytest.raises(Boom):
        runner(fx("sleep", 30))
    assert phases(recorded) == ["plan"]
    assert any("observe_hook_failed" in r.getMessage() for r in caplog.records)
    assert_no_children()


def test_raising_before_hook_prevents_spawning(
    fx: SafeCmdBuilder, runner: Run, events: list[ExecEvent]
) -> None:
    def raising(cmd: SafeCmd) -> None:
        raise Boom

    with before(raising), pytest.raises(Boom):
        runner(fx("sleep", 30) | fx("cat"))
    assert "start" not in phases(events)
    assert_no_children()


def test_raising_start_hook_terminates_the_child(fx: SafeCmdBuilder, runner: Run) -> None:
    pids: list[int] = []

    def raising(event: ExecEvent) -> None:
        if event.phase == "start":
            assert event.pid is not None
            pids.append(event.pid)
            raise Boom

    began = time.monotonic()
    with observe(raising), pytest.raises(Boom):
        runner(fx("sleep", 30), context=ExecutionContext(cancel_grace=0.2))
    assert time.monotonic() - began < 0.2 + 1.0
    assert wait_dead(pids[0])
    assert_no_children()


def test_raising_line_hook_stops_a_chatty_child(fx: SafeCmdBuilder, runner: Run) -> None:
    """A hook raising on a line event surfaces its exception; the endless
    child is not left blocked on a full pipe and after hooks do not run."""
    log: list[str] = []

    def raising(event: ExecEvent) -> None:
        if event.phase == "stdout":
            raise Boom

    with (
        observe(raising),
        after(lambda cmd, result: log.append("after")),
        pytest.raises(Boom),
    ):
        runner(fx("yes"), timeout=30)
    assert log == []
    assert_no_children()


def test_raising_after_hook_propagates(fx: SafeCmdBuilder, runner: Run) -> None:
    def raising(cmd: SafeCmd, result: CommandResult) -> None:
        raise Boom

    with after(raising), pytest.raises(Boom):
        runner(fx("echo"))
    assert_no_children()


def test_run_sync_uses_the_callers_context(fx: SafeCmdBuilder) -> None:
    with scoped(ScopeConfig(timeout=30)):
        assert current_context().timeout == 30.0
        result: PipelineResult = (fx("echo", "x") | fx("cat")).run_sync()
    assert result.stdout == "x\n"


# --- cost when nobody observes ---------------------------------------------------------


def test_no_events_are_built_without_an_observe_hook(
    fx: SafeCmdBuilder,
    runner: Run,
    monkeypatch: pytest.MonkeyPatch,
    spawned_specs: list[_native.SpawnSpec],
) -> None:
    import cuprum._execution as execution

    def no_event(*args: object, **kwargs: object) -> ExecEvent:
        msg = "an event was built although no observe hook is registered"
        raise AssertionError(msg)

    monkeypatch.setattr(execution, "ExecEvent", no_event)
    result = runner(fx("lines", 100), stdin=StdinInput(data=b"unread"))
    assert result.stdout.count("\n") == 100
    pipeline = runner(fx("lines", 10) | fx("cat"))
    assert pipeline.stdout.count("\n") == 10
    asked = [spec.line_events for spec in spawned_specs]
    assert asked == [False, False], "the engine must not split lines nobody observes"
