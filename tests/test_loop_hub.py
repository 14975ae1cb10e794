"""Under asyncio, every run awaited on a loop is signalled through that
loop's one engine hub: a run in flight holds no wake-up descriptor of its
own on the caller's side, and the hub goes with its loop."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from helpers import assert_no_children, fixture_cmd, open_fds

RUNS = 30


def eventfds() -> int:
    """The ``eventfd`` descriptors open in this process."""
    count = 0
    for entry in Path("/proc/self/fd").iterdir():
        try:
            target = str(entry.readlink())
        except FileNotFoundError:  # closed while listing (the listing's own)
            continue
        count += target == "anon_inode:[eventfd]"
    return count


async def in_flight_eventfds() -> tuple[int, list[str | None]]:
    """Starts ``RUNS`` runs of ``cat`` whose stdin stays open until every one
    of them has asked for its second chunk, counts the ``eventfd``
    descriptors at that moment, then lets them finish."""
    asked = 0
    all_asked = asyncio.Event()
    release = asyncio.Event()

    async def stdin(index: int) -> AsyncIterator[bytes]:
        nonlocal asked
        yield f"{index}\n".encode()
        asked += 1
        if asked == RUNS:
            all_asked.set()
        await release.wait()

    async def one(index: int) -> str | None:
        return (await fixture_cmd("cat").run(stdin=stdin(index))).stdout

    runs = asyncio.gather(*(one(index) for index in range(RUNS)))
    await all_asked.wait()
    count = eventfds()
    release.set()
    return count, await runs


def test_an_awaited_run_in_flight_holds_no_wake_up_descriptor_of_its_own() -> None:
    asyncio.run(fixture_cmd("echo", "warm-up").run())
    gc.collect()
    before = eventfds()
    during, outputs = asyncio.run(in_flight_eventfds())
    assert outputs == [f"{index}\n" for index in range(RUNS)]
    # Each run's engine side keeps one control descriptor while it runs;
    # the loop adds its one hub. A descriptor per run for the caller would
    # double the count.
    assert during - before <= RUNS + 1, (before, during)
    assert_no_children()


def test_a_loops_hub_serves_every_burst_and_is_closed_with_its_loop() -> None:
    asyncio.run(fixture_cmd("echo", "warm-up").run())
    fds = open_fds()
    hubless = eventfds()

    async def two_bursts() -> None:
        between: list[set[int]] = []
        for _ in range(2):
            runs = [fixture_cmd("echo", index).run() for index in range(10)]
            await asyncio.gather(*runs)
            between.append(open_fds())
        # The loop's own descriptors and its one hub, the same after each
        # burst: the hub is neither closed nor made again per burst.
        assert between[0] == between[1]
        assert eventfds() == hubless + 1

    # No garbage collection: the hub is closed when the loop closes, not
    # merely freed with the loop.
    gc.disable()
    try:
        asyncio.run(two_bursts())
    finally:
        gc.enable()
    assert open_fds() == fds


def test_runs_on_two_loops_in_two_threads_each_finish_through_their_own_hub() -> None:
    results: dict[int, list[str | None]] = {}

    async def batch(thread: int) -> list[str | None]:
        runs = (fixture_cmd("echo", thread, index).run() for index in range(20))
        return [result.stdout for result in await asyncio.gather(*runs)]

    def worker(thread: int) -> None:
        results[thread] = asyncio.run(batch(thread))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: [f"{n} {index}\n" for index in range(20)] for n in range(2)}
    assert_no_children()
