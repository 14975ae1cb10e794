"""Running single commands: results, exit codes, spawn errors, environment,
working directory and stdin (spec §4.1 to §4.4, §5.6)."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cuprum import sh
from cuprum.catalogue import ProgramCatalogue, ProjectSettings
from cuprum.context import ForbiddenProgramError, ScopeConfig, env, observe, scoped
from cuprum.events import ExecEvent
from cuprum.program import Program
from cuprum.sh import (
    CommandResult,
    ExecutionContext,
    RunOutputOptions,
    SafeCmd,
    SafeCmdBuilder,
    StdinInput,
)
from helpers import FIXTURE, assert_no_children

Run = Callable[..., Any]

HUNDRED_MB = 100 * 1000 * 1000


def single(program: Path | str) -> SafeCmd:
    """A command for ``program`` from a one-program catalogue of its own."""
    prog = Program(str(program))
    project = ProjectSettings(
        name="single", programs=(prog,), documentation_locations=(), noise_rules=()
    )
    return sh.make(prog, catalogue=ProgramCatalogue(projects=(project,)))()


@pytest.fixture
def events() -> Iterator[list[ExecEvent]]:
    recorded: list[ExecEvent] = []
    with observe(recorded.append):
        yield recorded


def phases(events: list[ExecEvent]) -> list[str]:
    return [event.phase for event in events]


# --- results and exit codes ------------------------------------------------------


def test_result_fields(fx: SafeCmdBuilder, runner: Run) -> None:
    result = runner(fx("both", "out", "err"))
    assert isinstance(result, CommandResult)
    assert result.program == FIXTURE
    assert result.argv == ("both", "out", "err")
    assert result.exit_code == 0
    assert result.ok
    assert result.pid > 0
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"


def test_non_zero_exit_does_not_raise(fx: SafeCmdBuilder, runner: Run) -> None:
    result = runner(fx("exit", 3))
    assert result.exit_code == 3
    assert not result.ok
    assert result.stdout == ""
    assert result.stderr == ""


@pytest.mark.parametrize("signum", [15, 9])
def test_signal_death_reports_minus_signum(fx: SafeCmdBuilder, runner: Run, signum: int) -> None:
    result = runner(fx("kill-self", signum))
    assert result.exit_code == -signum
    assert not result.ok


def test_pid_is_the_started_process(fx: SafeCmdBuilder, events: list[ExecEvent]) -> None:
    result = fx("echo").run_sync()
    (start,) = [event for event in events if event.phase == "start"]
    assert result.pid == start.pid


def test_legacy_output_keywords_are_rejected(fx: SafeCmdBuilder) -> None:
    """§11.15: SafeCmd.run_sync(capture=False) is a TypeError."""
    run_sync: Any = fx("echo").run_sync
    with pytest.raises(TypeError):
        run_sync(capture=False)
    with pytest.raises(TypeError):
        run_sync(echo=True)
    run: Any = fx("echo").run
    with pytest.raises(TypeError):
        asyncio.run(run(capture=False))


def test_positional_arguments_are_rejected(fx: SafeCmdBuilder) -> None:
    run_sync: Any = fx("echo").run_sync
    with pytest.raises(TypeError):
        run_sync(RunOutputOptions())


def test_run_sync_inside_a_running_event_loop(fx: SafeCmdBuilder) -> None:
    """run_sync is a native blocking call: it works from a loop's own thread."""

    async def main() -> tuple[CommandResult, CommandResult]:
        inner = fx("echo", "inside").run_sync()
        awaited = await fx("echo", "awaited").run()
        return inner, awaited

    inner, awaited = asyncio.run(main())
    assert inner.stdout == "inside\n"
    assert awaited.stdout == "awaited\n"


def test_concurrent_async_runs_share_one_loop(fx: SafeCmdBuilder) -> None:
    async def main() -> list[CommandResult]:
        return await asyncio.gather(*(fx("echo", i).run() for i in range(20)))

    results = asyncio.run(main())
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(20)]


# --- spawn errors ------------------------------------------------------------------


