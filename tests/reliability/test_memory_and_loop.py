"""§12.5: memory and the event loop."""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Coroutine, Generator
from pathlib import Path
from typing import Any

from cuprum import ExecutionContext, RunOutputOptions
from cuprum.concurrent import ConcurrentConfig, run_concurrent
from cuprum.sh import SafeCmdBuilder
from helpers import fixture_cmd
from support import python

HERE = Path(__file__).resolve().parent


class Ticker:
    """Measures the event loop's worst stall: the longest gap between two
    wake-ups of a task that asks to wake every millisecond."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._stop = False

    async def run(self) -> None:
        last = time.perf_counter()
        while not self._stop:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            self.worst = max(self.worst, now - last - 0.001)
            last = now

    def stop(self) -> None:
        self._stop = True


def test_bytes_stdin_is_not_copied_and_does_not_block_the_loop() -> None:
    """1 GiB fed as ``bytes``: peak RSS at most payload + 64 MiB, and the
    event loop is never blocked more than 10 ms (asserted with a margin for
    a loaded machine: the promise is about copies, which take seconds)."""
    proc = python(
        """
        import asyncio, resource, time
        from cuprum import RunOutputOptions, StdinInput
        from helpers import fixture_cmd
        from test_memory_and_loop import Ticker

        data = b"x" * (1 << 30)
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        async def main():
            ticker = Ticker()
            task = asyncio.create_task(ticker.run())
            result = await fixture_cmd("count").run(stdin=StdinInput(data=data))
            ticker.stop()
            await task
            return result.stdout.strip(), ticker.worst

        count, worst = asyncio.run(main())
        synced = fixture_cmd("count").run_sync(stdin=StdinInput(data=data)).stdout.strip()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(count, synced, (peak - baseline) // 1024, round(worst * 1000, 3))
        """,
        env={"PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent)])},
    )
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    count, synced, extra_mib, worst_ms = out.split()
    assert count == synced == str(1 << 30)
    assert int(extra_mib) <= 64
    assert float(worst_ms) < 10 + 40


class StepClock:
    """Wraps a coroutine and records the loop thread's CPU time spent in
    each of its steps (from one resumption to the next suspension). CPU
    time, not wall time: on a loaded machine the loop thread may be
    preempted by the very children it starts, which is not blocking."""

    def __init__(self, coro: Coroutine[Any, Any, Any], steps: list[float]) -> None:
        self._coro = coro
        self._steps = steps

    def __await__(self) -> Generator[Any, Any, Any]:
        value: Any = None
        error: BaseException | None = None
        while True:
            began = time.thread_time()
            try:
                yielded = self._coro.send(value) if error is None else self._coro.throw(error)
            except StopIteration as stop:
                self._steps.append(time.thread_time() - began)
                return stop.value
            self._steps.append(time.thread_time() - began)
            try:
                value, error = (yield yielded), None
            except BaseException as exc:
                value, error = None, exc


def test_no_step_of_an_awaited_run_blocks_the_loop(fx: SafeCmdBuilder) -> None:
    """Spawning, pipe creation and teardown happen on the engine's threads:
    no step of 100 concurrent runs costs the loop thread 5 ms (a step that
    spawned on the loop thread would cost ~1 ms per process plus the wait
    for `exec`; the margin covers a slow machine)."""
    steps: list[float] = []

    async def clocked(index: int) -> Any:
        return await StepClock(fx("echo", index).run(), steps)

    async def main() -> list[Any]:
        await fx("echo", "warm-up").run()  # first use: lazy imports, engine threads
        return await asyncio.gather(*(clocked(i) for i in range(100)))

    results = asyncio.run(main())
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(100)]
    assert max(steps) < 0.005


def test_concurrent_runs_echoing_to_one_sink_never_interleave_inside_a_line() -> None:
    read_end, write_end = os.pipe()
    received: list[bytes] = []

    def drain() -> None:
        with os.fdopen(read_end, "rb") as source:
            received.append(source.read())

    reader = threading.Thread(target=drain)
    reader.start()
    with os.fdopen(write_end, "w") as sink:
        config = ConcurrentConfig(
            concurrency=8,
            capture=False,
            echo=True,
            context=ExecutionContext(stdout_sink=sink),
        )
        commands = [fixture_cmd("lines", 5000) for _ in range(8)]
        outcome = asyncio.run(run_concurrent(*commands, config=config))
        assert outcome.ok
    reader.join()
    lines = received[0].decode().splitlines()
    assert len(lines) == 8 * 5000
    assert all(re.fullmatch(r"line \d+", line) for line in lines)
    assert set(Counter(lines).values()) == {8}


def test_echo_of_a_final_partial_line_is_written_at_end_of_file(fx: SafeCmdBuilder) -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as sink:
        fx("hex", "6c696e650a7461696c").run_sync(
            output=RunOutputOptions(capture=False, echo=True),
            context=ExecutionContext(stdout_sink=sink),
        )
    with os.fdopen(read_end, "rb") as source:
        assert source.read() == b"line\ntail"
