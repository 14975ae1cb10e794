"""Errors raised before a run starts name what went wrong (``spec/beyond.md``
§12.6 and §13.1): the program, the file it resolved to, or the working
directory — in ``str()`` and ``repr()`` — and keep their errno, so Python
picks the matching ``OSError`` subclass."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cuprum import (
    PIPE,
    ExecutionContext,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    SafeCmd,
    sh,
)
from cuprum.context import observe
from cuprum.events import ExecEvent
from cuprum.sh import SafeCmdBuilder
from helpers import FIXTURE, assert_no_children

Run = Callable[..., Any]


def catalogued(name: str | Path, *args: str) -> SafeCmd:
    program = Program(str(name))
    project = ProjectSettings(
        name="errors", programs=(program,), documentation_locations=(), noise_rules=()
    )
    return sh.make(program, catalogue=ProgramCatalogue(projects=(project,)))(*args)


def executable_file(path: Path, content: str, mode: int = 0o755) -> Path:
    path.write_text(content)
    path.chmod(mode)
    return path


def raised(runner: Run, cmd: SafeCmd, **kwargs: Any) -> OSError:
    recorded: list[ExecEvent] = []
    with observe(recorded.append), pytest.raises(OSError) as excinfo:
        runner(cmd, **kwargs)
    assert [event.phase for event in recorded] == ["plan"], "nothing started"
    assert_no_children()
    return excinfo.value


def test_a_program_missing_from_path_is_named(runner: Run) -> None:
    error = raised(runner, catalogued("cuprum-no-such-program"))
    assert type(error) is FileNotFoundError
    assert error.errno == errno.ENOENT
    assert error.filename == "cuprum-no-such-program"
    assert "program `cuprum-no-such-program` not found on PATH" in repr(error)


def test_a_missing_relative_program_gives_the_path_it_looked_at(
    runner: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    error = raised(runner, catalogued("./tool"))
    assert type(error) is FileNotFoundError
    assert f"program `./tool` not found at {tmp_path / 'tool'}" in repr(error)


def test_a_program_without_execute_permission_names_the_resolved_file(
    runner: Run, tmp_path: Path
) -> None:
    program = executable_file(tmp_path / "tool", "#!/bin/sh\n", 0o644)
    error = raised(runner, catalogued(program))
    assert type(error) is PermissionError
    assert error.errno == errno.EACCES
    assert error.filename == str(program)
    assert f"cannot execute `{program}` at {program}" in repr(error)


def test_a_file_in_no_executable_format_is_an_oserror_naming_the_program(
    runner: Run, tmp_path: Path
) -> None:
    program = executable_file(tmp_path / "garbage", "\x01\x02 not a program\n")
    error = raised(runner, catalogued(program))
    assert error.errno == errno.ENOEXEC
    assert error.filename == str(program)
    assert f"cannot execute `{program}` at {program}" in str(error)
    assert os.strerror(errno.ENOEXEC) in str(error)


def test_an_argument_list_too_long_is_an_oserror_naming_the_program(runner: Run) -> None:
    # One argument above the kernel's per-string limit (32 pages).
    error = raised(runner, catalogued(FIXTURE, "echo", "x" * (1 << 18)))
    assert error.errno == errno.E2BIG
    assert f"cannot execute `{FIXTURE}`" in repr(error)


def test_a_working_directory_that_is_a_file_is_not_a_directory(
    fx: SafeCmdBuilder, runner: Run, tmp_path: Path
) -> None:
    file = executable_file(tmp_path / "file", "")
    error = raised(runner, fx("pwd"), context=ExecutionContext(cwd=file))
    assert type(error) is NotADirectoryError
    assert error.errno == errno.ENOTDIR
    assert error.filename == str(file)
    assert f"working directory `{file}`" in str(error)


def test_a_missing_working_directory_is_file_not_found(
    fx: SafeCmdBuilder, runner: Run, tmp_path: Path
) -> None:
    missing = tmp_path / "gone"
    error = raised(runner, fx("pwd"), context=ExecutionContext(cwd=missing))
    assert type(error) is FileNotFoundError
    assert error.errno == errno.ENOENT
    assert error.filename == str(missing)
    assert f"working directory `{missing}`" in repr(error)


def test_a_later_pipeline_stage_that_cannot_execute_is_a_permission_error_naming_it(
    fx: SafeCmdBuilder, runner: Run, tmp_path: Path
) -> None:
    # Stage 1 fails at exec after stage 0 started: the error travels in the
    # run's outcome, not from the spawn call, and keeps its fields.
    program = executable_file(tmp_path / "tool", "#!/bin/sh\n", 0o644)
    with pytest.raises(OSError) as excinfo:
        runner(fx("sleep", 5) | catalogued(program))
    assert type(excinfo.value) is PermissionError
    assert excinfo.value.errno == errno.EACCES
    assert excinfo.value.filename == str(program)
    assert_no_children()


@pytest.mark.parametrize(
    ("case", "expected", "code"),
    [
        ("missing program", FileNotFoundError, errno.ENOENT),
        ("not executable", PermissionError, errno.EACCES),
        ("cwd missing", FileNotFoundError, errno.ENOENT),
        ("cwd is a file", NotADirectoryError, errno.ENOTDIR),
    ],
)
def test_a_live_process_that_cannot_start_raises_the_oserror_subclass_with_its_fields(
    fx: SafeCmdBuilder, tmp_path: Path, case: str, expected: type[OSError], code: int
) -> None:
    plain = executable_file(tmp_path / "plain", "#!/bin/sh\n", 0o644)
    cmd, context, filename = {
        "missing program": (catalogued("cuprum-no-such-program"), None, "cuprum-no-such-program"),
        "not executable": (catalogued(plain), None, str(plain)),
        "cwd missing": (
            fx("pwd"),
            ExecutionContext(cwd=tmp_path / "gone"),
            str(tmp_path / "gone"),
        ),
        "cwd is a file": (fx("pwd"), ExecutionContext(cwd=plain), str(plain)),
    }[case]
    with pytest.raises(OSError) as excinfo:
        cmd.start(stdout=PIPE, context=context)
    assert type(excinfo.value) is expected
    assert excinfo.value.errno == code
    assert excinfo.value.filename == filename
    assert_no_children()