def test_missing_program_raises_file_not_found(
    runner: Run, events: list[ExecEvent], tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-program"
    with pytest.raises(FileNotFoundError):
        runner(single(missing))
    assert phases(events) == ["plan"], "no start or exit event for a spawn error"
    assert_no_children()


def test_program_without_execute_bit_raises_permission_error(runner: Run, tmp_path: Path) -> None:
    program = tmp_path / "not-executable"
    program.write_text("#!/bin/sh\necho hi\n")
    program.chmod(stat.S_IRUSR | stat.S_IWUSR)
    if os.access(program, os.X_OK):
        pytest.skip("running with privileges that ignore the execute bit")
    with pytest.raises(PermissionError) as excinfo:
        runner(single(program))
    assert not isinstance(excinfo.value, ForbiddenProgramError)
    assert_no_children()


def test_missing_cwd_names_the_directory(fx: SafeCmdBuilder, runner: Run, tmp_path: Path) -> None:
    missing = tmp_path / "gone"
    with pytest.raises(FileNotFoundError) as excinfo:
        runner(fx("pwd"), context=ExecutionContext(cwd=missing))
    assert excinfo.value.filename == str(missing)
    assert_no_children()


@pytest.mark.parametrize(
    "make_cmd",
    [
        pytest.param(lambda fx: (fx("echo", "a\0b"), None), id="argv"),
        pytest.param(lambda fx: (fx("echo"), {"CUPRUM_NUL": "a\0b"}), id="env-value"),
        pytest.param(lambda fx: (fx("echo"), {"CUPRUM\0NUL": "x"}), id="env-name"),
    ],
)
def test_nul_raises_value_error_before_spawning(
    fx: SafeCmdBuilder,
    runner: Run,
    events: list[ExecEvent],
    make_cmd: Callable[[SafeCmdBuilder], tuple[SafeCmd, dict[str, str] | None]],
) -> None:
    cmd, overlay = make_cmd(fx)
    with pytest.raises(ValueError, match="NUL"):
        runner(cmd, context=ExecutionContext(env=overlay))
    assert "start" not in phases(events)
    assert_no_children()


def test_nul_in_a_later_pipeline_stage_spawns_nothing(
    fx: SafeCmdBuilder, events: list[ExecEvent]
) -> None:
    with pytest.raises(ValueError, match="NUL"):
        (fx("sleep", 5) | fx("echo", "a\0b")).run_sync()
    assert "start" not in phases(events)
    assert_no_children()


def test_forbidden_program_raises_before_anything(
    fx: SafeCmdBuilder, runner: Run, events: list[ExecEvent]
) -> None:
    with scoped(ScopeConfig(allowlist=frozenset())), pytest.raises(ForbiddenProgramError):
        runner(fx("echo"))
    assert events == []


# --- working directory and environment ----------------------------------------------


@pytest.mark.parametrize("as_path", [True, False])
def test_cwd_accepts_str_and_path(fx: SafeCmdBuilder, tmp_path: Path, as_path: bool) -> None:
    cwd: str | Path = tmp_path if as_path else str(tmp_path)
    result = fx("pwd").run_sync(context=ExecutionContext(cwd=cwd))
    assert result.stdout == f"{tmp_path}\n"


def test_child_inherits_the_live_environment(
    fx: SafeCmdBuilder, runner: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUPRUM_TEST_INHERITED", "from-parent")
    assert runner(fx("env", "CUPRUM_TEST_INHERITED")).stdout == "from-parent\n"


def test_call_env_overlays_the_environment(
    fx: SafeCmdBuilder, runner: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUPRUM_TEST_KEPT", "kept")
    ctx = ExecutionContext(env={"CUPRUM_TEST_CALL": "call"})
    assert runner(fx("env", "CUPRUM_TEST_CALL"), context=ctx).stdout == "call\n"
    assert runner(fx("env", "CUPRUM_TEST_KEPT"), context=ctx).stdout == "kept\n"


def test_unset_variable_is_unset(fx: SafeCmdBuilder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUPRUM_TEST_ABSENT", raising=False)
    assert fx("env", "CUPRUM_TEST_ABSENT").run_sync().exit_code == 3


def test_variable_set_after_entering_env_reaches_the_child(
    fx: SafeCmdBuilder, runner: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§11.42: the live os.environ is read at spawn, under the overlays."""
    with env(CUPRUM_TEST_OVERLAY="overlay"):
        monkeypatch.setenv("CUPRUM_TEST_LATE", "late")
        assert runner(fx("env", "CUPRUM_TEST_LATE")).stdout == "late\n"
        assert runner(fx("env", "CUPRUM_TEST_OVERLAY")).stdout == "overlay\n"


def test_env_precedence_in_real_runs(fx: SafeCmdBuilder) -> None:
    """§11.43: ExecutionContext.env beats env(); inner env() beats outer."""
    cmd = fx("env", "CUPRUM_TEST_LAYER")
    with env(CUPRUM_TEST_LAYER="outer"):
        assert cmd.run_sync().stdout == "outer\n"
        with env(CUPRUM_TEST_LAYER="inner"):
            assert cmd.run_sync().stdout == "inner\n"
            ctx = ExecutionContext(env={"CUPRUM_TEST_LAYER": "call"})
            assert cmd.run_sync(context=ctx).stdout == "call\n"
        assert cmd.run_sync().stdout == "outer\n"
    with scoped(ScopeConfig(env_overlay={"CUPRUM_TEST_LAYER": "scope"})):
        assert cmd.run_sync().stdout == "scope\n"


def test_os_environ_is_never_mutated(fx: SafeCmdBuilder, runner: Run) -> None:
    """§11.45 (first half): runs with overlays leave os.environ as it was."""
    before = dict(os.environ)
    with env(CUPRUM_TEST_SCOPED="1"):
        runner(fx("env", "CUPRUM_TEST_SCOPED"), context=ExecutionContext(env={"CUPRUM_X": "2"}))
        runner(fx("echo") | fx("cat"), context=ExecutionContext(env={"CUPRUM_Y": "3"}))
    assert dict(os.environ) == before


# --- stdin ----------------------------------------------------------------------------


def test_stdin_text_is_encoded_with_the_context_encoding(fx: SafeCmdBuilder, runner: Run) -> None:
    result = runner(fx("count"), stdin=StdinInput(text="é"))
    assert result.stdout == "2\n"
    latin = ExecutionContext(encoding="latin-1")
    assert runner(fx("count"), stdin=StdinInput(text="é"), context=latin).stdout == "1\n"


def test_stdin_text_under_replace_substitutes(fx: SafeCmdBuilder) -> None:
    ctx = ExecutionContext(encoding="ascii")
    result = fx("cat").run_sync(stdin=StdinInput(text="aé"), context=ctx)
    assert result.stdout == "a?"


def test_stdin_text_under_strict_raises_before_spawning(
    fx: SafeCmdBuilder, events: list[ExecEvent]
) -> None:
    ctx = ExecutionContext(encoding="ascii", errors="strict")
    with pytest.raises(UnicodeEncodeError):
        fx("cat").run_sync(stdin=StdinInput(text="é"), context=ctx)
    assert events == []


def test_stdin_data_is_sent_verbatim(fx: SafeCmdBuilder, runner: Run) -> None:
    payload = bytes(range(256)) * 3
    result = runner(
        fx("cat"), stdin=StdinInput(data=payload), context=ExecutionContext(encoding="latin-1")
    )
    assert result.stdout == payload.decode("latin-1")


def test_stdin_text_and_data_together_is_an_error() -> None:
    """§11.18 (first half)."""
    with pytest.raises(ValueError, match="text and data cannot both be provided"):
        StdinInput(text="a", data=b"a")


@pytest.fixture
def parent_stdin(tmp_path: Path) -> Iterator[bytes]:
    """Put a file with known content on this process's descriptor 0."""
    content = b"from the parent's stdin\n"
    source = tmp_path / "stdin.txt"
    source.write_bytes(content)
    saved = os.dup(0)
    fd = os.open(source, os.O_RDONLY)
    try:
        os.dup2(fd, 0)
        os.close(fd)
        yield content
    finally:
        os.dup2(saved, 0)
        os.close(saved)


@pytest.mark.parametrize("stdin", [None, StdinInput()], ids=["none", "empty-input"])
def test_without_payload_stdin_is_inherited(
    fx: SafeCmdBuilder, runner: Run, parent_stdin: bytes, stdin: StdinInput | None
) -> None:
    """§11.18 (second half): no payload means the parent's stdin."""
    os.lseek(0, 0, os.SEEK_SET)
    result = runner(fx("cat"), stdin=stdin)
    assert result.stdout == parent_stdin.decode()


def test_empty_payload_is_piped_and_closed(fx: SafeCmdBuilder, runner: Run) -> None:
    """``data=b""`` is a payload: the child sees an empty, closed stdin."""
    assert runner(fx("count"), stdin=StdinInput(data=b"")).stdout == "0\n"


def test_hundred_megabytes_of_stdin_are_read_in_full(fx: SafeCmdBuilder, runner: Run) -> None:
    result = runner(fx("count"), stdin=StdinInput(data=b"x" * HUNDRED_MB))
    assert result.ok
    assert result.stdout == f"{HUNDRED_MB}\n"


def test_child_that_never_reads_stdin_returns(
    fx: SafeCmdBuilder, runner: Run, events: list[ExecEvent], caplog: pytest.LogCaptureFixture
) -> None:
    """§11.21: the feeder gives up on a closed pipe; the run is unaffected,
    and the failure is logged at ERROR on ``cuprum.stdin``."""
    with caplog.at_level(logging.ERROR, logger="cuprum.stdin"):
        result = runner(fx("exit", 0), stdin=StdinInput(data=b"x" * HUNDRED_MB))
    assert result.ok
    stdin_phases = [e for e in events if e.phase in ("stdin", "stdin_error")]
    assert len(stdin_phases) == 1
    (event,) = stdin_phases
    if event.phase == "stdin_error":
        assert event.operation == "write"
        assert event.error_type is not None
        assert event.note is not None
        assert event.note.startswith(f"{event.error_type}: ")
        logged = [r for r in caplog.records if r.name == "cuprum.stdin"]
        assert len(logged) == 1
        assert logged[0].levelno == logging.ERROR
    else:
        assert event.byte_count == HUNDRED_MB


def test_forbidden_program_wins_over_unencodable_stdin(fx: SafeCmdBuilder) -> None:
    """§11.20: the allowlist is checked before stdin is encoded."""
    ctx = ExecutionContext(encoding="ascii", errors="strict")
    with scoped(ScopeConfig(allowlist=frozenset())), pytest.raises(ForbiddenProgramError):
        fx("cat").run_sync(stdin=StdinInput(text="é"), context=ctx)
