"""Capture throughput and peak memory: 1 GiB of text into a ``str``.

The fixture's ``spew N`` writes N bytes of printable ASCII (a newline every
64 bytes); each implementation captures all of it as decoded text and the run
checks the length. The worker's peak RSS is part of the figures.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from benchmarks.harness import GIB, Implementation, MemoryTarget, Scenario, Target, register
from benchmarks.programs import check, cuprum_builder, fixture_path


def _capture(implementation: str, argv: list[str]) -> Callable[[], str]:
    """The capturing call, prepared (imports, command objects) outside the timed part."""
    if implementation == "cuprum":
        command = cuprum_builder(argv[0])(*argv[1:])
        return lambda: command.run_sync().stdout or ""
    if implementation == "subprocess":
        return lambda: subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    if implementation == "plumbum":
        from plumbum import local

        return local[argv[0]][tuple(argv[1:])]
    msg = f"unknown implementation {implementation!r}"
    raise ValueError(msg)


def measure(implementation: str, size: int) -> float:
    capture = _capture(implementation, [fixture_path(), "spew", str(size)])
    started = time.perf_counter()
    text = capture()
    elapsed = time.perf_counter() - started
    check(implementation, len(text), size)
    return elapsed


SCENARIO = register(
    Scenario(
        name="capture",
        title="Capture: 1 GiB of text into a string",
        description=(
            "`spew N` writes N bytes of printable text; the whole output is captured and "
            "decoded to `str`. cuprum `run_sync()` with the default options (capture), "
            "`subprocess.run(capture_output=True, text=True)` and plumbum `cmd()` (which "
            "uses `Popen.communicate` and decodes). The table includes the worker's peak RSS."
        ),
        size=GIB,
        quick_size=GIB // 8,
        smoke_size=1 << 20,
        implementations=(
            Implementation("cuprum", "cuprum `run_sync()`"),
            Implementation("subprocess", "`subprocess.run(capture_output=True, text=True)`"),
            Implementation("plumbum", "plumbum `cmd()`"),
        ),
        baseline="subprocess",
        measure=measure,
        targets=(Target("cuprum", "subprocess", 2.0),),
        show_memory=True,
        memory_targets=(MemoryTarget("cuprum", 2.2),),
        skipped=(
            (
                "sh",
                "sh keeps output in a bounded buffer of 3 Mi chunks (`_internal_bufsize`), "
                "so 256 MiB of `spew` came back as 192 MiB, and it read at about 15 MiB/s "
                "(64 MiB took 4 s): 1 GiB cannot be captured whole in reasonable time.",
            ),
        ),
    )
)
