"""Pipelines: building, running, relays on both backends, early exits,
fail-fast, timeouts and teardown (spec §3, §4.7 to §4.9)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cuprum import sh
from cuprum._backend import set_rust_availability_for_testing
from cuprum.catalogue import ProgramCatalogue, ProjectSettings
from cuprum.context import after, observe
from cuprum.events import ExecEvent
from cuprum.program import Program
from cuprum.sh import (
    CommandResult,
    ExecutionContext,
    Pipeline,
    PipelineResult,
    RunOutputOptions,
    SafeCmd,
    SafeCmdBuilder,
    TimeoutExpired,
)
from helpers import assert_no_children, sh_cmd, stream_backend, wait_dead

Run = Callable[..., Any]

GIB = 1 << 30
TEN_MB = 10 * 1000 * 1000
SLACK = 1.0

# Relay backends: the portable copy loops and the default fast paths.
BACKENDS = ["python", None]
BACKEND_IDS = ["python", "default"]


@pytest.fixture(params=BACKENDS, ids=BACKEND_IDS)
def backend(request: pytest.FixtureRequest) -> Iterator[str | None]:
    with stream_backend(request.param):
        yield request.param


@pytest.fixture
def events() -> Iterator[list[ExecEvent]]:
    recorded: list[ExecEvent] = []
    with observe(recorded.append):
        yield recorded


def spew_block() -> bytes:
    line = bytes(ord("a") + i % 26 for i in range(63)) + b"\n"
    return line * 1024


def spew_text(size: int) -> str:
    block = spew_block()
    return (block * (size // len(block) + 1))[:size].decode("ascii")


def codes(result: PipelineResult) -> tuple[int, ...]:
    return tuple(stage.exit_code for stage in result.stages)


def timed(call: Callable[[], object]) -> tuple[Any, float]:
    began = time.monotonic()
    value = call()
    return value, time.monotonic() - began


def missing_cmd(path: str | Path = "/nonexistent/cuprum-missing-program") -> SafeCmd:
    missing = Program(str(path))
    project = ProjectSettings(
        name="missing", programs=(missing,), documentation_locations=(), noise_rules=()
    )
    return sh.make(missing, catalogue=ProgramCatalogue(projects=(project,)))()


# --- building ---------------------------------------------------------------------


def test_fewer_than_two_stages_is_an_error(fx: SafeCmdBuilder) -> None:
    """§11.7."""
    with pytest.raises(ValueError, match="at least two stages"):
        Pipeline((fx("echo"),))
    with pytest.raises(ValueError, match="at least two stages"):
        Pipeline(())


def test_pipes_flatten_and_commands_compare_by_value(fx: SafeCmdBuilder) -> None:
    """§11.8."""
    a, b, c, d = fx("a"), fx("b"), fx("c"), fx("d")
    pipeline = a | b | (c | d)
    assert pipeline.parts == (a, b, c, d)
    assert (a | b) | (c | d) == pipeline
    assert Pipeline.concat(a | b, c | d) == pipeline
    assert fx("a") == a
    assert hash(fx("a")) == hash(a)
    assert fx("a") != fx("b")


def test_piping_to_something_else_is_a_type_error(fx: SafeCmdBuilder) -> None:
    operand: Any = "cat"
    with pytest.raises(TypeError):
        fx("echo") | operand


# --- running ----------------------------------------------------------------------------


def test_two_stage_pipeline(fx: SafeCmdBuilder, runner: Run) -> None:
    result = runner(fx("echo", "hello") | fx("cat"))
    assert isinstance(result, PipelineResult)
    assert result.ok
    assert result.failure_index is None
    assert result.failure is None
    assert result.stdout == "hello\n"
    assert result.final is result.stages[-1]
    assert [s.argv for s in result.stages] == [("echo", "hello"), ("cat",)]
    assert all(isinstance(s, CommandResult) and s.pid > 0 for s in result.stages)
    assert len({s.pid for s in result.stages}) == 2


def test_intermediate_stdout_is_none_and_stderr_is_per_stage(
    fx: SafeCmdBuilder, runner: Run
) -> None:
    """§11.54 (capturing). No stage writes to a reader that may be gone, so
    no stage can die of a broken pipe before writing its stderr."""
    result = runner(fx("err", "first") | fx("err", "second") | fx("cat"))
    assert [s.stdout for s in result.stages] == [None, None, ""]
    assert [s.stderr for s in result.stages] == ["first\n", "second\n", ""]


def test_without_capture_every_output_is_none(fx: SafeCmdBuilder, runner: Run) -> None:
    """§11.54 (not capturing)."""
    quiet = RunOutputOptions(capture=False)
    result = runner(fx("both", "one", "two") | fx("cat"), output=quiet)
    assert result.ok
    assert result.stdout is None
    assert all(s.stdout is None and s.stderr is None for s in result.stages)


def test_echo_sends_final_stdout_and_every_stderr_to_the_sinks(
    fx: SafeCmdBuilder, runner: Run
) -> None:
    out, err = io.StringIO(), io.StringIO()
    ctx = ExecutionContext(stdout_sink=out, stderr_sink=err)
    # The middle stage reads its input before exiting: one that exits at once
    # may close the pipe before the first stage writes, which then dies of
    # SIGPIPE before printing `err-0` (as in a shell).
    middle = sh_cmd("cat >/dev/null; echo err-1 >&2")
    cmd = fx("both", "hidden", "err-0") | middle | fx("both", "shown", "err-2")
    result = runner(cmd, output=RunOutputOptions(capture=True, echo=True), context=ctx)
    assert out.getvalue() == "shown\n"
    assert sorted(err.getvalue().splitlines()) == ["err-0", "err-1", "err-2"]
    assert result.stdout == "shown\n"


def test_env_and_cwd_apply_to_every_stage(fx: SafeCmdBuilder, tmp_path: Path) -> None:
    ctx = ExecutionContext(cwd=tmp_path, env={"CUPRUM_TEST_STAGE": "all"})
    assert (fx("pwd") | fx("cat")).run_sync(context=ctx).stdout == f"{tmp_path}\n"
    assert (fx("echo") | fx("pwd")).run_sync(context=ctx).stdout == f"{tmp_path}\n"
    first = fx("env", "CUPRUM_TEST_STAGE") | fx("cat")
    assert first.run_sync(context=ctx).stdout == "all\n"
    last = fx("echo") | fx("env", "CUPRUM_TEST_STAGE")
    assert last.run_sync(context=ctx).stdout == "all\n"


def test_first_stage_reads_the_null_device(fx: SafeCmdBuilder) -> None:
    assert (fx("count") | fx("cat")).run_sync().stdout == "0\n"


# --- deprecated flags and keyword checks ---------------------------------------------


def test_deprecated_capture_flag_warns_once_at_the_caller(fx: SafeCmdBuilder) -> None:
    """§11.16."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = (fx("echo", "flag") | fx("cat")).run_sync(capture=True)
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == 1
    assert deprecations[0].filename == __file__
    assert result.stdout == "flag\n"


