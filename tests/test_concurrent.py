"""run_concurrent / run_concurrent_sync: limits, ordering, fail-fast, errors, teardown."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import io
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cuprum._command import SafeCmd, make
from cuprum._options import ExecutionContext
from cuprum._results import CommandResult, TimeoutExpired
from cuprum.catalogue import ECHO, ProgramCatalogue, ProjectSettings
from cuprum.concurrent import (
    ConcurrentConfig,
    ConcurrentResult,
    run_concurrent,
    run_concurrent_sync,
)
from cuprum.context import ForbiddenProgramError, ScopeConfig, observe, scoped
from cuprum.events import ExecEvent
from cuprum.program import Program
from helpers import FIXTURE, SH, fixture_cmd, sh_cmd

# --- helpers -------------------------------------------------------------------


@contextlib.contextmanager
def recorded_events() -> Iterator[list[ExecEvent]]:
    """Record every event of commands run in this context (and tasks it spawns)."""
    events: list[ExecEvent] = []
    with observe(events.append):
        yield events


def phases(events: list[ExecEvent], *wanted: str) -> list[ExecEvent]:
    return [event for event in events if event.phase in wanted]


def started_pids(events: list[ExecEvent]) -> list[int]:
    return [event.pid for event in phases(events, "start") if event.pid is not None]


def assert_reaped(pid: int) -> None:
    """The process is gone: neither running nor a zombie."""
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def result(exit_code: int, argv: tuple[str, ...] = ()) -> CommandResult:
    return CommandResult(
        program=FIXTURE, argv=argv, exit_code=exit_code, pid=-1, stdout="", stderr=""
    )


def missing_program_cmd() -> SafeCmd:
    missing = Program("/nonexistent/cuprum-missing-program")
    project = ProjectSettings(
        name="missing", programs=(missing,), documentation_locations=(), noise_rules=()
    )
    return make(missing, catalogue=ProgramCatalogue(projects=(project,)))()


# --- ConcurrentConfig and ConcurrentResult (edge cases 60, 64) ------------------


def test_config_defaults() -> None:
    config = ConcurrentConfig()
    assert (config.concurrency, config.capture, config.echo, config.context, config.fail_fast) == (
        None,
        True,
        False,
        None,
        False,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.concurrency = 2  # type: ignore[misc]
    assert not hasattr(config, "__dict__")


@pytest.mark.parametrize("concurrency", [0, -1])
def test_config_rejects_concurrency_below_one(concurrency: int) -> None:
    with pytest.raises(ValueError, match=f"^concurrency must be >= 1, got {concurrency}$"):
        ConcurrentConfig(concurrency=concurrency)
    assert ConcurrentConfig(concurrency=1).concurrency == 1


def test_run_concurrent_requires_a_command() -> None:
    with pytest.raises(ValueError, match="At least one command must be provided"):
        run_concurrent_sync()
    with pytest.raises(ValueError, match="At least one command must be provided"):
        asyncio.run(run_concurrent(config=ConcurrentConfig(fail_fast=True)))


def test_result_backfills_submission_indices() -> None:
    outcome = ConcurrentResult(results=(result(0), result(1), result(0)), failures=(1,))
    assert outcome.submission_indices == (0, 1, 2)
    assert outcome.failure_submission_indices == (1,)
    assert outcome.first_failure == result(1)
    assert not outcome.ok


def test_result_rejects_mismatched_submission_indices() -> None:
    with pytest.raises(ValueError, match="submission_indices length"):
        ConcurrentResult(results=(result(0),), submission_indices=())
    with pytest.raises(ValueError, match="submission_indices length"):
        ConcurrentResult(results=(), submission_indices=(0,))


def test_result_after_compaction() -> None:
    # The shape of the fail-fast example in the specification.
    outcome = ConcurrentResult(
        results=(result(2), result(0)), failures=(0,), submission_indices=(1, 3)
    )
    assert outcome.failures == (0,)
    assert outcome.failure_submission_indices == (1,)
    assert outcome.first_failure is not None
    assert outcome.first_failure.exit_code == 2


def test_result_ok_without_failures() -> None:
    outcome = ConcurrentResult(results=(result(0),))
    assert outcome.ok
    assert outcome.first_failure is None
    assert outcome.failure_submission_indices == ()
    assert outcome == ConcurrentResult((result(0),), (), (0,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.failures = (0,)  # type: ignore[misc]


# --- running ---------------------------------------------------------------------


def test_results_follow_submission_order_not_completion_order() -> None:
    commands = (
        fixture_cmd("sleep", "0.6"),
        fixture_cmd("sleep", "0.3"),
        fixture_cmd("echo", "quick"),
    )
    with recorded_events() as events:
        outcome = run_concurrent_sync(*commands)
    exit_order = [event.argv[1:] for event in phases(events, "exit")]
    assert exit_order == [("echo", "quick"), ("sleep", "0.3"), ("sleep", "0.6")]
    assert [r.argv for r in outcome.results] == [c.argv for c in commands]
    assert outcome.results[2].stdout == "quick\n"
    assert outcome.submission_indices == (0, 1, 2)
    assert outcome.ok


def test_collect_all_keeps_every_result_and_lists_failures() -> None:
    outcome = run_concurrent_sync(
        fixture_cmd("exit", "1"), fixture_cmd("echo", "fine"), fixture_cmd("exit", "2")
    )
    assert [r.exit_code for r in outcome.results] == [1, 0, 2]
    assert outcome.failures == (0, 2)
    assert outcome.failure_submission_indices == (0, 2)
    assert outcome.first_failure is outcome.results[0]
    assert not outcome.ok


def test_output_options_come_from_the_config() -> None:
    plain = run_concurrent_sync(fixture_cmd("both", "out", "err"))
    assert (plain.results[0].stdout, plain.results[0].stderr) == ("out\n", "err\n")

    silent = run_concurrent_sync(
        fixture_cmd("both", "out", "err"), config=ConcurrentConfig(capture=False)
    )
    assert (silent.results[0].stdout, silent.results[0].stderr) == (None, None)

    sink_out, sink_err = io.StringIO(), io.StringIO()
    echoed = run_concurrent_sync(
        fixture_cmd("both", "out", "err"),
        config=ConcurrentConfig(
            capture=False,
            echo=True,
            context=ExecutionContext(stdout_sink=sink_out, stderr_sink=sink_err),
        ),
    )
    assert echoed.results[0].stdout is None
    assert (sink_out.getvalue(), sink_err.getvalue()) == ("out\n", "err\n")


def test_execution_context_applies_to_every_command(tmp_path: Path) -> None:
    context = ExecutionContext(env={"CUPRUM_BATCH": "yes"}, cwd=tmp_path)
    outcome = run_concurrent_sync(
        fixture_cmd("env", "CUPRUM_BATCH"),
        fixture_cmd("pwd"),
        config=ConcurrentConfig(context=context),
    )
    assert outcome.results[0].stdout == "yes\n"
    assert outcome.results[1].stdout == f"{tmp_path}\n"


def test_concurrency_one_serialises() -> None:
    # edge case 62: each command starts only after the previous one exited.
    commands = [fixture_cmd("sleep", "0.05"), fixture_cmd("echo", "b"), fixture_cmd("exit", "3")]
    with recorded_events() as events:
        outcome = run_concurrent_sync(*commands, config=ConcurrentConfig(concurrency=1))
    lifecycle = [(event.phase, event.argv[1:]) for event in phases(events, "start", "exit")]
    assert lifecycle == [
        ("start", ("sleep", "0.05")),
        ("exit", ("sleep", "0.05")),
        ("start", ("echo", "b")),
        ("exit", ("echo", "b")),
        ("start", ("exit", "3")),
        ("exit", ("exit", "3")),
    ]
    assert [r.exit_code for r in outcome.results] == [0, 0, 3]


def test_unbounded_runs_everything_at_once() -> None:
    # The counterpart of the serialisation test: without a limit every
    # command has started before the first one exits.
    with recorded_events() as events:
        run_concurrent_sync(*(fixture_cmd("sleep", "0.5") for _ in range(4)))
    lifecycle = [event.phase for event in phases(events, "start", "exit")]
    assert lifecycle == ["start"] * 4 + ["exit"] * 4


def test_limit_caps_the_number_of_running_commands() -> None:
    with recorded_events() as events:
        outcome = run_concurrent_sync(
            *(fixture_cmd("sleep", "0.2") for _ in range(6)),
            config=ConcurrentConfig(concurrency=2),
        )
    running = peak = 0
    for event in phases(events, "start", "exit"):
        running += 1 if event.phase == "start" else -1
        peak = max(peak, running)
    assert peak == 2
    assert outcome.ok
    assert len(outcome.results) == 6


def test_forbidden_command_fails_before_anything_starts() -> None:
    # edge case 61
    commands = (fixture_cmd("echo", "a"), sh_cmd("exit 0"), make(ECHO)("c"))
    with (
        recorded_events() as events,
        scoped(ScopeConfig(allowlist=frozenset({FIXTURE}))),
        pytest.raises(ForbiddenProgramError) as info,
    ):
        run_concurrent_sync(*commands)
    assert info.value.program == SH  # the first forbidden one in submission order
    assert events == []


def test_scope_is_seen_by_every_command() -> None:
    with scoped(ScopeConfig(env_overlay={"CUPRUM_SCOPE": "inner"})):
        outcome = run_concurrent_sync(
            fixture_cmd("env", "CUPRUM_SCOPE"), config=ConcurrentConfig(concurrency=1)
        )
    assert outcome.results[0].stdout == "inner\n"


# --- fail-fast (edge case 63) -----------------------------------------------------


def test_fail_fast_keeps_completed_results_and_stops_the_rest() -> None:
    commands = (
        fixture_cmd("sleep", "5"),
        sh_cmd("sleep 0.3; exit 2"),
        fixture_cmd("sleep", "5"),
        fixture_cmd("echo", "quick"),
    )
    with recorded_events() as events:
        outcome = run_concurrent_sync(*commands, config=ConcurrentConfig(fail_fast=True))
    assert [r.exit_code for r in outcome.results] == [2, 0]
    assert outcome.submission_indices == (1, 3)
    assert outcome.failures == (0,)
    assert outcome.failure_submission_indices == (1,)
    assert outcome.failures != outcome.failure_submission_indices
    assert not outcome.ok
    # Every child that started, including the cancelled sleepers, is gone.
    assert len(started_pids(events)) == 4
    for pid in started_pids(events):
        assert_reaped(pid)
    # Cancelled commands report no exit.
    assert len(phases(events, "exit")) == 2


def test_fail_fast_never_spawns_queued_commands() -> None:
    with recorded_events() as events:
        outcome = run_concurrent_sync(
            fixture_cmd("exit", "3"),
            fixture_cmd("echo", "never"),
            fixture_cmd("echo", "never"),
            config=ConcurrentConfig(concurrency=1, fail_fast=True),
        )
    assert [r.exit_code for r in outcome.results] == [3]
    assert outcome.submission_indices == (0,)
    assert len(phases(events, "start")) == 1


def test_fail_fast_tears_down_a_child_that_ignores_sigterm() -> None:
    config = ConcurrentConfig(fail_fast=True, context=ExecutionContext(cancel_grace=0.2))
    with recorded_events() as events:
        outcome = run_concurrent_sync(
            fixture_cmd("ignore-term", "30"), sh_cmd("sleep 0.3; exit 1"), config=config
        )
    assert [r.exit_code for r in outcome.results] == [1]
    assert outcome.failure_submission_indices == (1,)
    for pid in started_pids(events):
        assert_reaped(pid)


def test_fail_fast_without_failures_returns_everything() -> None:
    outcome = run_concurrent_sync(
        fixture_cmd("echo", "a"),
        fixture_cmd("echo", "b"),
        config=ConcurrentConfig(fail_fast=True, concurrency=1),
    )
    assert [r.stdout for r in outcome.results] == ["a\n", "b\n"]
    assert outcome.ok


# --- exceptions (edge case 65) ------------------------------------------------------


def test_collect_all_reraises_a_timeout_unchanged() -> None:
    config = ConcurrentConfig(context=ExecutionContext(timeout=0.2))
    with pytest.raises(TimeoutExpired) as info:
        run_concurrent_sync(fixture_cmd("sleep", "5"), fixture_cmd("echo", "a"), config=config)
    assert info.value.timeout == 0.2
    assert info.value.cmd == (str(FIXTURE), "sleep", "5")


def test_fail_fast_wraps_a_timeout_in_an_exception_group() -> None:
    config = ConcurrentConfig(fail_fast=True, context=ExecutionContext(timeout=0.2))
    with pytest.raises(ExceptionGroup) as info:
        run_concurrent_sync(fixture_cmd("sleep", "5"), fixture_cmd("echo", "a"), config=config)
    assert [type(error) for error in info.value.exceptions] == [TimeoutExpired]


def test_timeout_from_the_scope_applies() -> None:
    with scoped(ScopeConfig(timeout=0.2)), pytest.raises(TimeoutExpired):
        run_concurrent_sync(fixture_cmd("sleep", "5"))


def test_collect_all_reraises_the_first_exception_in_submission_order() -> None:
    config = ConcurrentConfig(context=ExecutionContext(timeout=0.3))
    # The missing program fails at once; the timeout comes later but was
    # submitted first, so it wins.
    with recorded_events() as events, pytest.raises(TimeoutExpired):
        run_concurrent_sync(fixture_cmd("sleep", "5"), missing_program_cmd(), config=config)
    with pytest.raises(FileNotFoundError):
        run_concurrent_sync(missing_program_cmd(), fixture_cmd("sleep", "5"), config=config)
    for pid in started_pids(events):
        assert_reaped(pid)


def test_collect_all_lets_the_others_finish_after_an_exception() -> None:
    with recorded_events() as events, pytest.raises(FileNotFoundError):
        run_concurrent_sync(missing_program_cmd(), fixture_cmd("sleep", "0.2"))
    assert [event.argv[1:] for event in phases(events, "exit")] == [("sleep", "0.2")]


# --- cancellation ---------------------------------------------------------------------


async def _wait_for_starts(events: list[ExecEvent], count: int) -> None:
    async with asyncio.timeout(10):
        while len(phases(events, "start")) < count:
            await asyncio.sleep(0.01)


def test_external_cancellation_tears_everything_down() -> None:
    async def scenario() -> list[ExecEvent]:
        with recorded_events() as events:
            batch = asyncio.create_task(
                run_concurrent(
                    fixture_cmd("sleep", "30"),
                    fixture_cmd("ignore-term", "30"),
                    fixture_cmd("sleep", "30"),
                    config=ConcurrentConfig(
                        concurrency=2, context=ExecutionContext(cancel_grace=0.2)
                    ),
                )
            )
            await _wait_for_starts(events, 2)
            batch.cancel()
            with pytest.raises(asyncio.CancelledError):
                await batch
            # By the time the cancellation arrives, every child is reaped.
            for pid in started_pids(events):
                assert_reaped(pid)
        return events

    events = asyncio.run(scenario())
    assert len(phases(events, "start")) == 2  # the queued command never spawned
    assert phases(events, "exit") == []


# --- the synchronous wrapper -----------------------------------------------------------


def test_sync_wrapper_works_inside_a_running_loop() -> None:
    async def scenario() -> ConcurrentResult:
        return run_concurrent_sync(fixture_cmd("echo", "from-loop"))

    outcome = asyncio.run(scenario())
    assert outcome.results[0].stdout == "from-loop\n"


def test_sync_wrapper_inside_a_loop_keeps_the_callers_context() -> None:
    async def scenario() -> None:
        with scoped(ScopeConfig(allowlist=frozenset())), pytest.raises(ForbiddenProgramError):
            run_concurrent_sync(fixture_cmd("echo", "x"))
        with scoped(ScopeConfig(env_overlay={"CUPRUM_SCOPE": "loop"})):
            outcome = run_concurrent_sync(fixture_cmd("env", "CUPRUM_SCOPE"))
        assert outcome.results[0].stdout == "loop\n"

    asyncio.run(scenario())


def test_sync_wrapper_inside_a_loop_propagates_exceptions() -> None:
    async def scenario() -> None:
        with pytest.raises(ValueError, match="At least one command"):
            run_concurrent_sync()
        with pytest.raises(ExceptionGroup):
            run_concurrent_sync(missing_program_cmd(), config=ConcurrentConfig(fail_fast=True))

    asyncio.run(scenario())


def test_sync_wrapper_interrupted_inside_a_loop_tears_the_batch_down() -> None:
    # A loop driven by run_until_complete keeps Python's default SIGINT
    # handler, so the interrupt surfaces in the thread waiting for the helper.
    main_thread = threading.get_ident()

    async def scenario() -> None:
        run_concurrent_sync(fixture_cmd("sleep", "30"), fixture_cmd("sleep", "30"))

    with recorded_events() as events:

        def interrupt_once_started() -> None:
            deadline = time.monotonic() + 10
            while len(phases(events, "start")) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            signal.pthread_kill(main_thread, signal.SIGINT)

        interrupter = threading.Thread(target=interrupt_once_started)
        loop = asyncio.new_event_loop()
        task = loop.create_task(scenario())
        # The test runner may have inherited SIGINT as ignored (a background
        # job of a non-interactive shell); install Python's default handler.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        interrupter.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                loop.run_until_complete(task)
            assert isinstance(task.exception(), KeyboardInterrupt)
        finally:
            interrupter.join()
            signal.signal(signal.SIGINT, previous)
            loop.close()
    assert len(started_pids(events)) == 2
    for pid in started_pids(events):
        assert_reaped(pid)


def test_sync_wrapper_from_another_thread() -> None:
    outcomes: list[ConcurrentResult] = []
    worker = threading.Thread(
        target=lambda: outcomes.append(run_concurrent_sync(fixture_cmd("echo", "thread")))
    )
    worker.start()
    worker.join()
    assert outcomes[0].results[0].stdout == "thread\n"


def test_sync_and_async_agree() -> None:
    commands = (fixture_cmd("exit", "4"), fixture_cmd("echo", "x"))
    config = ConcurrentConfig(concurrency=1)
    first = asyncio.run(run_concurrent(*commands, config=config))
    second = run_concurrent_sync(*commands, config=config)
    # Process ids differ between runs; everything else is the same.
    without_pids = [dataclasses.replace(r, pid=-1) for r in first.results]
    assert without_pids == [dataclasses.replace(r, pid=-1) for r in second.results]
    assert (first.failures, first.submission_indices) == (
        second.failures,
        second.submission_indices,
    )


# --- resources ---------------------------------------------------------------------


def _open_fds() -> set[str]:
    return {entry.name for entry in Path("/proc/self/fd").iterdir()}


def _child_pids() -> list[str]:
    children: list[str] = []
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            children += (task / "children").read_text().split()
    return children


def test_a_thousand_commands_leave_no_descriptor_or_child_behind() -> None:
    config = ConcurrentConfig(concurrency=64)
    run_concurrent_sync(fixture_cmd("echo", "warm-up"), config=config)
    # Objects of earlier tests caught in reference cycles (through exception
    # tracebacks) may still hold descriptors; collect them first.
    gc.collect()
    before = _open_fds()
    outcome = run_concurrent_sync(
        *(fixture_cmd("echo", str(index)) for index in range(1000)), config=config
    )
    assert outcome.ok
    assert [r.stdout for r in outcome.results] == [f"{index}\n" for index in range(1000)]
    assert _open_fds() == before
    assert _child_pids() == []
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)
