"""Many short commands with a concurrency limit: 200 commands, at most 16 at a time.

Every implementation runs the fixture program's ``echo`` (``$CUPRUM_FIXTURE``)
200 times, at most 16 at once, captures each command's stdout and checks it.
Each run first performs one untimed batch of 16 (imports, caches, first
spawns), then times one full batch; the table shows milliseconds per batch.

Implementations:

- cuprum ``await run_concurrent(..., config=ConcurrentConfig(concurrency=16))``
  and its blocking twin ``run_concurrent_sync``;
- ``asyncio.gather`` over ``asyncio.create_subprocess_exec`` +
  ``communicate()``, gated by an ``asyncio.Semaphore(16)``;
- a ``ThreadPoolExecutor(16)`` running ``subprocess.run(capture_output=True)``.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from benchmarks.harness import Implementation, Metric, Scenario, Target, register
from benchmarks.programs import cuprum_builder, fixture_path

if TYPE_CHECKING:
    from cuprum.sh import SafeCmd

COMMANDS = 200
QUICK_COMMANDS = 100
SMOKE_COMMANDS = 16
LIMIT = 16
WARMUP_COMMANDS = 16


def _argvs(count: int) -> list[list[str]]:
    fixture = fixture_path()
    return [[fixture, "echo", f"command-{index}"] for index in range(count)]


def _expected(count: int) -> list[str]:
    return [f"command-{index}\n" for index in range(count)]


def _cuprum_commands(argvs: list[list[str]]) -> list[SafeCmd]:
    builder = cuprum_builder(argvs[0][0])
    return [builder(*argv[1:]) for argv in argvs]


def run_cuprum_async(argvs: list[list[str]]) -> list[str]:
    """``await run_concurrent(...)`` with ``concurrency=16``; the captured stdouts."""
    from cuprum.concurrent import ConcurrentConfig, run_concurrent

    commands = _cuprum_commands(argvs)
    config = ConcurrentConfig(concurrency=LIMIT)
    outcome = asyncio.run(run_concurrent(*commands, config=config))
    return [result.stdout or "" for result in outcome.results]


def run_cuprum_sync(argvs: list[list[str]]) -> list[str]:
    """``run_concurrent_sync(...)`` with ``concurrency=16``; the captured stdouts."""
    from cuprum.concurrent import ConcurrentConfig, run_concurrent_sync

    commands = _cuprum_commands(argvs)
    outcome = run_concurrent_sync(*commands, config=ConcurrentConfig(concurrency=LIMIT))
    return [result.stdout or "" for result in outcome.results]


def run_asyncio(argvs: list[list[str]]) -> list[str]:
    """``asyncio.gather`` over ``create_subprocess_exec`` with a semaphore of 16."""

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
    """A ``ThreadPoolExecutor(16)`` running ``subprocess.run(capture_output=True)``."""

    def one(argv: list[str]) -> str:
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        return done.stdout

    with ThreadPoolExecutor(max_workers=LIMIT) as pool:
        return list(pool.map(one, argvs))


RUNNERS: dict[str, Callable[[list[list[str]]], list[str]]] = {
    "cuprum": run_cuprum_async,
    "cuprum-sync": run_cuprum_sync,
    "asyncio": run_asyncio,
    "threads": run_threads,
}


def measure(implementation: str, commands: int) -> float:
    """One untimed warm-up batch, then the seconds one batch of ``commands`` takes."""
    runner = RUNNERS[implementation]
    for count in (WARMUP_COMMANDS, commands):
        argvs = _argvs(count)
        started = time.perf_counter()
        outputs = runner(argvs)
        elapsed = time.perf_counter() - started
        if outputs != _expected(count):
            msg = f"{implementation}: unexpected output from the batch of {count} commands"
            raise RuntimeError(msg)
    return elapsed


PER_BATCH = Metric(
    unit="ms/batch",
    value=lambda _commands, seconds: seconds * 1e3,
    higher_is_better=False,
    digits=1,
    describe=lambda commands: (
        f"{commands} commands, at most {LIMIT} at a time, after an untimed batch of "
        f"{WARMUP_COMMANDS}"
    ),
    size_is_bytes=False,
)

IMPLEMENTATIONS = (
    Implementation("cuprum", "cuprum `await run_concurrent()`"),
    Implementation("cuprum-sync", "cuprum `run_concurrent_sync()`"),
    Implementation("asyncio", "`asyncio.gather` + `create_subprocess_exec` + semaphore"),
    Implementation("threads", "`ThreadPoolExecutor(16)` + `subprocess.run`"),
)

TARGETS = (
    # A batch through cuprum costs no more than the usual stdlib recipes.
    Target("cuprum", "asyncio", 1.0),
    Target("cuprum", "threads", 1.0),
    Target("cuprum-sync", "threads", 1.0),
)

register(
    Scenario(
        name="concurrent",
        title=f"{COMMANDS} short commands, concurrency limit {LIMIT}",
        description=(
            f"Runs the fixture program's `echo` {COMMANDS} times with at most {LIMIT} "
            "commands at once, capturing and checking every command's stdout, and reports "
            "the wall time of the whole batch. cuprum runs the batch with `run_concurrent` "
            "(and `run_concurrent_sync`); the peers are the two usual standard-library "
            "recipes: `asyncio.gather` over `asyncio.create_subprocess_exec` gated by an "
            f"`asyncio.Semaphore({LIMIT})`, and a `ThreadPoolExecutor({LIMIT})` running "
            "`subprocess.run`. Lower is better."
        ),
        size=COMMANDS,
        quick_size=QUICK_COMMANDS,
        smoke_size=SMOKE_COMMANDS,
        implementations=IMPLEMENTATIONS,
        baseline="threads",
        measure=measure,
        targets=TARGETS,
        metric=PER_BATCH,
    )
)
