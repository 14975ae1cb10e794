"""Cancellation under asyncio, trio and anyio (both back ends).

Every scenario cancels a run whose child ignores SIGTERM and has a
grandchild (``sh`` traps TERM and execs the fixture, which forks): the
cancellation must wait out ``cancel_grace``, SIGKILL the whole process
group, reap it, and only then propagate as the library's own cancellation
(``move_on_after`` swallows it, ``fail_after`` turns it into its timeout
error, a cancelled ``CancelScope`` reports ``cancelled_caught``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from cuprum import ConcurrentConfig, ExecEvent, ExecutionContext, SafeCmd, after, observe, sh
from cuprum.concurrent import run_concurrent
from flavours import ALL, SCOPED, Flavour, Ticker, flavour_ids
from helpers import FIXTURE_PATH, SH, TEST_CATALOGUE, assert_no_children, wait_dead

scoped_libraries = pytest.mark.parametrize("flavour", flavour_ids(SCOPED))
every_library = pytest.mark.parametrize("flavour", flavour_ids(ALL))

GRACE = 0.3
SLACK = 2.0
"""Upper margin on teardown times: generous, for a loaded machine. The lower
bound (``GRACE``) is the promise that SIGTERM alone did not end the tree."""


def term_ignoring_tree(seconds: float = 30) -> SafeCmd:
    """A child that ignores SIGTERM and forks a grandchild (which ignores it
    too); the grandchild's pid is the first stdout line."""
    script = 'trap "" TERM; exec "$0" fork-sleeper "$1"'
    return sh.make(SH, catalogue=TEST_CATALOGUE)("-c", script, str(FIXTURE_PATH), seconds)


@dataclasses.dataclass
class Tree:
    """Watches runs of :func:`term_ignoring_tree` through an observe hook:
    their pids, and a callback for the moment every grandchild is known."""

    expected: int = 1
    on_ready: Callable[[], None] = lambda: None
    pids: list[int] = dataclasses.field(default_factory=list)
    phases: list[str] = dataclasses.field(default_factory=list)
    ready_at: float | None = None

    def hook(self, event: ExecEvent) -> None:
        self.phases.append(event.phase)
        if event.phase == "start" and event.pid is not None:
            self.pids.append(event.pid)
        elif event.phase == "stdout" and event.line and event.line.isdigit():
            self.pids.append(int(event.line))
            self.expected -= 1
            if self.expected == 0:
                self.ready_at = time.monotonic()
                self.on_ready()

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        with observe(self.hook), after(lambda cmd, result: self.phases.append("after")):
            yield

    def assert_reaped(self) -> None:
        assert self.pids, "the tree never started"
        for pid in self.pids:
            assert wait_dead(pid), f"process {pid} outlived the cancellation"
        assert_no_children()

    def teardown_time(self) -> float:
        assert self.ready_at is not None
        return time.monotonic() - self.ready_at


CONTEXT = ExecutionContext(cancel_grace=GRACE)


def assert_teardown_waited_for_the_kill(took: float) -> None:
    # TERM is ignored, so nothing ends before the grace period has passed.
    assert GRACE * 0.9 <= took < GRACE + SLACK


# --- one run, three ways to cancel -------------------------------------------------------


@scoped_libraries
def test_move_on_after_reaps_a_term_ignoring_tree(flavour: Flavour) -> None:
    lib = flavour.scopes
    reached: list[str] = []

    async def main() -> tuple[bool, float]:
        with lib.move_on_after(30) as scope:
            tree.on_ready = lambda: setattr(scope, "deadline", lib.current_time() + 0.05)
            with tree.watching():
                await term_ignoring_tree().run(context=CONTEXT)
            reached.append("after run")
        return scope.cancelled_caught, tree.teardown_time()

    tree = Tree()
    caught, took = flavour.run(main)
    assert caught
    assert reached == []
    assert_teardown_waited_for_the_kill(took)
    tree.assert_reaped()
    assert "exit" not in tree.phases
    assert "after" not in tree.phases


@scoped_libraries
def test_fail_after_reaps_a_term_ignoring_tree_then_raises(flavour: Flavour) -> None:
    lib = flavour.scopes

    async def main() -> None:
        with lib.fail_after(30) as scope, tree.watching():
            tree.on_ready = lambda: setattr(scope, "deadline", lib.current_time() + 0.05)
            await term_ignoring_tree().run(context=CONTEXT)

    tree = Tree()
    with pytest.raises(flavour.too_slow):
        flavour.run(main)
    assert_teardown_waited_for_the_kill(tree.teardown_time())
    tree.assert_reaped()