def test_deprecated_flags_in_async_run_warn_at_the_caller(fx: SafeCmdBuilder) -> None:
    async def main() -> PipelineResult:
        return await (fx("echo", "flag") | fx("cat")).run(echo=False)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = asyncio.run(main())
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == 1
    assert deprecations[0].filename == __file__
    assert result.stdout == "flag\n", "capture defaults to True"


def test_deprecated_capture_false_disables_capture(fx: SafeCmdBuilder) -> None:
    with pytest.warns(DeprecationWarning, match="deprecated"):
        result = (fx("echo") | fx("cat")).run_sync(capture=False)
    assert result.stdout is None


def test_flags_with_output_is_an_error(fx: SafeCmdBuilder) -> None:
    """§11.17 (first half)."""
    with pytest.raises(ValueError, match="not both"):
        (fx("echo") | fx("cat")).run_sync(output=RunOutputOptions(), capture=True)


def test_unknown_keywords_are_rejected_sorted(fx: SafeCmdBuilder) -> None:
    """§11.17 (second half); pipelines take no stdin either."""
    pipeline = fx("echo") | fx("cat")
    with pytest.raises(TypeError, match="unexpected keyword arguments: captuer"):
        pipeline.run_sync(captuer=True)
    with pytest.raises(TypeError, match="unexpected keyword arguments: stdin, zeta"):
        pipeline.run_sync(zeta=True, stdin=True)


