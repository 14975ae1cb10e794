"""Messages a newcomer sees: a forbidden program is raised, not also printed;
a misspelled keyword names the method it was given to."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys

import pytest

from cuprum import ECHO, LS, ForbiddenProgramError, SafeCmdBuilder, ScopeConfig, scoped, sh


def test_forbidden_program_is_logged_at_debug_only(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.DEBUG, logger="cuprum"),
        scoped(ScopeConfig(allowlist=frozenset({ECHO}))),
        pytest.raises(ForbiddenProgramError),
    ):
        sh.make(LS)().run_sync()
    levels = [record.levelno for record in caplog.records if record.name == "cuprum.context"]
    assert levels == [logging.DEBUG]


def test_forbidden_program_prints_nothing_without_logging_configured() -> None:
    # With no handler configured, logging prints WARNING and above to stderr
    # itself; a DEBUG record stays silent, so only the traceback is shown.
    script = (
        "import cuprum\n"
        "from cuprum import ECHO, LS, ScopeConfig, scoped, sh\n"
        "with scoped(ScopeConfig(allowlist=frozenset({ECHO}))):\n"
        "    try:\n"
        "        sh.make(LS)().run_sync()\n"
        "    except cuprum.ForbiddenProgramError as error:\n"
        "        print(type(error).__module__, error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stderr == ""
    assert done.stdout == "cuprum Program 'ls' is not allowed in the current context\n"


def test_misspelled_pipeline_keyword_names_run_sync(fx: SafeCmdBuilder) -> None:
    pipeline = fx("echo", "x") | fx("cat")
    with pytest.raises(
        TypeError, match=r"^Pipeline\.run_sync\(\) got unexpected keyword arguments: timout$"
    ):
        pipeline.run_sync(timout=1)  # type: ignore[call-overload]


def test_misspelled_pipeline_keyword_names_run(fx: SafeCmdBuilder) -> None:
    pipeline = fx("echo", "x") | fx("cat")
    with pytest.raises(TypeError, match=r"^Pipeline\.run\(\) got unexpected keyword arguments"):
        asyncio.run(pipeline.run(chek=True))  # type: ignore[call-overload]


def test_misspelled_command_keyword_names_the_method(fx: SafeCmdBuilder) -> None:
    with pytest.raises(
        TypeError, match=r"run_sync\(\) got an unexpected keyword argument 'timout'"
    ):
        fx("echo").run_sync(timout=1)  # type: ignore[call-overload]