@scoped_libraries
def test_cancel_scope_cancel_reaps_a_term_ignoring_tree(flavour: Flavour) -> None:
    lib = flavour.scopes

    seen: list[BaseException] = []

    async def main() -> bool:
        with lib.CancelScope() as scope:
            tree.on_ready = scope.cancel
            with tree.watching():
                try:
                    await term_ignoring_tree().run(context=CONTEXT)
                except BaseException as exc:
                    seen.append(exc)
                    raise
        return scope.cancelled_caught

    tree = Tree()
    assert flavour.run(main)
    # The library's own cancellation exception is what propagates.
    assert [type(exc) for exc in seen] == [flavour.cancelled]
    assert_teardown_waited_for_the_kill(tree.teardown_time())
    tree.assert_reaped()


def test_asyncio_timeout_reaps_a_term_ignoring_tree() -> None:
    async def main() -> None:
        async with asyncio.timeout(30) as timeout:
            loop = asyncio.get_running_loop()
            tree.on_ready = lambda: timeout.reschedule(loop.time() + 0.05)
            with tree.watching():
                await term_ignoring_tree().run(context=CONTEXT)

    tree = Tree()
    with pytest.raises(TimeoutError):
        asyncio.run(main())
    assert_teardown_waited_for_the_kill(tree.teardown_time())
    tree.assert_reaped()


@scoped_libraries
def test_cancelled_pipeline_reaps_every_stage(flavour: Flavour) -> None:
    lib = flavour.scopes

    async def main() -> bool:
        with lib.CancelScope() as scope:
            tree.on_ready = scope.cancel
            with tree.watching():
                await (term_ignoring_tree() | sh_stage()).run(context=CONTEXT)
        return scope.cancelled_caught

    tree = Tree()
    assert flavour.run(main)
    # Only the final stage's stdout is observed, so the grandchild's pid
    # comes from the last stage: `sh -c cat` relays it.
    tree.assert_reaped()


def sh_stage() -> SafeCmd:
    """A final stage that copies its input line by line (so the
    grandchild's pid reaches the observe hook) and ignores TERM too."""
    script = 'trap "" TERM; exec "$0" cat'
    return sh.make(SH, catalogue=TEST_CATALOGUE)("-c", script, str(FIXTURE_PATH))


# --- cancelled again while tearing down ---------------------------------------------------


@scoped_libraries
def test_teardown_finishes_when_an_outer_scope_cancels_meanwhile(flavour: Flavour) -> None:
    lib = flavour.scopes

    reached: list[str] = []

    async def main() -> bool:
        with lib.CancelScope() as outer:
            with lib.CancelScope() as inner:

                def cancel_both() -> None:
                    inner.cancel()
                    # The outer scope fires in the middle of the grace period.
                    outer.deadline = lib.current_time() + GRACE / 3

                tree.on_ready = cancel_both
                with tree.watching():
                    await term_ignoring_tree().run(context=CONTEXT)
            reached.append("after the inner scope")
        return outer.cancelled_caught

    tree = Tree()
    # Both scopes are cancelled when the run ends: the outer one catches it.
    assert flavour.run(main)
    assert reached == []
    assert_teardown_waited_for_the_kill(tree.teardown_time())
    tree.assert_reaped()


def test_asyncio_teardown_survives_a_cancellation_redelivered_every_iteration() -> None:
    """Like anyio's scopes, keep cancelling the task while it tears down:
    the teardown still finishes, once, after the grace period."""

    async def main() -> None:
        task = asyncio.create_task(term_ignoring_tree().run(context=CONTEXT))
        ready = asyncio.Event()
        tree.on_ready = ready.set
        await ready.wait()
        while not task.done():
            task.cancel()
            await asyncio.sleep(0)
        with pytest.raises(asyncio.CancelledError):
            await task

    tree = Tree()
    with tree.watching():
        asyncio.run(main())
    assert_teardown_waited_for_the_kill(tree.teardown_time())
    tree.assert_reaped()


# --- run_concurrent -------------------------------------------------------------------------


def batch(tree: Tree) -> Awaitable[Any]:
    tree.expected = 2
    return run_concurrent(
        term_ignoring_tree(),
        term_ignoring_tree(),
        term_ignoring_tree(),  # queued behind the limit: never spawns
        config=ConcurrentConfig(concurrency=2, context=CONTEXT),
    )


@scoped_libraries
def test_move_on_after_around_run_concurrent_returns_once_reaped(flavour: Flavour) -> None:
    lib = flavour.scopes

    async def main() -> bool:
        with lib.move_on_after(30) as scope:
            tree.on_ready = lambda: setattr(scope, "deadline", lib.current_time() + 0.05)
            with tree.watching():
                await batch(tree)
        return scope.cancelled_caught

    tree = Tree()
    assert flavour.run(main)
    assert_teardown_waited_for_the_kill(tree.teardown_time())
    tree.assert_reaped()
    assert tree.phases.count("start") == 2
    assert "exit" not in tree.phases