# --- relays and backends -----------------------------------------------------------------


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("stages", [3, 10])
def test_ten_megabytes_move_byte_identical(fx: SafeCmdBuilder, runner: Run, stages: int) -> None:
    pipeline = fx("spew", TEN_MB) | fx("cat")
    for _ in range(stages - 2):
        pipeline = pipeline | fx("cat")
    assert len(pipeline.parts) == stages
    result = runner(pipeline)
    assert result.ok
    assert result.stdout == spew_text(TEN_MB)


@pytest.mark.usefixtures("backend")
def test_one_gibibyte_moves_through_three_stages(fx: SafeCmdBuilder) -> None:
    result = (fx("spew", GIB) | fx("cat") | fx("cat")).run_sync()
    assert result.ok
    stdout = result.stdout
    del result
    assert stdout is not None
    assert len(stdout) == GIB
    expected = hashlib.sha256()
    block = spew_block()
    for _ in range(GIB // len(block)):
        expected.update(block)
    actual = hashlib.sha256()
    step = 1 << 26
    for offset in range(0, len(stdout), step):
        actual.update(stdout[offset : offset + step].encode("ascii"))
    assert actual.hexdigest() == expected.hexdigest()


def test_output_is_identical_across_backends(fx: SafeCmdBuilder) -> None:
    """§11.59: every byte value, through three relays, on every backend."""
    payload = bytes(range(256)) * 4096
    pipeline = fx("hex", payload[:4096].hex()) | fx("cat") | fx("cat") | fx("cat")
    ctx = ExecutionContext(encoding="latin-1")
    outputs = {}
    for value in ("python", "rust", None):
        with stream_backend(value):
            outputs[value] = pipeline.run_sync(context=ctx).stdout
    assert outputs["python"] == payload[:4096].decode("latin-1")
    assert outputs["python"] == outputs["rust"] == outputs[None]


def test_forced_rust_without_the_extension_raises_import_error(
    fx: SafeCmdBuilder, runner: Run, events: list[ExecEvent]
) -> None:
    """§11.58: the backend error surfaces before anything spawns."""
    with stream_backend("rust"):
        set_rust_availability_for_testing(is_available=False)
        try:
            with pytest.raises(ImportError):
                runner(fx("echo") | fx("cat"))
        finally:
            set_rust_availability_for_testing(is_available=None)
    assert "start" not in [e.phase for e in events]
    assert_no_children()


# --- early exits ---------------------------------------------------------------------


@pytest.mark.usefixtures("backend")
def test_yes_into_head_lines_returns_promptly(fx: SafeCmdBuilder, runner: Run) -> None:
    """§11.56."""
    result, took = timed(lambda: runner(fx("yes") | fx("head-lines", 1)))
    assert took < 1.0
    assert result.ok
    assert result.failure_index is None
    assert result.stdout == "y\n"
    assert codes(result) in ((-13, 0), (0, 0))
    assert result.early_exit_stages == ((0,) if codes(result)[0] == -13 else ())


@pytest.mark.usefixtures("backend")
def test_yes_cat_head_bytes_returns_promptly(fx: SafeCmdBuilder, runner: Run) -> None:
    result, took = timed(lambda: runner(fx("yes") | fx("cat") | fx("head-bytes", 10)))
    assert took < 1.0
    assert result.ok
    assert result.failure_index is None
    assert result.stdout == "y\n" * 5
    assert result.stages[-1].exit_code == 0


@pytest.mark.usefixtures("backend")
def test_finite_producer_into_early_exit_is_not_a_failure(fx: SafeCmdBuilder) -> None:
    result = (fx("spew", TEN_MB) | fx("head-lines", 2)).run_sync()
    assert result.ok
    assert result.stdout == spew_text(128)
    assert codes(result) in ((-13, 0), (0, 0))


@pytest.mark.usefixtures("backend")
def test_middle_stage_that_never_reads(fx: SafeCmdBuilder, runner: Run) -> None:
    result = runner(fx("yes") | fx("exit", 0) | fx("cat"))
    assert result.ok
    assert result.stdout == ""
    assert codes(result)[1:] == (0, 0)
    assert codes(result)[0] in (-13, 0)


def test_last_stage_that_never_reads(fx: SafeCmdBuilder, runner: Run) -> None:
    result = runner(fx("lines", 100_000) | fx("echo", "done"))
    assert result.ok
    assert result.stdout == "done\n"


# --- failures --------------------------------------------------------------------------


def test_middle_stage_failure_terminates_the_others(fx: SafeCmdBuilder, runner: Run) -> None:
    """§11.55 (first half)."""
    result, took = timed(lambda: runner(fx("sleep", 30) | fx("exit", 3) | fx("sleep", 30)))
    assert codes(result) == (-15, 3, -15)
    assert result.failure_index == 1
    assert result.failure is result.stages[1]
    assert result.early_exit_stages == (), "terminated stages are not early exits"
    assert not result.ok
    assert took < 0.5 + SLACK
    assert_no_children()


def test_last_stage_failure_terminates_nothing(fx: SafeCmdBuilder, runner: Run) -> None:
    """§11.55 (second half)."""
    result = runner(fx("sleep", 0.3) | fx("exit", 3))
    assert codes(result) == (0, 3)
    assert result.failure_index == 1
    assert not result.ok


def test_first_observed_failure_wins_even_at_a_higher_index(
    fx: SafeCmdBuilder, runner: Run
) -> None:
    """failure_index is the first stage *observed* to fail, never changed."""
    result = runner(sh_cmd("sleep 0.3; exit 4") | fx("exit", 5))
    assert codes(result) == (4, 5)
    assert result.failure_index == 1


def test_first_stage_failure_terminates_downstream(fx: SafeCmdBuilder) -> None:
    result = (fx("exit", 4) | fx("sleep", 30) | fx("exit-after-read", 5)).run_sync()
    assert result.failure_index == 0
    assert codes(result)[:2] == (4, -15)
    assert codes(result)[2] in (-15, 5)


def test_stage_killed_by_a_signal(fx: SafeCmdBuilder, runner: Run) -> None:
    result = runner(fx("sleep", 30) | fx("kill-self", 9) | fx("sleep", 30))
    assert codes(result) == (-15, -9, -15)
    assert result.failure_index == 1
    last = runner(fx("echo", "x") | fx("kill-self", 15))
    # `echo` may find its reader already gone (as in a shell): then it dies
    # of SIGPIPE and is excused as an early exit.
    assert codes(last)[1] == -15
    assert codes(last)[0] == 0 or last.early_exit_stages == (0,)
    assert last.failure_index == 1
    assert not last.ok


def test_a_missing_program_at_a_later_stage_starts_no_stage(
    fx: SafeCmdBuilder, runner: Run, events: list[ExecEvent]
) -> None:
    """Every stage's program is resolved before the first one spawns."""
    with pytest.raises(FileNotFoundError, match="cuprum-missing-program"):
        runner(fx("sleep", 30) | missing_cmd())
    phases = [(e.phase, e.tags["pipeline_stage_index"]) for e in events]
    assert phases == [("plan", 0), ("plan", 1)]
    assert_no_children()


def test_spawn_failure_at_a_later_stage_tears_down_the_earlier(
    fx: SafeCmdBuilder, runner: Run, events: list[ExecEvent], tmp_path: Path
) -> None:
    """§11.57, with a stage that exists but fails at exec: its interpreter
    is missing."""
    script = tmp_path / "no-interpreter"
    script.write_text("#!/nonexistent/cuprum-missing-interpreter\n")
    script.chmod(0o755)
    pipeline = fx("sleep", 30) | missing_cmd(script)
    began = time.monotonic()
    with pytest.raises(FileNotFoundError):
        runner(pipeline, context=ExecutionContext(cancel_grace=0.2))
    assert time.monotonic() - began < 0.2 + SLACK
    phases = [(e.phase, e.tags["pipeline_stage_index"]) for e in events]
    assert phases == [("plan", 0), ("plan", 1), ("start", 0)]
    assert events[-1].pid is not None
    assert wait_dead(events[-1].pid)
    assert_no_children()


# --- timeouts and cancellation -----------------------------------------------------


def test_timeout_raises_with_every_argv(
    fx: SafeCmdBuilder, runner: Run, events: list[ExecEvent]
) -> None:
    """§4.7 timeout and §11.24 (pipeline half): no exit events, no after hooks."""
    pipeline = sh_cmd("echo e0 >&2; exec sleep 30") | fx("err", "e1") | fx("cat")
    called: list[CommandResult] = []
    with after(lambda cmd, result: called.append(result)):
        began = time.monotonic()
        with pytest.raises(TimeoutExpired) as excinfo:
            runner(pipeline, timeout=0.5)
    assert time.monotonic() - began < 0.5 + 0.5 + SLACK
    exc = excinfo.value
    assert exc.cmd == tuple(stage.argv_with_program for stage in pipeline.parts)
    assert exc.timeout == 0.5
    assert exc.output == ""
    assert exc.stderr == "e0\ne1\n"
    assert "exit" not in [e.phase for e in events]
    assert called == []
    assert_no_children()


def test_timeout_without_capture_has_no_output(fx: SafeCmdBuilder, runner: Run) -> None:
    quiet = RunOutputOptions(capture=False)
    with pytest.raises(TimeoutExpired) as excinfo:
        runner(fx("sleep", 30) | fx("cat"), timeout=0, output=quiet)
    assert excinfo.value.output is None
    assert excinfo.value.stderr is None
    assert excinfo.value.timeout == 0
    assert_no_children()


def test_yes_into_sleep_times_out_cleanly(fx: SafeCmdBuilder) -> None:
    """An endless producer behind a stage that never reads must not stall teardown."""
    with pytest.raises(TimeoutExpired):
        (fx("yes") | fx("sleep", 30)).run_sync(timeout=0.3)
    assert_no_children()


def test_cancellation_tears_every_stage_down(fx: SafeCmdBuilder) -> None:
    recorded: list[ExecEvent] = []

    async def main() -> None:
        with observe(recorded.append):
            task = asyncio.create_task((fx("yes") | fx("cat") | fx("sleep", 30)).run())
        while sum(e.phase == "start" for e in recorded) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    pids = [e.pid for e in recorded if e.phase == "start"]
    assert all(pid is not None and wait_dead(pid) for pid in pids)
    assert "exit" not in [e.phase for e in recorded]
    assert_no_children()


def test_grandchild_in_a_stage_is_killed_on_timeout(fx: SafeCmdBuilder) -> None:
    with pytest.raises(TimeoutExpired) as excinfo:
        (fx("fork-sleeper", 30) | fx("cat")).run_sync(timeout=0.5)
    assert excinfo.value.output is not None
    assert wait_dead(int(excinfo.value.output.strip()))
    assert_no_children()
