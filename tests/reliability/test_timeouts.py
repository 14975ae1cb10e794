"""§12.2: a timeout bounds the whole call — T + G + 0.5 s in every case —
and cancellation has the same bound with T = 0."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cuprum import ExecutionContext, RunOutputOptions, TimeoutExpired, observe
from cuprum.sh import SafeCmdBuilder
from helpers import assert_no_children, is_alive, sh_cmd, wait_dead
from support import SLACK, timed

Run = Callable[..., Any]
T = 0.3
G = 0.3
# The promise (T + G + 0.5 s) plus scheduling slack.
BOUND = T + G + 0.5 + SLACK
# A sleeper that has left the group (its own session) before the script goes
# on: it writes its pid to `escaped` only after `setsid`, while holding the
# script's stdout.
ESCAPE = (
    "setsid sh -c 'echo $$ > escaped.tmp; mv escaped.tmp escaped; exec sleep 30' & "
    "while [ ! -e escaped ]; do sleep 0.01; done; "
)


def test_descendant_in_the_group_holding_the_pipe_after_the_child_exits(runner: Run) -> None:
    cmd = sh_cmd("sleep 30 & echo $!")
    error, took = timed(lambda: runner(cmd, timeout=T, context=ExecutionContext(cancel_grace=G)))
    assert isinstance(error, TimeoutExpired)
    assert took < BOUND
    assert error.output is not None
    assert wait_dead(int(error.output)), "the group's descendant is torn down"
    assert_no_children()


def test_descendant_that_left_the_group_holding_the_pipe(runner: Run, tmp_path: Path) -> None:
    """``setsid`` puts the sleeper out of reach of the group signals; after
    the kill the engine stops waiting for its end of file."""
    cmd = sh_cmd(f"cd {tmp_path}; {ESCAPE}cat escaped")
    error, took = timed(lambda: runner(cmd, timeout=T, context=ExecutionContext(cancel_grace=G)))
    assert isinstance(error, TimeoutExpired)
    assert took < BOUND
    assert error.output is not None
    escaped = int(error.output)
    try:
        assert is_alive(escaped), "the escaped sleeper is not ours to kill"
    finally:
        os.kill(escaped, 9)
    assert_no_children()


def test_echo_sink_that_never_drains(fx: SafeCmdBuilder, runner: Run) -> None:
    read_end, write_end = os.pipe()
    sink = os.fdopen(write_end, "w")
    try:
        ctx = ExecutionContext(stdout_sink=sink, cancel_grace=G)
        error, took = timed(
            lambda: runner(
                fx("yes"), timeout=T, output=RunOutputOptions(capture=False, echo=True), context=ctx
            )
        )
    finally:
        sink.close()
        os.close(read_end)
    assert isinstance(error, TimeoutExpired)
    assert took < BOUND
    assert_no_children()


def test_relay_between_stages_that_stalls(fx: SafeCmdBuilder, runner: Run) -> None:
    """The last stage never reads: the relay feeding it stalls on a full
    pipe, and the deadline still bounds the call."""
    pipeline = fx("yes") | fx("sleep", 30)
    error, took = timed(
        lambda: runner(pipeline, timeout=T, context=ExecutionContext(cancel_grace=G))
    )
    assert isinstance(error, TimeoutExpired)
    assert took < BOUND
    assert_no_children()


def test_task_cancellation_has_the_same_bound_with_an_escaped_descendant(
    tmp_path: Path,
) -> None:
    cmd = sh_cmd(f"cd {tmp_path}; {ESCAPE}echo started; sleep 30")

    async def main() -> float:
        started = asyncio.Event()
        with observe(lambda e: started.set() if e.phase == "stdout" else None):
            task = asyncio.create_task(cmd.run(context=ExecutionContext(cancel_grace=G)))
            await started.wait()
        began = asyncio.get_running_loop().time()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return asyncio.get_running_loop().time() - began

    took = asyncio.run(main())
    os.kill(int((tmp_path / "escaped").read_text()), 9)
    assert took < G + 0.5 + SLACK
    assert_no_children()


def test_without_a_timeout_the_run_waits_for_end_of_file(runner: Run) -> None:
    """Like ``subprocess.run``: a descendant holding the pipe is waited for."""
    result = runner(sh_cmd("(sleep 0.3; echo late) & echo early"))
    assert result.ok
    assert result.stdout == "early\nlate\n"