@scoped_libraries
def test_fail_after_around_run_concurrent_raises_once_reaped(flavour: Flavour) -> None:
    lib = flavour.scopes

    async def main() -> None:
        with lib.fail_after(30) as scope, tree.watching():
            tree.on_ready = lambda: setattr(scope, "deadline", lib.current_time() + 0.05)
            await batch(tree)

    tree = Tree()
    with pytest.raises(flavour.too_slow):
        flavour.run(main)
    assert_teardown_waited_for_the_kill(tree.teardown_time())
    tree.assert_reaped()


def test_asyncio_run_concurrent_survives_a_cancellation_redelivered_every_iteration() -> None:
    async def main() -> None:
        task = asyncio.create_task(batch(tree))
        ready = asyncio.Event()
        tree.on_ready = ready.set
        await ready.wait()
        while not task.done():
            task.cancel()
            await asyncio.sleep(0)
        with pytest.raises(asyncio.CancelledError):
            await task

    tree = Tree()
    with tree.watching():
        asyncio.run(main())
    assert_teardown_waited_for_the_kill(tree.teardown_time())
    tree.assert_reaped()
    assert tree.phases.count("start") == 2


# --- the event loop during teardown ---------------------------------------------------------


@every_library
def test_teardown_neither_stalls_the_loop_nor_spins(flavour: Flavour) -> None:
    """While a cancelled run waits out its grace period, other tasks keep
    running and the process stays (nearly) idle: anyio, which cancels its
    task again on every loop iteration, must not turn the wait into a
    busy loop."""
    grace = 1.0
    ticker = Ticker(flavour, interval=0.01)
    cpu: list[float] = []

    async def cancelled_run() -> None:
        if flavour.name == "asyncio":
            task = asyncio.create_task(
                term_ignoring_tree().run(context=ExecutionContext(cancel_grace=grace))
            )
            tree.on_ready = lambda: (cpu.append(time.process_time()), task.cancel())
            with contextlib.suppress(asyncio.CancelledError):
                await task
        else:
            with flavour.scopes.CancelScope() as scope:
                tree.on_ready = lambda: (cpu.append(time.process_time()), scope.cancel())
                await term_ignoring_tree().run(context=ExecutionContext(cancel_grace=grace))
        cpu.append(time.process_time())
        ticker.done = True

    async def main() -> None:
        async with flavour.task_group() as group:
            group.start_soon(ticker.run)
            group.start_soon(cancelled_run)

    tree = Tree()
    with tree.watching():
        flavour.run(main)
    tree.assert_reaped()
    assert tree.teardown_time() >= grace * 0.9
    # 10 ms ticks: a stalled loop would show the whole grace period (1 s);
    # 300 ms leaves room for a loaded machine.
    assert ticker.longest < 0.3, ticker.longest
    # Idle waiting costs milliseconds of CPU; a loop spinning through
    # redelivered cancellations costs about the whole grace period.
    assert cpu[1] - cpu[0] < grace / 3


@scoped_libraries
def test_async_observe_tasks_finish_before_the_cancellation_propagates(
    flavour: Flavour,
) -> None:
    lib = flavour.scopes
    finished: list[str] = []

    def slow_hook(event: ExecEvent) -> Awaitable[None] | None:
        if event.phase != "start":
            return None

        async def record() -> None:
            await flavour.sleep(0.2)
            finished.append("observe task")

        return record()

    async def main() -> bool:
        with lib.CancelScope() as scope:
            tree.on_ready = scope.cancel
            with tree.watching(), observe(slow_hook):
                await term_ignoring_tree().run(context=ExecutionContext(cancel_grace=0.0))
        finished.append("cancelled")
        return scope.cancelled_caught

    tree = Tree()
    assert flavour.run(main)
    assert finished == ["observe task", "cancelled"]
    tree.assert_reaped()


def test_asyncio_observe_tasks_finish_before_the_cancellation_propagates() -> None:
    finished: list[str] = []

    def slow_hook(event: ExecEvent) -> Awaitable[None] | None:
        if event.phase != "start":
            return None

        async def record() -> None:
            await asyncio.sleep(0.2)
            finished.append("observe task")

        return record()

    async def main() -> None:
        with tree.watching(), observe(slow_hook):
            task = asyncio.create_task(
                term_ignoring_tree().run(context=ExecutionContext(cancel_grace=0.0))
            )
        ready = asyncio.Event()
        tree.on_ready = ready.set
        await ready.wait()
        # Cancelled twice: once for the run, once more while it settles.
        task.cancel()
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        finished.append("cancelled")

    tree = Tree()
    asyncio.run(main())
    assert finished == ["observe task", "cancelled"]
    tree.assert_reaped()
