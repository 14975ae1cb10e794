"""Lifecycle of single commands: timeouts, cancellation, interrupts and
teardown of whole process groups (spec §4.5)."""

from __future__ import annotations

import _thread
import asyncio
import io
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cuprum.context import ScopeConfig, after, observe, scoped
from cuprum.events import ExecEvent
from cuprum.sh import (
    CommandResult,
    ExecutionContext,
    RunOutputOptions,
    SafeCmd,
    SafeCmdBuilder,
    TimeoutExpired,
)
from helpers import assert_no_children, sh_cmd, wait_dead

Run = Callable[..., Any]

# Generous bound for "returns promptly" on a loaded machine.
SLACK = 1.0


@pytest.fixture
def events() -> Iterator[list[ExecEvent]]:
    recorded: list[ExecEvent] = []
    with observe(recorded.append):
        yield recorded


def started_pid(events: list[ExecEvent]) -> int:
    (start,) = [e for e in events if e.phase == "start"]
    assert start.pid is not None
    return start.pid


def timed(call: Callable[[], object]) -> tuple[BaseException, float]:
    """Run ``call``, which must raise; return the exception and the time taken."""
    began = time.monotonic()
    try:
        call()
    except BaseException as exc:
        return exc, time.monotonic() - began
    pytest.fail("expected an exception")


async def run_until_line(
    cmd: SafeCmd, **kwargs: Any
) -> tuple[asyncio.Task[CommandResult], str, list[ExecEvent]]:
    """Start ``cmd.run(**kwargs)`` as a task; return it once the first stdout
    line arrived (with that line and the events so far)."""
    lines: asyncio.Queue[str] = asyncio.Queue()
    recorded: list[ExecEvent] = []

    def hook(event: ExecEvent) -> None:
        recorded.append(event)
        if event.phase == "stdout" and event.line is not None:
            lines.put_nowait(event.line)

    with observe(hook):
        task = asyncio.create_task(cmd.run(**kwargs))
    line = await asyncio.wait_for(lines.get(), 10)
    return task, line, recorded


# --- timeouts ----------------------------------------------------------------------


def test_timeout_raises_timeout_expired(fx: SafeCmdBuilder, runner: Run) -> None:
    cmd = fx("sleep", 30)
    exc, took = timed(lambda: runner(cmd, timeout=0.3))
    assert isinstance(exc, TimeoutExpired)
    assert exc.cmd == cmd.argv_with_program
    assert exc.timeout == 0.3
    assert str(exc) == f"Command {cmd.argv_with_program!r} timed out after 0.3 seconds"
    assert isinstance(exc.__cause__, TimeoutError)
    assert exc.output == ""
    assert exc.stdout == ""
    assert exc.stderr == ""
    assert took < 0.3 + 0.5 + SLACK
    assert_no_children()


@pytest.mark.parametrize("timeout", [0, -1.0])
def test_expired_timeout_terminates_at_once(
    fx: SafeCmdBuilder, runner: Run, events: list[ExecEvent], timeout: float
) -> None:
    """§11.22: ``timeout <= 0`` is already expired; ``exc.timeout`` is the input."""
    exc, took = timed(lambda: runner(fx("sleep", 30), timeout=timeout))
    assert isinstance(exc, TimeoutExpired)
    assert exc.timeout == timeout
    assert type(exc.timeout) is type(timeout)
    assert took < 0.5 + SLACK
    assert wait_dead(started_pid(events))
    assert_no_children()


def test_partial_output_is_text_when_capturing(runner: Run) -> None:
    """§11.23 (capturing)."""
    cmd = sh_cmd("echo partial; echo oops >&2; exec sleep 30")
    exc, _ = timed(lambda: runner(cmd, timeout=1.0))
    assert isinstance(exc, TimeoutExpired)
    assert exc.output == "partial\n"
    assert exc.stderr == "oops\n"


@pytest.mark.parametrize(
    "output",
    [RunOutputOptions(capture=False, echo=False), RunOutputOptions(capture=False, echo=True)],
    ids=["quiet", "echo"],
)
def test_partial_output_is_none_without_capture(
    fx: SafeCmdBuilder, runner: Run, output: RunOutputOptions
) -> None:
    """§11.23 (not capturing)."""
    ctx = ExecutionContext(stdout_sink=io.StringIO(), stderr_sink=io.StringIO())
    exc, _ = timed(lambda: runner(fx("sleep", 30), timeout=0.2, output=output, context=ctx))
    assert isinstance(exc, TimeoutExpired)
    assert exc.output is None
    assert exc.stderr is None


