"""Many awaited runs at once: 1,000 (and 100) concurrent ``/bin/true``.

Every implementation starts ``size`` runs of ``/bin/true`` at once with
``asyncio.gather``, capturing stdout and stderr through pipes, and waits for
all of them; the table shows milliseconds per batch. Each run first performs
an untimed batch of ten (imports, caches, the engine's threads), then times
one batch while :mod:`benchmarks.loop_watch` watches the process:

- ``threads``: the peak number of threads besides the main one (for
  cuprum, the engine's threads);
- ``descriptors``: the peak number of open descriptors (the worker's own
  few included);
- ``leaked``: descriptors still open after the batch (given up to a second
  to close) minus those open before it;
- ``stall``: the event loop's worst stall in wall time, as a ticker task
  sees it;
- ``loop_cpu`` and ``loop_busy``: the loop's worst step, in CPU time and in
  time without preemption (CPU time plus time blocked);
- ``run_busy``: the worst single step of one run's coroutine without
  preemption: how long one run itself blocks the loop (``spec/beyond.md``
  §12.5).

Implementations: cuprum ``await run()`` and ``asyncio.create_subprocess_exec``
+ ``communicate()``, gathered alike.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import subprocess
import time
from collections.abc import Callable, Coroutine
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
from benchmarks.loop_watch import TICK, ClockedSelector, ThreadClock, Watch, open_descriptors
from benchmarks.programs import BIN_TRUE, check, cuprum_builder

WARMUP_RUNS = 10
SETTLE = 1.0  # seconds the batch's descriptors get to close after it
QUIET = 0.02  # seconds watched for the descriptor count before the batch


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


async def _quiet_descriptors() -> int:
    """The descriptors open once the warm-up's runs are fully closed: the
    fewest seen over ``QUIET`` seconds (an engine thread closes the last
    runs' descriptors just after they returned)."""
    gc.collect()
    fewest = open_descriptors()
    deadline = time.monotonic() + QUIET
    while time.monotonic() < deadline:
        await asyncio.sleep(TICK)
        fewest = min(fewest, open_descriptors())
    return fewest


async def _leaked_descriptors(before: int) -> int:
    """Descriptors still open beyond ``before`` once the batch is over.

    Handles that wait for the cycle collector, or descriptors an engine
    thread closes just after the last run returned, are not leaked: collect
    and let the loop run until the count is back or ``SETTLE`` seconds passed.
    """
    deadline = time.monotonic() + SETTLE
    while True:
        gc.collect()
        extra = open_descriptors() - before
        if extra <= 0 or time.monotonic() > deadline:
            return extra
        await asyncio.sleep(TICK)


async def _batch(implementation: str, runs: int, selector: ClockedSelector) -> Run:
    one = STARTERS[implementation]()
    check(
        implementation,
        await asyncio.gather(*(one() for _ in range(WARMUP_RUNS))),
        [0] * WARMUP_RUNS,
    )
    before = await _quiet_descriptors()
    watch = Watch(selector)
    async with watch.watching():
        started = time.perf_counter()
        clocked = [watch.clocked(one()) for _ in range(runs)]
        codes = await asyncio.gather(*clocked)
        seconds = time.perf_counter() - started
    check(implementation, codes, [0] * runs)
    del clocked, codes
    leaked = await _leaked_descriptors(before)
    return Run(
        seconds,
        {
            "threads": watch.threads_besides_main,
            "descriptors": watch.peak_descriptors,
            "leaked": leaked,
            "stall": watch.worst_stall * 1e3,
            "loop_cpu": watch.loop_steps.cpu * 1e3,
            "loop_busy": watch.loop_steps.unpreempted * 1e3,
            "run_busy": watch.run_steps.unpreempted * 1e3,
        },
    )


def measure(implementation: str, runs: int) -> Run:
    # Two pipes per run: let a small default soft limit (often 1,024) not
    # decide the outcome; both implementations get the same limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1 << 16 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    clock = ThreadClock()  # the loop runs on this thread
    selector = ClockedSelector(clock)
    try:
        with asyncio.Runner(loop_factory=lambda: asyncio.SelectorEventLoop(selector)) as runner:
            return runner.run(_batch(implementation, runs, selector))
    finally:
        clock.close()


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
    Figure("loop_cpu", "worst loop step CPU", unit="ms", digits=2),
    Figure("loop_busy", "worst loop step excl. preemption", unit="ms", digits=2),
    Figure("run_busy", "worst run step excl. preemption", unit="ms", digits=2),
)

IMPLEMENTATIONS = (
    Implementation("cuprum", "cuprum `await run()`"),
    Implementation("asyncio", "`asyncio.create_subprocess_exec` + `communicate()`"),
)

DESCRIPTION = (
    "Starts {runs} runs of `/bin/true` at once with `asyncio.gather`, stdout and stderr "
    "captured through pipes, and reports the wall time of the batch; cuprum `await run()` "
    "against `asyncio.create_subprocess_exec` + `communicate()`. While the batch runs, a "
    "sampler process reads the worker's thread and descriptor counts every 1 ms: the table "
    "shows the peak number of threads besides the main one (for cuprum, the "
    "engine's threads; on Python 3.11 asyncio waits for each child on a thread of its own), "
    "and the peak number of open descriptors. Leaked descriptors are those still open after "
    "the batch (given up to a second and a garbage collection to close) minus those open "
    "before it. The loop's "
    "worst stall is the longest gap between two ticks of a ticker task beyond their 1 ms "
    "sleep, in wall time, so it includes the loop thread waiting for a CPU while the "
    "children run. The loop's selector times each step of the loop (from one return of "
    "`select` to the next call) from the loop thread's scheduler statistics: its CPU time, "
    "and its time excluding preemption (wall time minus the time the thread waited for a "
    "CPU: CPU time plus time blocked, for example while `vfork` waits for the child's "
    "`exec`). The worst run step is the same for the longest single step of one run's "
    "coroutine: how long one run itself blocks the loop. Lower is better."
)

# The reactor's goals: at most 8 engine threads, nothing left open, the
# loop's worst stall while the runs start under 5 ms per 100 runs started at
# once (judged in wall time and without preemption), no step of a run blocking
# the loop for 5 ms (spec/beyond.md §12.5), and 100 awaited spawns no slower
# than asyncio's.
for _name, _runs, _quick, _smoke, _peers in (
    ("reactor", 1000, 300, 20, ()),
    ("reactor-100", 100, 100, 10, (Target("cuprum", "asyncio", 1.0),)),
):
    _stall = 5 * _runs / 100
    _targets: tuple[Target | Bound, ...] = (
        *_peers,
        Bound("cuprum", 8, figure="threads"),
        Bound("cuprum", 0, figure="leaked", worst=True),
        Bound("cuprum", _stall, figure="stall", strict=True),
        Bound("cuprum", _stall, figure="loop_busy", strict=True),
        Bound("cuprum", 5, figure="run_busy", strict=True),
    )
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
