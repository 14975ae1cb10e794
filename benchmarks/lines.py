"""Line events and line iteration (S4): 10 million lines, one by one.

The fixture's ``lines N`` writes ``line <i>`` N times. cuprum runs it with a
counting observe hook (``cuprum.observe``) that sees one ``stdout`` event per
line, and again without a hook; a live process (``start()``) is iterated
with ``for line in proc.stdout`` and, under asyncio, ``async for``; the
standard library iterates ``for line in proc.stdout`` on a text-mode
``Popen`` and plumbum its ``iter_lines()``. Every run checks the count.
cuprum's ``run_sync()`` also captures the whole output (default options);
the loops keep nothing.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from benchmarks.harness import Implementation, Metric, Scenario, Target, register
from benchmarks.programs import check, cuprum_builder, fixture_path

LINES = 10_000_000


def _cuprum_hook(argv: list[str]) -> Callable[[], int]:
    from cuprum import ExecEvent, observe

    command = cuprum_builder(argv[0])(*argv[1:])

    def run() -> int:
        count = 0

        def count_lines(event: ExecEvent) -> None:
            nonlocal count
            if event.phase == "stdout":
                count += 1

        with observe(count_lines):
            command.run_sync()
        return count

    return run


def _cuprum(argv: list[str]) -> Callable[[], int]:
    command = cuprum_builder(argv[0])(*argv[1:])
    return lambda: (command.run_sync().stdout or "").count("\n")


def _cuprum_iter(argv: list[str]) -> Callable[[], int]:
    command = cuprum_builder(argv[0])(*argv[1:])

    def run() -> int:
        count = 0
        with command.start() as proc:
            assert proc.stdout is not None
            for _ in proc.stdout:
                count += 1
            proc.wait_sync()
        return count

    return run


def _cuprum_aiter(argv: list[str]) -> Callable[[], int]:
    import asyncio

    command = cuprum_builder(argv[0])(*argv[1:])

    async def main() -> int:
        count = 0
        async with command.start() as proc:
            assert proc.stdout is not None
            async for _ in proc.stdout:
                count += 1
            await proc.wait()
        return count

    return lambda: asyncio.run(main())


def _plumbum(argv: list[str]) -> Callable[[], int]:
    from plumbum import local

    command = local[argv[0]][argv[1:]]

    def run() -> int:
        count = 0
        proc = command.popen()
        for _ in proc.iter_lines():
            count += 1
        return count

    return run


def _subprocess(argv: list[str]) -> Callable[[], int]:
    return lambda: _subprocess_loop(argv)


def _subprocess_loop(argv: list[str]) -> int:
    count = 0
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for _ in proc.stdout:
            count += 1
    check("subprocess", proc.returncode, 0)
    return count


PREPARE = {
    "cuprum-hook": _cuprum_hook,
    "cuprum": _cuprum,
    "cuprum-iter": _cuprum_iter,
    "cuprum-aiter": _cuprum_aiter,
    "subprocess": _subprocess,
    "plumbum": _plumbum,
}


def measure(implementation: str, size: int) -> float:
    run = PREPARE[implementation]([fixture_path(), "lines", str(size)])
    started = time.perf_counter()
    count = run()
    elapsed = time.perf_counter() - started
    check(implementation, count, size)
    return elapsed


SCENARIO = register(
    Scenario(
        name="lines",
        title="Line events and line iteration: 10 million lines",
        description=(
            "`lines N` writes N short lines. cuprum `run_sync()` with a counting "
            "`cuprum.observe` hook (one `stdout` event per line), the same run without a "
            "hook (the count comes from the captured text), and a text-mode "
            "`subprocess.Popen` iterated with `for line in proc.stdout`. cuprum captures "
            "the whole output in both runs. A live process (`start()`) iterated with "
            "`for line in proc.stdout` and, under asyncio, `async for`, against plumbum's "
            "`popen().iter_lines()`; the loops keep nothing. Goals in absolute terms: "
            "sync iteration >= 15 M lines/s, async >= 10 M, the per-line hook >= 1.5 M "
            "(stated below as ratios to the `Popen` loop's ~12 M lines/s)."
        ),
        size=LINES,
        quick_size=LINES // 20,
        smoke_size=1000,
        implementations=(
            Implementation("cuprum-hook", "cuprum + counting observe hook"),
            Implementation("cuprum", "cuprum, no hook"),
            Implementation("cuprum-iter", "cuprum `for line in start().stdout`"),
            Implementation("cuprum-aiter", "cuprum `async for line in start().stdout`"),
            Implementation("subprocess", "`for line in Popen(...).stdout`"),
            Implementation("plumbum", "plumbum `popen().iter_lines()`"),
        ),
        targets=(
            Target("cuprum-iter", "subprocess", 1.25),
            Target("cuprum-aiter", "subprocess", 0.83),
            Target("cuprum-hook", "subprocess", 0.125),
        ),
        baseline="subprocess",
        measure=measure,
        metric=Metric(
            unit="M lines/s",
            value=lambda lines, seconds: lines / seconds / 1e6,
            describe=lambda lines: f"{lines:,} lines",
            size_is_bytes=False,
        ),
        show_memory=True,
    )
)
