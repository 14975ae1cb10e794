"""Benchmark: 200 short commands with a concurrency limit of 16.

Compared side by side, each capturing stdout of every command:

- ``cuprum``: :func:`cuprum.concurrent.run_concurrent` with ``concurrency=16``;
- ``asyncio``: ``asyncio.gather`` over ``asyncio.create_subprocess_exec``
  gated by an ``asyncio.Semaphore(16)``;
- ``threads``: a ``ThreadPoolExecutor(16)`` running ``subprocess.run``.

The command is the fixture program's ``echo`` (``$CUPRUM_FIXTURE``), so every
contender spawns the same tiny binary. Reports the median wall time of
several rounds per contender and its ratio to cuprum's.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cuprum._command import SafeCmd, make
from cuprum.catalogue import ProgramCatalogue, ProjectSettings
from cuprum.concurrent import ConcurrentConfig, run_concurrent
from cuprum.program import Program

NAME = "concurrent"
COMMANDS = 200
LIMIT = 16
ROUNDS = 7
SMOKE_COMMANDS = 20
SMOKE_ROUNDS = 1

_ROOT = Path(__file__).resolve().parent.parent


def fixture_path() -> str:
    """The fixture binary: ``$CUPRUM_FIXTURE`` or the release build."""
    return os.environ.get("CUPRUM_FIXTURE") or str(_ROOT / "target" / "release" / "cuprum-fixture")


def _argvs(count: int) -> list[list[str]]:
    fixture = fixture_path()
    return [[fixture, "echo", f"command-{index}"] for index in range(count)]


def _cuprum_commands(argvs: list[list[str]]) -> list[SafeCmd]:
    program = Program(argvs[0][0])
    project = ProjectSettings(
        name="benchmark", programs=(program,), documentation_locations=(), noise_rules=()
    )
    builder = make(program, catalogue=ProgramCatalogue(projects=(project,)))
    return [builder(*argv[1:]) for argv in argvs]


def run_cuprum(argvs: list[list[str]]) -> list[str]:
    """All commands through ``run_concurrent``; returns the captured stdouts."""
    commands = _cuprum_commands(argvs)
    config = ConcurrentConfig(concurrency=LIMIT)
    outcome = asyncio.run(run_concurrent(*commands, config=config))
    return [result.stdout or "" for result in outcome.results]


def run_asyncio(argvs: list[list[str]]) -> list[str]:
    """``asyncio.gather`` over ``create_subprocess_exec`` with a semaphore."""

    async def main() -> list[str]:
        semaphore = asyncio.Semaphore(LIMIT)

        async def one(argv: list[str]) -> str:
            async with semaphore:
                process = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
                stdout, _ = await process.communicate()
                return stdout.decode()

        return list(await asyncio.gather(*(one(argv) for argv in argvs)))

    return asyncio.run(main())


def run_threads(argvs: list[list[str]]) -> list[str]:
    """A ``ThreadPoolExecutor(16)`` running ``subprocess.run``."""

    def one(argv: list[str]) -> str:
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        return done.stdout

    with ThreadPoolExecutor(max_workers=LIMIT) as pool:
        return list(pool.map(one, argvs))


CONTENDERS: dict[str, Callable[[list[list[str]]], list[str]]] = {
    "cuprum": run_cuprum,
    "asyncio": run_asyncio,
    "threads": run_threads,
}


def run(smoke: bool) -> dict[str, object]:
    """Time every contender; ``smoke`` uses a tiny batch and one round.

    Returns a JSON-ready mapping: the scenario parameters, each contender's
    round times and median (seconds) and its median relative to cuprum's.
    """
    count = SMOKE_COMMANDS if smoke else COMMANDS
    rounds = SMOKE_ROUNDS if smoke else ROUNDS
    argvs = _argvs(count)
    expected = [f"command-{index}\n" for index in range(count)]
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for _ in range(rounds):
        # Interleave contenders round by round so drift affects all alike.
        for name, contender in CONTENDERS.items():
            start = time.perf_counter()
            outputs = contender(argvs)
            times[name].append(time.perf_counter() - start)
            if outputs != expected:
                msg = f"{name}: unexpected output from the benchmark commands"
                raise RuntimeError(msg)
    medians = {name: statistics.median(samples) for name, samples in times.items()}
    return {
        "scenario": NAME,
        "description": f"{count} short commands, concurrency limit {LIMIT}",
        "commands": count,
        "limit": LIMIT,
        "rounds": rounds,
        "unit": "s",
        "samples": times,
        "median_s": medians,
        "ratio_to_cuprum": {name: value / medians["cuprum"] for name, value in medians.items()},
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
