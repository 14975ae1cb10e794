"""Watching a process and its asyncio event loop while a batch of runs goes on.

- A sampler process (``python -m benchmarks.loop_watch PID``) reads the
  process's thread and descriptor counts every millisecond. Not a task: it
  keeps sampling while the loop is blocked (asyncio's spawns block the loop
  while its waiter threads come and go); and not a thread, which would
  compete with the loop for the GIL (the loop thread waits whenever the
  sampler is preempted while holding it).
- A ticker task on the loop records the longest gap between two ticks beyond
  their sleep: the loop's worst stall in wall time. On a small machine that
  includes the loop thread waiting for a CPU while the children it started
  (or anything else) run.
- The loop's selector times every step of the loop, from one return of
  ``select`` to the next call, and :class:`StepClock` times every step of one
  coroutine: its CPU time, and its time without preemption: wall time minus
  the time the loop thread was runnable but waited for a CPU (from its
  scheduler statistics, ``/proc/self/task/TID/schedstat``), that is the time
  the loop itself was busy or blocked (in a system call, on a lock, waiting
  for ``vfork``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import select
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Generator
from pathlib import Path
from typing import Any

TICK = 0.001  # seconds between two samples, and between two ticks


def open_descriptors(pid: int | str = "self") -> int:
    """The number of descriptors process ``pid`` has open.

    Since Linux 6.2 the size of ``/proc/PID/fd`` is that number (one
    ``stat``, no descriptor opened); older kernels report 0, so list it.
    """
    directory = Path(f"/proc/{pid}/fd")
    size = directory.stat().st_size
    if size > 0:
        return size
    listed = sum(1 for _ in directory.iterdir())
    return listed - 1 if pid == "self" else listed  # the listing's own descriptor


def thread_count(pid: int | str = "self") -> int:
    """The number of threads of process ``pid`` (``Threads:`` in ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    msg = f"no `Threads:` line in /proc/{pid}/status"
    raise RuntimeError(msg)


def sample(pid: int) -> None:
    """The sampler process: peaks of ``pid``'s threads and descriptors, every
    ``TICK`` until stdin has a line (or ends), then printed as one line."""
    print("ready", flush=True)
    peak_threads = peak_descriptors = 0
    while True:
        peak_descriptors = max(peak_descriptors, open_descriptors(pid))
        peak_threads = max(peak_threads, thread_count(pid))
        if select.select([sys.stdin], [], [], TICK)[0]:
            break
    print(peak_threads, peak_descriptors, flush=True)


class Sampler:
    """Runs :func:`sample` on this process in a separate process."""

    def __init__(self) -> None:
        root = Path(__file__).resolve().parent.parent
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.loop_watch", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
        )
        assert self._process.stdout is not None
        if self._process.stdout.readline() != "ready\n":
            msg = "the sampler process did not start"
            raise RuntimeError(msg)

    def stop(self) -> tuple[int, int]:
        """The peak thread and descriptor counts."""
        stdout, _ = self._process.communicate("stop\n", timeout=10)
        threads, descriptors = stdout.split()
        return int(threads), int(descriptors)


@dataclasses.dataclass(frozen=True)
class Reading:
    """A thread's clocks at one moment, in seconds."""

    wall: float
    on_cpu: float
    waiting_for_cpu: float


class ThreadClock:
    """The clocks of the thread that creates it and reads them: wall time,
    CPU time, and from its ``schedstat`` its time runnable but waiting for a
    CPU. (``schedstat``'s own CPU time lags: it is updated at scheduler
    events, not on each read.)"""

    def __init__(self) -> None:
        path = f"/proc/self/task/{threading.get_native_id()}/schedstat"
        try:
            self._fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            msg = f"`{path}` is missing: the kernel keeps no scheduler statistics"
            raise RuntimeError(msg) from None

    def read(self) -> Reading:
        waiting = int(os.pread(self._fd, 128, 0).split()[1])
        return Reading(time.perf_counter(), time.thread_time(), waiting / 1e9)

    def close(self) -> None:
        os.close(self._fd)


@dataclasses.dataclass
class WorstStep:
    """The worst of a series of steps: CPU time, and time without preemption."""

    cpu: float = 0.0
    unpreempted: float = 0.0

    def add(self, began: Reading, ended: Reading) -> None:
        self.cpu = max(self.cpu, ended.on_cpu - began.on_cpu)
        waited = ended.waiting_for_cpu - began.waiting_for_cpu
        self.unpreempted = max(self.unpreempted, ended.wall - began.wall - waited)


class ClockedSelector(selectors.DefaultSelector):
    """The event loop's selector, timing each step of the loop (see the module's docs)."""

    def __init__(self, clock: ThreadClock) -> None:
        super().__init__()
        self.clock = clock
        self.steps = WorstStep()
        self._resumed: Reading | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if self._resumed is not None:
            self.steps.add(self._resumed, self.clock.read())
        try:
            return super().select(timeout)
        finally:
            self._resumed = self.clock.read()


class StepClock:
    """Awaits ``coro``, adding each of its steps (from one resumption to the
    next suspension) to ``steps``."""

    def __init__(
        self, coro: Coroutine[Any, Any, Any], clock: ThreadClock, steps: WorstStep
    ) -> None:
        self._coro = coro
        self._clock = clock
        self._steps = steps

    def __await__(self) -> Generator[Any, Any, Any]:
        value: Any = None
        error: BaseException | None = None
        while True:
            began = self._clock.read()
            try:
                yielded = self._coro.send(value) if error is None else self._coro.throw(error)
            except StopIteration as stop:
                self._steps.add(began, self._clock.read())
                return stop.value
            self._steps.add(began, self._clock.read())
            try:
                value, error = (yield yielded), None
            except BaseException as exc:  # handed to the coroutine
                value, error = None, exc


class Watch:
    """What a batch does to the process and to its event loop (see the module's docs)."""

    def __init__(self, selector: ClockedSelector) -> None:
        self.peak_threads = 0
        self.peak_descriptors = 0
        self.worst_stall = 0.0
        self.loop_steps = WorstStep()
        self.run_steps = WorstStep()
        self._selector = selector

    def clocked(self, coro: Coroutine[Any, Any, Any]) -> StepClock:
        """``coro``, its steps added to :attr:`run_steps`."""
        return StepClock(coro, self._selector.clock, self.run_steps)

    @property
    def threads_besides_main(self) -> int:
        """The peak thread count without the main thread."""
        return self.peak_threads - 1

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        """Sample, tick and time the loop's steps while the body runs."""
        sampler = Sampler()
        ticker = asyncio.create_task(self._tick())
        await asyncio.sleep(0)  # the ticker's first interval starts now
        self._selector.steps = self.loop_steps
        try:
            yield
        finally:
            self._selector.steps = WorstStep()
            ticker.cancel()
            self.peak_threads, self.peak_descriptors = sampler.stop()

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(TICK)
            now = time.perf_counter()
            self.worst_stall = max(self.worst_stall, now - last - TICK)
            last = now


if __name__ == "__main__":
    sample(int(sys.argv[1]))