def test_timeout_emits_exit_but_skips_after_hooks(fx: SafeCmdBuilder, runner: Run) -> None:
    """§11.24 (SafeCmd half) and §11.25 (timeout half)."""
    recorded: list[ExecEvent] = []
    called: list[CommandResult] = []
    with (
        observe(recorded.append),
        after(lambda cmd, result: called.append(result)),
        pytest.raises(TimeoutExpired),
    ):
        runner(fx("sleep", 30), timeout=0.2)
    phases = [e.phase for e in recorded]
    assert phases == ["plan", "start", "exit"]
    assert recorded[-1].exit_code == -15
    assert recorded[-1].duration_s is not None
    assert recorded[-1].duration_s >= 0
    assert called == []


def test_async_observe_tasks_are_awaited_on_timeout(fx: SafeCmdBuilder, runner: Run) -> None:
    finished: list[str] = []

    async def slow(event: ExecEvent) -> None:
        await asyncio.sleep(0.05)
        finished.append(event.phase)

    with observe(slow), pytest.raises(TimeoutExpired):
        runner(fx("sleep", 30), timeout=0.2)
    assert sorted(finished) == ["exit", "plan", "start"]


def test_async_observe_tasks_are_awaited_on_cancellation(fx: SafeCmdBuilder) -> None:
    finished: list[str] = []

    async def slow(event: ExecEvent) -> None:
        await asyncio.sleep(0.05)
        finished.append(event.phase)

    async def main() -> None:
        with observe(slow):
            task = asyncio.create_task(fx("sleep", 30).run())
        while not finished:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert sorted(finished) == ["plan", "start"]

    asyncio.run(main())
    assert_no_children()


def test_sigterm_ignoring_child_is_killed_after_grace_on_timeout(
    fx: SafeCmdBuilder, runner: Run, events: list[ExecEvent]
) -> None:
    grace = 0.4
    ctx = ExecutionContext(cancel_grace=grace)
    exc, took = timed(lambda: runner(fx("ignore-term", 30), timeout=0.3, context=ctx))
    assert isinstance(exc, TimeoutExpired)
    assert exc.output == "ready\n"
    (exit_event,) = [e for e in events if e.phase == "exit"]
    assert exit_event.exit_code == -9
    assert took >= 0.3 + grace * 0.9, "SIGKILL waits for the grace period"
    assert took < 0.3 + grace + SLACK
    assert_no_children()


def test_negative_grace_acts_as_zero(fx: SafeCmdBuilder, events: list[ExecEvent]) -> None:
    ctx = ExecutionContext(cancel_grace=-5.0)
    exc, took = timed(lambda: fx("ignore-term", 30).run_sync(timeout=0.2, context=ctx))
    assert isinstance(exc, TimeoutExpired)
    assert [e.exit_code for e in events if e.phase == "exit"] == [-9]
    assert took < 0.2 + SLACK


def test_grandchild_is_killed_on_timeout(fx: SafeCmdBuilder, runner: Run) -> None:
    grace = 0.5
    ctx = ExecutionContext(cancel_grace=grace)
    exc, took = timed(lambda: runner(fx("fork-sleeper", 30), timeout=0.5, context=ctx))
    assert isinstance(exc, TimeoutExpired)
    assert exc.output is not None
    grandchild = int(exc.output.strip())
    assert took < 0.5 + grace + SLACK
    assert wait_dead(grandchild), "the grandchild shares the stage's process group"
    assert_no_children()


def test_deadline_bounds_the_whole_call_even_after_the_child_exits(runner: Run) -> None:
    """§12.2: a background grandchild holding stdout after the child exited
    does not stretch the call past its deadline: its group is torn down and
    the output read so far is returned with the timeout."""
    grace = 0.3
    cmd = sh_cmd("sleep 30 & echo early")
    ctx = ExecutionContext(cancel_grace=grace)
    exc, took = timed(lambda: runner(cmd, timeout=0.2, context=ctx))
    assert isinstance(exc, TimeoutExpired)
    assert exc.output == "early\n"
    # The promise is T + G + 0.5 s; SLACK on top for a loaded machine.
    assert took < 0.2 + grace + 0.5 + SLACK
    assert_no_children()


# --- timeout resolution ---------------------------------------------------------------


def test_timeout_precedence(fx: SafeCmdBuilder) -> None:
    """§11.27: argument > ExecutionContext.timeout > scope."""
    cmd = fx("sleep", 30)
    with scoped(ScopeConfig(timeout=0.3)):
        with pytest.raises(TimeoutExpired) as scope_only:
            cmd.run_sync()
        with pytest.raises(TimeoutExpired) as from_context:
            cmd.run_sync(context=ExecutionContext(timeout=0.2))
        with pytest.raises(TimeoutExpired) as from_argument:
            cmd.run_sync(timeout=0.1, context=ExecutionContext(timeout=0.2))
    assert scope_only.value.timeout == 0.3
    assert from_context.value.timeout == 0.2
    assert from_argument.value.timeout == 0.1


