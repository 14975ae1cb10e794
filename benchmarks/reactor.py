"""Many awaited runs at once: 1,000 (and 100) concurrent ``/bin/true``.

Every implementation starts ``size`` runs of ``/bin/true`` at once with
``asyncio.gather``, capturing stdout and stderr through pipes, and waits for
all of them; the table shows milliseconds per batch. Each run first performs
an untimed batch of ten (imports, caches, the engine's threads), then times
one batch while it watches the process:

- ``threads``: the peak number of threads besides the main one (for cuprum,
  the engine's threads), read from ``/proc/self/status``;
- ``descriptors``: the peak number of open descriptors (``/proc/self/fd``);
- ``leaked``: descriptors open after the batch minus those open before it,
  both counted after a garbage collection;
- ``stall``: the event loop's worst stall, as a ticker task sees it: the
  longest gap between two ticks beyond the 1 ms it sleeps. Wall-clock time:
  on a small machine it includes the loop thread being preempted by the
  children it started;
- ``step_cpu``: the loop thread's CPU time in the worst single step of one
  run's coroutine (from one resumption to its next suspension), so time the
  thread spent preempted does not count: this is what a run itself blocks
  the loop (``spec/beyond.md`` §12.5).

A sampler thread reads both counts every 1 ms (each a single small read, no
directory listing), so it keeps sampling while the loop is blocked.

Implementations: cuprum ``await run()`` and ``asyncio.create_subprocess_exec``
+ ``communicate()``, gathered alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import resource
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    Bound,
    Figure,
    Implementation,
    Metric,
    Run,
    Scenario,
    Target,
    register,
)
from benchmarks.programs import BIN_TRUE, check, cuprum_builder

WARMUP_RUNS = 10
TICK = 0.001  # seconds the ticker sleeps between two samples


def open_descriptors() -> int:
    """The number of descriptors this process has open.

    Since Linux 6.2 the size of ``/proc/self/fd`` is that number (one
    ``stat``, no descriptor opened); older kernels report 0, so list it.
    """
    size = Path("/proc/self/fd").stat().st_size
    return size if size > 0 else sum(1 for _ in Path("/proc/self/fd").iterdir()) - 1


def thread_count() -> int:
    """The number of threads of this process (``Threads:`` in ``/proc/self/status``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    msg = "no `Threads:` line in /proc/self/status"
    raise RuntimeError(msg)


class Watch:
    """What a batch does to the process and to its event loop.

    A sampler thread reads the thread and descriptor counts every 1 ms; a
    thread keeps sampling while the loop is blocked, where a task could not
    (asyncio's spawns block the loop while its waiter threads come and go).
    A ticker task on the loop records the longest gap between its ticks.
    """

    def __init__(self) -> None:
        self.peak_threads = 0
        self.peak_descriptors = 0
        self.worst_stall = 0.0
        self.worst_step_cpu = 0.0
        self._stop = threading.Event()

    def _sample(self) -> None:
        self.peak_descriptors = max(self.peak_descriptors, open_descriptors())
        self.peak_threads = max(self.peak_threads, thread_count())

    def _sample_until_stopped(self) -> None:
        self._sample()
        while not self._stop.wait(TICK):
            self._sample()

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(TICK)
            now = time.perf_counter()
            self.worst_stall = max(self.worst_stall, now - last - TICK)
            last = now

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        """Sample and tick while the body runs."""
        sampler = threading.Thread(target=self._sample_until_stopped, name="sampler")
        sampler.start()
        ticker = asyncio.create_task(self._tick())
        await asyncio.sleep(0)  # the ticker's first interval starts now
        try:
            yield
        finally:
            ticker.cancel()
            self._stop.set()
            sampler.join()

    @property
    def threads_besides_main(self) -> int:
        """The peak thread count without the main thread and the sampler."""
        return self.peak_threads - 2


class StepClock:
    """Awaits ``coro``, charging the loop thread's CPU time of each of its steps to ``watch``."""

    def __init__(self, coro: Coroutine[Any, Any, int], watch: Watch) -> None:
        self._coro = coro
        self._watch = watch

    def __await__(self) -> Generator[Any, Any, int]:
        value: Any = None
        error: BaseException | None = None
        while True:
            began = time.thread_time()
            try:
                yielded = self._coro.send(value) if error is None else self._coro.throw(error)
            except StopIteration as stop:
                self._charge(began)
                return stop.value  # type: ignore[no-any-return]
            self._charge(began)
            try:
                value, error = (yield yielded), None
            except BaseException as exc:  # handed to the coroutine
                value, error = None, exc

    def _charge(self, began: float) -> None:
        self._watch.worst_step_cpu = max(self._watch.worst_step_cpu, time.thread_time() - began)


def _cuprum_starter() -> Callable[[], Coroutine[Any, Any, int]]:
    command = cuprum_builder(BIN_TRUE)()

    async def one() -> int:
        return (await command.run()).exit_code

    return one


def _asyncio_starter() -> Callable[[], Coroutine[Any, Any, int]]:
    async def one() -> int:
        process = await asyncio.create_subprocess_exec(
            BIN_TRUE, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        await process.communicate()
        assert process.returncode is not None
        return process.returncode

    return one


STARTERS: dict[str, Callable[[], Callable[[], Coroutine[Any, Any, int]]]] = {
    "cuprum": _cuprum_starter,
    "asyncio": _asyncio_starter,
}


async def _batch(implementation: str, runs: int) -> Run:
    one = STARTERS[implementation]()
    check(
        implementation,
        await asyncio.gather(*(one() for _ in range(WARMUP_RUNS))),
        [0] * WARMUP_RUNS,
    )
    # Descriptors still open once the batch's objects are garbage are leaked;
    # collect cycles first, so handles that only wait for the cycle collector
    # do not count.
    gc.collect()
    before = open_descriptors()
    watch = Watch()
    async with watch.watching():
        started = time.perf_counter()
        clocked: list[Awaitable[int]] = [StepClock(one(), watch) for _ in range(runs)]
        codes = await asyncio.gather(*clocked)
        seconds = time.perf_counter() - started
    check(implementation, codes, [0] * runs)
    del clocked, codes
    gc.collect()
    leaked = open_descriptors() - before
    return Run(
        seconds,
        {
            "threads": watch.threads_besides_main,
            "descriptors": watch.peak_descriptors,
            "leaked": leaked,
            "stall": watch.worst_stall * 1e3,
            "step_cpu": watch.worst_step_cpu * 1e3,
        },
    )


def measure(implementation: str, runs: int) -> Run:
    # Two pipes per run: let a small default soft limit (often 1,024) not
    # decide the outcome; both implementations get the same limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1 << 16 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return asyncio.run(_batch(implementation, runs))


PER_BATCH = Metric(
    unit="ms/batch",
    value=lambda _runs, seconds: seconds * 1e3,
    higher_is_better=False,
    digits=1,
    describe=lambda runs: (
        f"{runs:,} concurrent runs of `/bin/true`, after an untimed batch of {WARMUP_RUNS}"
    ),
    size_is_bytes=False,
)

FIGURES = (
    Figure("threads", "peak threads besides main"),
    Figure("descriptors", "peak descriptors"),
    Figure("leaked", "leaked descriptors"),
    Figure("stall", "worst loop stall", unit="ms", digits=2),
    Figure("step_cpu", "worst run step CPU", unit="ms", digits=2),
)

IMPLEMENTATIONS = (
    Implementation("cuprum", "cuprum `await run()`"),
    Implementation("asyncio", "`asyncio.create_subprocess_exec` + `communicate()`"),
)

DESCRIPTION = (
    "Starts {runs} runs of `/bin/true` at once with `asyncio.gather`, stdout and stderr "
    "captured through pipes, and reports the wall time of the batch; cuprum `await run()` "
    "against `asyncio.create_subprocess_exec` + `communicate()`. While the batch runs, a "
    "sampler thread reads the process's thread and descriptor counts every 1 ms: the table "
    "shows the peak number of threads besides the main one and the sampler (for cuprum, the "
    "engine's threads; on Python 3.11 asyncio waits for each child on a thread of its own), "
    "and the peak number of open descriptors. A ticker task on the event loop gives the "
    "loop's worst stall: the longest gap between two ticks beyond their 1 ms sleep, in wall "
    "time, so it includes the loop thread being preempted by the children. The worst run "
    "step is the loop thread's CPU time in the longest single step of one run's coroutine: "
    "how long one run itself blocks the loop. Leaked descriptors are those open after the "
    "batch minus those open before it, both counted after a garbage collection. Lower is "
    "better."
)

for _name, _runs, _quick, _smoke, _targets in (
    (
        "reactor",
        1000,
        300,
        20,
        (
            # The reactor's promises: a small fixed set of engine threads,
            # nothing left open, and (spec/beyond.md §12.5) no step of a run
            # blocking the loop for 5 ms; the loop's stall while the runs
            # start stays under 5 ms per 100 runs started at once.
            Bound("cuprum", 8, figure="threads"),
            Bound("cuprum", 0, figure="leaked", worst=True),
            Bound("cuprum", 5, figure="step_cpu", strict=True),
            Bound("cuprum", 50, figure="stall", strict=True),
        ),
    ),
    (
        "reactor-100",
        100,
        100,
        10,
        (
            # 100 awaited spawns cost no more than asyncio's own.
            Target("cuprum", "asyncio", 1.0),
            Bound("cuprum", 0, figure="leaked", worst=True),
            Bound("cuprum", 5, figure="step_cpu", strict=True),
            Bound("cuprum", 5, figure="stall", strict=True),
        ),
    ),
):
    register(
        Scenario(
            name=_name,
            title=f"{_runs:,} concurrent awaited `/bin/true`",
            description=DESCRIPTION.format(runs=f"{_runs:,}"),
            size=_runs,
            quick_size=_quick,
            smoke_size=_smoke,
            implementations=IMPLEMENTATIONS,
            baseline="asyncio",
            measure=measure,
            targets=_targets,
            metric=PER_BATCH,
            figures=FIGURES,
        )
    )
