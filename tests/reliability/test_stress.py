"""Volume: thousands of runs, cancels and timeouts leave no descriptor, no
process and no thread behind."""

from __future__ import annotations

import asyncio
import gc
import random
from collections.abc import Iterator

import pytest

from cuprum import ExecutionContext, TimeoutExpired
from helpers import assert_no_children, fixture_cmd, open_fds
from support import threads

pytestmark = pytest.mark.slow


@pytest.fixture
def nothing_left_behind() -> Iterator[None]:
    """Warm the engine up (its two threads start once per process), then
    check that descriptors and threads are exactly as before the test and
    that every child was reaped."""
    fixture_cmd("echo", "warm-up").run_sync()
    asyncio.run(fixture_cmd("echo", "warm-up").run())
    gc.collect()
    fds, count = open_fds(), threads()
    yield
    gc.collect()
    assert open_fds() == fds
    assert threads() == count
    assert_no_children()


@pytest.mark.usefixtures("nothing_left_behind")
def test_ten_thousand_sequential_runs() -> None:
    for index in range(10_000):
        assert fixture_cmd("echo", index).run_sync().stdout == f"{index}\n"


@pytest.mark.usefixtures("nothing_left_behind")
def test_a_thousand_concurrent_awaited_runs_on_a_few_engine_threads() -> None:
    peak = 0

    async def main() -> list[str | None]:
        nonlocal peak
        tasks = [asyncio.create_task(fixture_cmd("echo", i).run()) for i in range(1000)]
        while not all(task.done() for task in tasks):
            peak = max(peak, threads())
            await asyncio.sleep(0.005)
        return [task.result().stdout for task in tasks]

    before = threads()
    outputs = asyncio.run(main())
    assert outputs == [f"{i}\n" for i in range(1000)]
    assert peak - before <= 8, "the engine multiplexes runs; it does not add a thread per run"


@pytest.mark.usefixtures("nothing_left_behind")
def test_a_thousand_random_cancels() -> None:
    rng = random.Random(1234)
    ctx = ExecutionContext(cancel_grace=0.05)

    async def one(delay: float) -> None:
        task = asyncio.create_task(fixture_cmd("sleep", 30).run(context=ctx))
        await asyncio.sleep(delay)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    async def main() -> None:
        for start in range(0, 1000, 100):
            await asyncio.gather(*(one(rng.uniform(0, 0.02)) for _ in range(start, start + 100)))

    asyncio.run(main())


@pytest.mark.usefixtures("nothing_left_behind")
def test_a_thousand_timeouts() -> None:
    ctx = ExecutionContext(cancel_grace=0.05)

    async def one(index: int) -> None:
        cmd = fixture_cmd("ignore-term", 30) if index % 2 else fixture_cmd("sleep", 30)
        with pytest.raises(TimeoutExpired):
            await cmd.run(timeout=0.01 * (index % 5), context=ctx)

    async def main() -> None:
        for start in range(0, 1000, 100):
            await asyncio.gather(*(one(i) for i in range(start, start + 100)))

    asyncio.run(main())
    for index in range(0, 100):
        with pytest.raises(TimeoutExpired):
            fixture_cmd("sleep", 30).run_sync(timeout=0.001 * index, context=ctx)
