"""Exit-code policy (beyond.md §14): ok codes on commands and results, the
pipeline ok rule, fail-fast by the same rule, ``check=`` and ExitCodeError."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from cuprum import (
    CommandResult,
    ExecutionContext,
    ExitCodeError,
    Pipeline,
    PipelineResult,
    RunOutputOptions,
    SafeCmd,
    TimeoutExpired,
    after,
    observe,
)
from cuprum.events import ExecEvent
from cuprum.sh import make
from helpers import FIXTURE, SH, TEST_CATALOGUE

fx = make(FIXTURE, catalogue=TEST_CATALOGUE)
sh = make(SH, catalogue=TEST_CATALOGUE)
Runner = Callable[..., Any]


# --- ok codes on commands and results ---------------------------------------------------


def test_a_command_accepts_zero_by_default() -> None:
    assert fx("echo").ok_codes == frozenset({0})


def test_with_ok_codes_returns_a_copy_with_those_codes() -> None:
    cmd = fx("exit", 1)
    grep_like = cmd.with_ok_codes(0, 1)
    assert grep_like.ok_codes == frozenset({0, 1})
    assert cmd.ok_codes == frozenset({0})
    assert grep_like.argv == cmd.argv
    assert grep_like != cmd
    assert grep_like == cmd.with_ok_codes(1, 0, 1)
    assert hash(grep_like) == hash(cmd.with_ok_codes(1, 0))


def test_with_ok_codes_needs_at_least_one_int() -> None:
    with pytest.raises(ValueError, match="at least one exit code"):
        fx("echo").with_ok_codes()
    with pytest.raises(TypeError, match=r"ok codes must be ints, got True \(bool\)"):
        fx("echo").with_ok_codes(True)
    with pytest.raises(TypeError, match=r"got '1' \(str\)"):
        fx("echo").with_ok_codes("1")  # type: ignore[arg-type]


def test_a_directly_built_command_normalises_its_ok_codes() -> None:
    base = fx("echo")
    cmd = SafeCmd(base.program, base.argv, base.project, ok_codes={0, 2})  # type: ignore[arg-type]
    assert cmd.ok_codes == frozenset({0, 2})
    assert isinstance(cmd.ok_codes, frozenset)
    with pytest.raises(TypeError, match="collection of ints"):
        SafeCmd(base.program, base.argv, base.project, ok_codes=0)  # type: ignore[arg-type]


def test_command_result_ok_codes_are_keyword_only_and_decide_ok() -> None:
    plain = CommandResult(FIXTURE, ("x",), 1, 10, None, None)
    assert plain.ok_codes == frozenset({0})
    assert not plain.ok
    accepting = dataclasses.replace(plain, ok_codes=frozenset({0, 1}))
    assert accepting.ok
    with pytest.raises(TypeError):
        CommandResult(FIXTURE, ("x",), 1, 10, None, None, frozenset({1}))  # type: ignore[misc]


def test_a_run_reports_the_commands_ok_codes(runner: Runner) -> None:
    result = runner(fx("exit", 1).with_ok_codes(0, 1))
    assert result.exit_code == 1
    assert result.ok_codes == frozenset({0, 1})
    assert result.ok


def test_zero_fails_when_the_ok_codes_leave_it_out(runner: Runner) -> None:
    result = runner(fx("exit", 0).with_ok_codes(1))
    assert not result.ok


def test_a_signal_death_is_accepted_by_its_negative_code(runner: Runner) -> None:
    result = runner(fx("kill-self", 15).with_ok_codes(-15))
    assert result.exit_code == -15
    assert result.ok


# --- check= on SafeCmd --------------------------------------------------------------------


def test_without_check_a_failure_is_returned(runner: Runner) -> None:
    result = runner(fx("exit", 3))
    assert result.exit_code == 3
    assert not result.ok


def test_check_returns_an_ok_result(runner: Runner) -> None:
    assert runner(fx("echo", "hi"), check=True).stdout == "hi\n"
    assert runner(fx("exit", 1).with_ok_codes(0, 1), check=True).exit_code == 1


def test_check_raises_exit_code_error_with_the_results_fields(runner: Runner) -> None:
    script = "echo partial; echo 'fatal: not a git repository' >&2; exit 128"
    with pytest.raises(ExitCodeError) as caught:
        runner(sh("-c", script), check=True)
    error = caught.value
    assert isinstance(error, subprocess.CalledProcessError)
    assert str(error) == "/bin/sh exited with 128: fatal: not a git repository"
    assert error.returncode == 128
    assert error.cmd == ("/bin/sh", "-c", script)
    assert error.output == error.stdout == "partial\n"
    assert error.stderr == "fatal: not a git repository\n"
    assert isinstance(error.result, CommandResult)
    assert error.result.exit_code == 128


def test_existing_called_process_error_handlers_catch_it() -> None:
    with pytest.raises(subprocess.CalledProcessError) as caught:
        fx("exit", 2).run_sync(check=True)
    assert caught.value.returncode == 2


def test_the_message_quotes_at_most_the_last_five_stderr_lines() -> None:
    script = "for i in 1 2 3 4 5 6 7; do echo line$i >&2; done; echo >&2; exit 4"
    with pytest.raises(ExitCodeError) as caught:
        sh("-c", script).run_sync(check=True)
    assert str(caught.value) == "/bin/sh exited with 4: line3\nline4\nline5\nline6\nline7"


def test_without_captured_stderr_the_message_names_program_and_code() -> None:
    output = RunOutputOptions(capture=False)
    with pytest.raises(ExitCodeError) as caught:
        fx("exit", 5).run_sync(check=True, output=output)
    assert str(caught.value) == f"{FIXTURE} exited with 5"
    assert caught.value.output is None
    assert caught.value.stderr is None


def test_a_signal_death_names_the_signal() -> None:
    with pytest.raises(ExitCodeError) as caught:
        fx("kill-self", 9).run_sync(check=True)
    assert str(caught.value) == f"{FIXTURE} exited with -9 (SIGKILL)"
    assert caught.value.returncode == -9


def test_check_raises_after_the_after_hooks_and_the_exit_event() -> None:
    seen: list[str] = []

    def on_event(event: ExecEvent) -> None:
        seen.append(event.phase)

    def on_after(cmd: SafeCmd, result: CommandResult) -> None:
        seen.append(f"after {result.exit_code}")

    with observe(on_event), after(on_after), pytest.raises(ExitCodeError):
        fx("exit", 6).run_sync(check=True)
    assert seen[-2:] == ["exit", "after 6"]


def test_a_timeout_with_check_is_still_timeout_expired() -> None:
    with pytest.raises(TimeoutExpired):
        fx("sleep", 5).run_sync(
            check=True, timeout=0.05, context=ExecutionContext(cancel_grace=0.1)
        )


def test_exit_code_error_pickles_with_its_message() -> None:
    with pytest.raises(ExitCodeError) as caught:
        sh("-c", "echo boom >&2; exit 3").run_sync(check=True)
    clone = pickle.loads(pickle.dumps(caught.value))
    assert str(clone) == str(caught.value) == "/bin/sh exited with 3: boom"
    assert clone.returncode == 3
    assert clone.result == caught.value.result


def test_exit_code_error_needs_a_failed_result() -> None:
    ok = CommandResult(FIXTURE, (), 0, 1, None, None)
    with pytest.raises(ValueError, match="needs a failed result"):
        ExitCodeError(ok)
    with pytest.raises(ValueError, match="every pipeline stage is ok"):
        ExitCodeError(PipelineResult((ok, ok)))


# --- pipelines ----------------------------------------------------------------------------


def test_a_pipeline_stage_is_ok_by_its_own_codes(runner: Runner) -> None:
    pipeline = fx("echo", "x") | fx("exit-after-read", 1).with_ok_codes(0, 1)
    result = runner(pipeline, check=True)
    assert [stage.exit_code for stage in result.stages] == [0, 1]
    assert result.ok
    assert result.failure_index is None


def test_an_early_exit_stage_is_excused_under_check(runner: Runner) -> None:
    result = runner(fx("yes") | fx("head-lines", 1), check=True)
    assert result.ok
    assert result.stdout == "y\n"


def test_a_stage_exiting_with_an_ok_code_does_not_trigger_fail_fast() -> None:
    # Stage 1 exits 1 at once while stage 0 is still sleeping: with ok codes
    # (0, 1) that is no failure, so stage 0 must run to its end instead of
    # being terminated.
    started = time.monotonic()
    pipeline = fx("sleep", 0.3) | fx("exit", 1).with_ok_codes(0, 1) | fx("cat")
    result = pipeline.run_sync(check=True)
    assert [stage.exit_code for stage in result.stages] == [0, 1, 0]
    assert result.failure_index is None
    assert time.monotonic() - started >= 0.3


def test_a_stage_exiting_outside_its_ok_codes_triggers_fail_fast() -> None:
    pipeline = fx("sleep", 30) | fx("exit", 2).with_ok_codes(0, 1) | fx("sleep", 30)
    result = pipeline.run_sync(context=ExecutionContext(cancel_grace=0.2))
    assert [stage.exit_code for stage in result.stages] == [-15, 2, -15]
    assert result.failure_index == 1
    assert not result.ok


def test_pipeline_check_reports_the_failing_stage(runner: Runner) -> None:
    failing = sh("-c", "cat >/dev/null; echo broken >&2; exit 5")
    with pytest.raises(ExitCodeError) as caught:
        runner(fx("echo", "x") | failing | fx("cat"), check=True)
    error = caught.value
    assert str(error) == "/bin/sh exited with 5: broken"
    assert error.returncode == 5
    assert error.cmd == failing.argv_with_program
    assert error.stderr == "broken\n"
    assert error.output is None
    assert isinstance(error.result, PipelineResult)
    assert error.result.failure_index == 1


def test_pipeline_check_on_the_last_stage_carries_its_stdout() -> None:
    pipeline = fx("echo", "x") | sh("-c", "cat; exit 7")
    with pytest.raises(ExitCodeError) as caught:
        pipeline.run_sync(check=True)
    assert caught.value.output == "x\n"
    assert caught.value.returncode == 7


def test_pipeline_check_is_keyword_only_next_to_the_deprecated_flags() -> None:
    pipeline: Pipeline = fx("echo", "x") | fx("exit-after-read", 3)
    with pytest.warns(DeprecationWarning, match="deprecated"), pytest.raises(ExitCodeError):
        pipeline.run_sync(capture=True, check=True)


def test_run_concurrent_counts_failures_by_ok_codes() -> None:
    from cuprum import ConcurrentConfig, run_concurrent_sync

    batch = run_concurrent_sync(
        fx("exit", 1).with_ok_codes(0, 1), fx("exit", 1), config=ConcurrentConfig()
    )
    assert batch.failures == (1,)


def test_async_observe_hooks_are_awaited_before_exit_code_error_propagates() -> None:
    import asyncio

    finished: list[str] = []

    async def slow(event: ExecEvent) -> None:
        if event.phase == "exit":
            await asyncio.sleep(0)  # yield once: the hook is still pending when the run ends
            finished.append("exit hook")

    async def main() -> None:
        with observe(slow), pytest.raises(ExitCodeError):
            await fx("exit", 3).run(check=True)
        assert finished == ["exit hook"]

    asyncio.run(main())
