"""Per-command overhead: a command that does nothing, run 300 times in a row.

Two scenarios, one per program: the fixture's ``exit 0`` and ``/bin/true``.
Each run first makes a few untimed calls (imports, caches, first spawn),
then times ``size`` sequential calls; the table shows microseconds per call.

Implementations, all waiting for each call before the next:

- cuprum ``run_sync()`` and ``await run()`` with the default output options
  (stdout and stderr captured through pipes), and ``run_sync()`` with
  ``capture=False`` (output to the null device);
- ``subprocess.run(capture_output=True)``;
- plumbum ``cmd()`` and sh ``cmd()`` (both capture by default);
- the floor: bare ``os.posix_spawn`` + ``os.waitpid``, no pipes at all.
"""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
import time
from collections.abc import Callable

from benchmarks.harness import Implementation, Metric, Scenario, Target, register
from benchmarks.programs import BIN_TRUE, check, cuprum_builder, fixture_path

CALLS = 300
QUICK_CALLS = 100
SMOKE_CALLS = 5
WARMUP_CALLS = 10


def _argv(program: str) -> list[str]:
    if program == "fixture":
        return [fixture_path(), "exit", "0"]
    return [BIN_TRUE]


def _caller(implementation: str, argv: list[str]) -> Callable[[], object]:
    """One call of ``argv`` by ``implementation``, checked for success."""
    if implementation in {"cuprum-sync", "cuprum-nocapture"}:
        from cuprum import RunOutputOptions

        command = cuprum_builder(argv[0])(*argv[1:])
        output = RunOutputOptions(capture=implementation == "cuprum-sync")

        def cuprum_call() -> None:
            check(implementation, command.run_sync(output=output).exit_code, 0)

        return cuprum_call
    if implementation == "subprocess":

        def subprocess_call() -> None:
            done = subprocess.run(argv, capture_output=True, check=False)
            check(implementation, done.returncode, 0)

        return subprocess_call
    if implementation == "plumbum":
        from plumbum import local

        # A bound plumbum command raises ProcessExecutionError on a non-zero exit.
        return local[argv[0]][tuple(argv[1:])]
    if implementation == "sh":
        import sh

        # A baked sh command raises ErrorReturnCode on a non-zero exit.
        return sh.Command(argv[0]).bake(*argv[1:])
    if implementation == "posix-spawn":
        path, environ = argv[0], dict(os.environ)

        def spawn_call() -> None:
            pid = os.posix_spawn(path, argv, environ)
            _, status = os.waitpid(pid, 0)
            check(implementation, os.waitstatus_to_exitcode(status), 0)

        return spawn_call
    msg = f"unknown implementation {implementation!r}"
    raise ValueError(msg)


async def _cuprum_async(argv: list[str], calls: int) -> float:
    command = cuprum_builder(argv[0])(*argv[1:])
    for _ in range(WARMUP_CALLS):
        check("cuprum-async", (await command.run()).exit_code, 0)
    started = time.perf_counter()
    for _ in range(calls):
        check("cuprum-async", (await command.run()).exit_code, 0)
    return time.perf_counter() - started


def measure(program: str, implementation: str, calls: int) -> float:
    argv = _argv(program)
    if implementation == "cuprum-async":
        return asyncio.run(_cuprum_async(argv, calls))
    call = _caller(implementation, argv)
    for _ in range(WARMUP_CALLS):
        call()
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return time.perf_counter() - started


PER_CALL = Metric(
    unit="µs/call",
    value=lambda calls, seconds: seconds / calls * 1e6,
    higher_is_better=False,
    digits=0,
    describe=lambda calls: f"{calls} sequential calls per run (after {WARMUP_CALLS} untimed)",
    size_is_bytes=False,
)

IMPLEMENTATIONS = (
    Implementation("cuprum-sync", "cuprum `run_sync()`"),
    Implementation("cuprum-async", "cuprum `await run()`"),
    Implementation("cuprum-nocapture", "cuprum `run_sync()`, capture=False"),
    Implementation("subprocess", "`subprocess.run(capture_output=True)`"),
    Implementation("plumbum", "plumbum `cmd()`"),
    Implementation("sh", "sh `cmd()`"),
    Implementation("posix-spawn", "`os.posix_spawn` + `waitpid` (floor)"),
)

TARGETS = (
    # Overhead over the bare spawn floor stays within 20 %...
    Target("cuprum-sync", "posix-spawn", 1.2),
    Target("cuprum-async", "posix-spawn", 1.2),
    # ...and below what the standard library costs.
    Target("cuprum-sync", "subprocess", 1.0),
    Target("cuprum-async", "subprocess", 1.0),
)

for _program, _title, _what in (
    ("fixture", "the fixture's `exit 0`", "the fixture program's `exit 0` (a small Rust binary)"),
    ("true", "`/bin/true`", "`/bin/true` (through a catalogue for cuprum)"),
):
    register(
        Scenario(
            name="overhead" if _program == "fixture" else "overhead-true",
            title=f"Per-command overhead: {_title}",
            description=(
                f"Runs {_what} again and again, each call awaited before the next, "
                "and reports the wall time per call. cuprum runs with the default output "
                "options (stdout and stderr captured through pipes), once more with "
                "`capture=False`; `subprocess.run`, plumbum and sh capture too; the floor "
                "is a bare `os.posix_spawn` + `os.waitpid` with no pipes. Lower is better."
            ),
            size=CALLS,
            quick_size=QUICK_CALLS,
            smoke_size=SMOKE_CALLS,
            implementations=IMPLEMENTATIONS,
            baseline="posix-spawn",
            measure=functools.partial(measure, _program),
            targets=TARGETS,
            metric=PER_CALL,
        )
    )
