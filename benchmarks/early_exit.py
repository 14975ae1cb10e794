"""Early exit in pipelines: ``yes | head -n1`` and ten stages ``yes | cat x8 | head -n1``.

An endless producer feeds a consumer that reads one line and exits; the
pipeline is done once the producer notices, by ``SIGPIPE`` on its next
write, that nobody reads any more (``spec/beyond.md`` §12.3). Every stage is
the fixture program (``$CUPRUM_FIXTURE``: ``yes``, ``cat``, ``head-lines 1``),
and every call's output is checked to be the one line ``y``. Each run first
makes a few untimed calls, then times ``size`` sequential calls; the table
shows milliseconds per call.

Implementations:

- cuprum ``pipeline.run_sync()`` and ``await pipeline.run()``;
- a ``subprocess.Popen`` chain that closes the parent's copy of each pipe
  once the next stage holds it, as the ``subprocess`` docs recommend (else
  the producer never gets ``SIGPIPE``);
- the shell's own figure: one ``bash`` process runs the pipeline in a loop
  and reports the loop's time from ``$EPOCHREALTIME``, so starting ``bash``
  costs nothing per call.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shlex
import subprocess
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from benchmarks.harness import Bound, Implementation, Metric, Scenario, register
from benchmarks.programs import check, cuprum_builder, fixture_path

if TYPE_CHECKING:
    from cuprum.sh import Pipeline

WARMUP_CALLS = 5
EXPECTED = "y\n"


def _stages(count: int) -> list[list[str]]:
    """``yes``, ``count - 2`` times ``cat``, then ``head-lines 1``."""
    fixture = fixture_path()
    middle = [[fixture, "cat"] for _ in range(count - 2)]
    return [[fixture, "yes"], *middle, [fixture, "head-lines", "1"]]


def _cuprum_pipeline(stages: list[list[str]]) -> Pipeline:
    builder = cuprum_builder(stages[0][0])
    first, second, *rest = (builder(*stage[1:]) for stage in stages)
    pipeline = first | second
    for command in rest:
        pipeline = pipeline | command
    return pipeline


def _timed_calls(call: Callable[[], str], implementation: str, calls: int) -> float:
    for _ in range(WARMUP_CALLS):
        check(implementation, call(), EXPECTED)
    started = time.perf_counter()
    for _ in range(calls):
        check(implementation, call(), EXPECTED)
    return time.perf_counter() - started


def _cuprum_sync(stages: list[list[str]], calls: int) -> float:
    pipeline = _cuprum_pipeline(stages)

    def call() -> str:
        result = pipeline.run_sync()
        check("cuprum-sync", result.ok, True)
        return result.stdout or ""

    return _timed_calls(call, "cuprum-sync", calls)


def _cuprum_async(stages: list[list[str]], calls: int) -> float:
    pipeline = _cuprum_pipeline(stages)

    async def call() -> str:
        result = await pipeline.run()
        check("cuprum-async", result.ok, True)
        return result.stdout or ""

    async def main() -> float:
        for _ in range(WARMUP_CALLS):
            check("cuprum-async", await call(), EXPECTED)
        started = time.perf_counter()
        for _ in range(calls):
            check("cuprum-async", await call(), EXPECTED)
        return time.perf_counter() - started

    return asyncio.run(main())


def _popen_chain(stages: list[list[str]]) -> str:
    procs: list[subprocess.Popen[bytes]] = []
    upstream: int | IO[bytes] | None = subprocess.DEVNULL
    for stage in stages:
        proc = subprocess.Popen(stage, stdin=upstream, stdout=subprocess.PIPE)
        if procs:
            # The next stage holds the read end now: drop ours, so that the
            # producer gets SIGPIPE once the consumer exits.
            assert procs[-1].stdout is not None
            procs[-1].stdout.close()
        upstream = proc.stdout
        procs.append(proc)
    stdout, _ = procs[-1].communicate()
    for proc in procs[:-1]:
        proc.wait()
    check("popen", procs[-1].returncode, 0)
    return stdout.decode()


def _popen(stages: list[list[str]], calls: int) -> float:
    return _timed_calls(functools.partial(_popen_chain, stages), "popen", calls)


def _bash(stages: list[list[str]], calls: int) -> float:
    """The loop's seconds as ``bash`` itself measures them, warm-up calls excluded."""
    pipeline = " | ".join(shlex.join(stage) for stage in stages)
    script = (
        f"for ((i = 0; i < {WARMUP_CALLS}; i++)); do {pipeline} >/dev/null; done\n"
        "started=$EPOCHREALTIME\n"
        f"for ((i = 0; i < {calls}; i++)); do {pipeline}; done\n"
        "finished=$EPOCHREALTIME\n"
        'echo "$started $finished" >&2\n'
    )
    # LC_ALL=C: $EPOCHREALTIME uses the locale's decimal point.
    done = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    check("bash", done.stdout, EXPECTED * calls)
    started, finished = (float(value) for value in done.stderr.split())
    return finished - started


RUNNERS: dict[str, Callable[[list[list[str]], int], float]] = {
    "cuprum-sync": _cuprum_sync,
    "cuprum-async": _cuprum_async,
    "popen": _popen,
    "bash": _bash,
}


def measure(stage_count: int, implementation: str, calls: int) -> float:
    return RUNNERS[implementation](_stages(stage_count), calls)


PER_CALL = Metric(
    unit="ms/call",
    value=lambda calls, seconds: seconds / calls * 1e3,
    higher_is_better=False,
    digits=2,
    describe=lambda calls: f"{calls} sequential calls per run (after {WARMUP_CALLS} untimed)",
    size_is_bytes=False,
)

# (stage count, scenario name, the pipeline as a shell spells it, calls,
#  calls with --quick, §12.3's bound on the median of `run_sync` in ms)
PIPELINES = (
    (2, "early-exit", "yes | head -n1", 200, 50, 10.0),
    (10, "early-exit-10", "yes | cat x8 | head -n1", 50, 20, 60.0),
)

for _count, _name, _shown, _calls, _quick, _bound in PIPELINES:
    register(
        Scenario(
            name=_name,
            title=f"Early exit: `{_shown}`",
            description=(
                f"`{_shown}` ({_count} stages of the fixture program: `yes`, "
                f"{'eight times `cat`, ' if _count > 2 else ''}`head-lines 1`): "
                "the last stage reads one line and exits, and the "
                "pipeline ends once the producer dies of `SIGPIPE`. Every call's output is "
                "checked. cuprum runs the pipeline with `run_sync()` and `await run()`; "
                "the peers are a `subprocess.Popen` chain that closes the parent's copy "
                "of each pipe, and one `bash` process running the pipeline in a loop, "
                "timed by `bash` itself (`$EPOCHREALTIME`), so its start-up is not "
                "counted. Lower is better."
            ),
            size=_calls,
            quick_size=_quick,
            smoke_size=3,
            implementations=(
                Implementation("cuprum-sync", "cuprum `run_sync()`"),
                Implementation("cuprum-async", "cuprum `await run()`"),
                Implementation("popen", "`subprocess.Popen` chain"),
                Implementation("bash", "`bash` loop, timed inside `bash`"),
            ),
            baseline="bash",
            measure=functools.partial(measure, _count),
            # spec/beyond.md §12.3: the median call returns in under the bound.
            targets=(Bound("cuprum-sync", _bound, strict=True),),
            metric=PER_CALL,
        )
    )
