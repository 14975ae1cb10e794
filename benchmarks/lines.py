"""Line events: 10 million lines observed one by one.

The fixture's ``lines N`` writes ``line <i>`` N times. cuprum runs it with a
counting observe hook (``cuprum.observe``) that sees one ``stdout`` event per
line, and again without a hook; the standard library iterates
``for line in proc.stdout`` on a text-mode ``Popen`` and counts. Every run
checks the count. cuprum also captures the whole output (default options),
the ``Popen`` loop does not keep it.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from benchmarks.harness import Implementation, Metric, Scenario, register
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


PREPARE = {"cuprum-hook": _cuprum_hook, "cuprum": _cuprum, "subprocess": _subprocess}


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
        title="Line events: 10 million lines",
        description=(
            "`lines N` writes N short lines. cuprum `run_sync()` with a counting "
            "`cuprum.observe` hook (one `stdout` event per line), the same run without a "
            "hook (the count comes from the captured text), and a text-mode "
            "`subprocess.Popen` iterated with `for line in proc.stdout`. cuprum captures "
            "the whole output in both runs; the `Popen` loop keeps nothing."
        ),
        size=LINES,
        quick_size=LINES // 20,
        smoke_size=1000,
        implementations=(
            Implementation("cuprum-hook", "cuprum + counting observe hook"),
            Implementation("cuprum", "cuprum, no hook"),
            Implementation("subprocess", "`for line in Popen(...).stdout`"),
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