def test_context_without_timeout_falls_back_to_the_scope(fx: SafeCmdBuilder, runner: Run) -> None:
    """§11.28: ``ExecutionContext(timeout=None)`` behaves like no context here."""
    with scoped(ScopeConfig(timeout=0.3)), pytest.raises(TimeoutExpired) as excinfo:
        runner(fx("sleep", 30), context=ExecutionContext(timeout=None))
    assert excinfo.value.timeout == 0.3


def test_scope_timeout_is_reported_as_float(fx: SafeCmdBuilder) -> None:
    with scoped(ScopeConfig(timeout=0)), pytest.raises(TimeoutExpired) as excinfo:
        fx("sleep", 30).run_sync()
    assert excinfo.value.timeout == 0.0
    assert type(excinfo.value.timeout) is float


def test_scope_timeout_validation() -> None:
    """§11.29."""
    assert ScopeConfig(timeout=5).timeout == 5.0
    assert type(ScopeConfig(timeout=5).timeout) is float
    for bad in (-1, math.nan, math.inf):
        with pytest.raises(ValueError, match="ScopeConfig timeout must be"):
            ScopeConfig(timeout=bad)


def test_finishing_before_the_deadline_returns_the_result(fx: SafeCmdBuilder, runner: Run) -> None:
    result = runner(fx("echo", "quick"), timeout=30)
    assert result.stdout == "quick\n"


# --- cancellation -----------------------------------------------------------------------


def test_cancellation_tears_down_without_exit_or_after_hooks(fx: SafeCmdBuilder) -> None:
    """§11.25 (cancellation half): CancelledError, no exit event, no after hooks."""
    called: list[CommandResult] = []

    async def main() -> list[ExecEvent]:
        with after(lambda cmd, result: called.append(result)):
            task, _, recorded = await run_until_line(fx("fork-sleeper", 30))
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        return recorded

    recorded = asyncio.run(main())
    assert [e.phase for e in recorded if e.phase != "stdout"] == ["plan", "start"]
    assert called == []
    assert_no_children()


def test_grandchild_is_killed_on_cancellation(fx: SafeCmdBuilder) -> None:
    grace = 0.5

    async def main() -> tuple[int, float]:
        task, line, _ = await run_until_line(
            fx("fork-sleeper", 30), context=ExecutionContext(cancel_grace=grace)
        )
        began = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return int(line), time.monotonic() - began

    grandchild, took = asyncio.run(main())
    assert took < grace + SLACK
    assert wait_dead(grandchild)
    assert_no_children()


def test_sigterm_ignoring_child_is_killed_after_grace_on_cancellation(
    fx: SafeCmdBuilder,
) -> None:
    """§11.26."""
    grace = 0.4

    async def main() -> tuple[int, float]:
        task, line, recorded = await run_until_line(
            fx("ignore-term", 30), context=ExecutionContext(cancel_grace=grace)
        )
        assert line == "ready"
        began = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return started_pid(recorded), time.monotonic() - began

    pid, took = asyncio.run(main())
    assert took >= grace * 0.9, "SIGKILL waits for the grace period"
    assert took < grace + SLACK
    assert wait_dead(pid)
    assert_no_children()


def test_teardown_finishes_when_cancelled_again_mid_grace(fx: SafeCmdBuilder) -> None:
    grace = 0.5

    async def main() -> int:
        task, _, recorded = await run_until_line(
            fx("ignore-term", 30), context=ExecutionContext(cancel_grace=grace)
        )
        task.cancel()
        await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return started_pid(recorded)

    pid = asyncio.run(main())
    assert wait_dead(pid, within=0.1)
    assert_no_children()


def test_cancelled_wait_for_timeout_tears_down(fx: SafeCmdBuilder) -> None:
    async def main() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(fx("sleep", 30).run(), 0.2)

    asyncio.run(main())
    assert_no_children()


@pytest.fixture
def default_sigint() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("default_sigint")
def test_keyboard_interrupt_in_run_sync_tears_down(fx: SafeCmdBuilder) -> None:
    """Ctrl-C while ``run_sync`` waits: the process group is torn down and
    reaped before KeyboardInterrupt propagates."""
    seen = threading.Event()
    lines: list[str] = []

    def hook(event: ExecEvent) -> None:
        if event.phase == "stdout" and event.line is not None:
            lines.append(event.line)
            seen.set()

    def interrupt() -> None:
        if seen.wait(10):
            _thread.interrupt_main()

    helper = threading.Thread(target=interrupt)
    helper.start()
    try:
        with observe(hook), pytest.raises(KeyboardInterrupt):
            fx("fork-sleeper", 30).run_sync(context=ExecutionContext(cancel_grace=0.2))
    finally:
        helper.join()
    assert wait_dead(int(lines[0]))
    assert_no_children()
