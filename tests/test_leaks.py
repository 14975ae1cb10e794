"""No descriptor, child process or engine thread outlives thousands of runs."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cuprum.sh import ExecutionContext, RunOutputOptions, SafeCmdBuilder, StdinInput, TimeoutExpired
from helpers import assert_no_children, open_fds


def thread_count() -> int:
    return len(list(Path("/proc/self/task").iterdir()))


def settled(baseline: int, within: float = 2.0) -> int:
    """The thread count once engine threads that are finishing have exited."""
    deadline = time.monotonic() + within
    count = thread_count()
    while count > baseline and time.monotonic() < deadline:
        time.sleep(0.01)
        count = thread_count()
    return count


@pytest.fixture
def no_leaks(fx: SafeCmdBuilder) -> Iterator[None]:
    """Snapshot descriptors and threads around the test (after a warm-up
    run), then require the same descriptors, threads and no children."""
    fx("echo").run_sync()
    (fx("echo") | fx("cat")).run_sync()
    gc.collect()
    fds = open_fds()
    threads = settled(thread_count())
    yield
    gc.collect()
    assert open_fds() == fds
    assert settled(threads) <= threads
    assert_no_children()


def repeat(times: int, call: Callable[[], object]) -> None:
    for _ in range(times):
        call()


@pytest.mark.usefixtures("no_leaks")
def test_two_thousand_single_runs(fx: SafeCmdBuilder) -> None:
    cmd = fx("both", "out", "err")
    quiet = RunOutputOptions(capture=False)
    for index in range(2000):
        if index % 4 == 0:
            result = cmd.run_sync(stdin=StdinInput(data=b"ignored"))
        elif index % 4 == 1:
            result = cmd.run_sync(output=quiet)
        else:
            result = cmd.run_sync()
        assert result.ok


@pytest.mark.usefixtures("no_leaks")
def test_five_hundred_pipelines(fx: SafeCmdBuilder) -> None:
    pipeline = fx("spew", 100_000) | fx("cat") | fx("count")
    early = fx("yes") | fx("head-lines", 1)
    for index in range(500):
        if index % 50 == 0:
            assert early.run_sync().ok
        else:
            assert pipeline.run_sync().stdout == "100000\n"


@pytest.mark.usefixtures("no_leaks")
def test_async_runs(fx: SafeCmdBuilder) -> None:
    async def main() -> None:
        for _ in range(10):
            results = await asyncio.gather(*(fx("echo", i).run() for i in range(50)))
            assert all(r.ok for r in results)
            piped = await asyncio.gather(*((fx("echo", i) | fx("cat")).run() for i in range(20)))
            assert all(r.ok for r in piped)

    asyncio.run(main())


@pytest.mark.usefixtures("no_leaks")
def test_failing_runs(fx: SafeCmdBuilder, tmp_path: Path) -> None:
    """Timeouts, spawn errors and fail-fast leave nothing behind either."""
    missing_cwd = ExecutionContext(cwd=tmp_path / "missing")
    for _ in range(100):
        with pytest.raises(TimeoutExpired):
            fx("sleep", 30).run_sync(timeout=0)
        with pytest.raises(TimeoutExpired):
            (fx("yes") | fx("sleep", 30)).run_sync(timeout=0)
        with pytest.raises(FileNotFoundError):
            fx("pwd").run_sync(context=missing_cwd)
        assert (fx("sleep", 30) | fx("exit", 3) | fx("cat")).run_sync().failure_index == 1


@pytest.mark.usefixtures("no_leaks")
def test_cancelled_runs(fx: SafeCmdBuilder) -> None:
    async def main() -> None:
        for _ in range(50):
            tasks = [
                asyncio.create_task(fx("sleep", 30).run()),
                asyncio.create_task((fx("yes") | fx("cat")).run()),
            ]
            await asyncio.sleep(0.01)
            for task in tasks:
                task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)

    asyncio.run(main())
