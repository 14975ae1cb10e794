"""Pipeline throughput: 1 GiB through ``spew | cat | cat | count``.

Four stages of the fixture program, so three pipe hops; the last stage
prints the byte count it read, which every run checks. cuprum relays each
hop itself (splice with the default backend, the portable read/write loops
with ``CUPRUM_STREAM_BACKEND=python``); bash, a ``subprocess.Popen`` chain,
plumbum and sh connect the stages with direct kernel pipes, the limit any
relay is measured against.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable

from benchmarks.harness import GIB, Implementation, Scenario, Target, register
from benchmarks.programs import check, cuprum_builder, fixture_path


def _stages(size: int) -> list[list[str]]:
    fixture = fixture_path()
    return [[fixture, "spew", str(size)], [fixture, "cat"], [fixture, "cat"], [fixture, "count"]]


def _cuprum(stages: list[list[str]]) -> Callable[[], str]:
    builder = cuprum_builder(stages[0][0])
    first, second, *rest = (builder(*stage[1:]) for stage in stages)
    pipeline = first | second
    for command in rest:
        pipeline = pipeline | command

    def run() -> str:
        result = pipeline.run_sync()
        check("cuprum", result.ok, True)
        return result.stdout or ""

    return run


def _bash(stages: list[list[str]]) -> Callable[[], str]:
    argv = ["bash", "-c", " | ".join(shlex.join(stage) for stage in stages)]
    return lambda: subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def _popen(stages: list[list[str]]) -> Callable[[], str]:
    return lambda: _popen_chain(stages)


def _popen_chain(stages: list[list[str]]) -> str:
    procs: list[subprocess.Popen[bytes]] = []
    upstream = subprocess.DEVNULL
    for stage in stages:
        proc = subprocess.Popen(stage, stdin=upstream, stdout=subprocess.PIPE)
        if procs:
            # The next stage holds the read end now; drop ours so EOF propagates.
            assert procs[-1].stdout is not None
            procs[-1].stdout.close()
        upstream = proc.stdout
        procs.append(proc)
    stdout, _ = procs[-1].communicate()
    for proc in procs:
        check("popen", proc.wait(), 0)
    return stdout.decode()


def _plumbum(stages: list[list[str]]) -> Callable[[], str]:
    from plumbum import local

    commands = [local[stage[0]][tuple(stage[1:])] for stage in stages]
    chain = commands[0]
    for command in commands[1:]:
        chain = chain | command
    return chain


def _sh(stages: list[list[str]]) -> Callable[[], str]:
    import sh

    program = sh.Command(stages[0][0])

    def run() -> str:
        running = program(*stages[0][1:], _piped=True)
        for stage in stages[1:-1]:
            running = program(*stage[1:], _in=running, _piped=True)
        return str(program(*stages[-1][1:], _in=running))

    return run


PREPARE = {
    "cuprum": _cuprum,
    "cuprum-python": _cuprum,
    "bash": _bash,
    "popen": _popen,
    "plumbum": _plumbum,
    "sh": _sh,
}


def measure(implementation: str, size: int) -> float:
    run = PREPARE[implementation](_stages(size))
    started = time.perf_counter()
    stdout = run()
    elapsed = time.perf_counter() - started
    check(implementation, stdout.strip(), str(size))
    return elapsed


SCENARIO = register(
    Scenario(
        name="pipeline",
        title="Pipeline: 1 GiB through spew | cat | cat | count",
        description=(
            "Four fixture stages, three pipe hops; the last stage counts the bytes it "
            "reads and every run checks the count. cuprum relays every hop itself: with "
            "the default backend (splice between pipes) and with "
            "`CUPRUM_STREAM_BACKEND=python` (the engine's portable read/write loops). "
            "`bash -c 'a | b | c | d'`, a `subprocess.Popen` chain, plumbum and sh connect "
            "the stages with direct kernel pipes: the limit for any relay. All capture the "
            "final stdout."
        ),
        size=GIB,
        quick_size=GIB // 4,
        smoke_size=1 << 20,
        implementations=(
            Implementation("cuprum", "cuprum (splice relays)"),
            Implementation(
                "cuprum-python",
                "cuprum, `CUPRUM_STREAM_BACKEND=python`",
                env=(("CUPRUM_STREAM_BACKEND", "python"),),
            ),
            Implementation("bash", "`bash -c 'a | b | c | d'`"),
            Implementation("popen", "`subprocess.Popen` chain"),
            Implementation("plumbum", "plumbum `a | b | c | d`"),
            Implementation("sh", "sh `_piped=True` chain"),
        ),
        baseline="bash",
        measure=measure,
        targets=(Target("cuprum", "bash", 0.9),),
    )
)
