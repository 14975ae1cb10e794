"""Mistakes a type checker catches: ``mypy --strict`` rejects each line
marked ``# rejected`` below and accepts the rest (the typed usage file,
``tests/typing/usage.py``, covers what must be accepted)."""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

SNIPPET = """\
from cuprum import LS, ExecutionContext, RunOutputOptions, sh

ls = sh.make(LS)
ls("-l", 3, 1.5, True, human_readable=1)
ls(None)  # rejected: None is not an argument
ls(b"raw")  # rejected: bytes are not an argument
ls(color=None)  # rejected: None is not a keyword value
pipeline = ls() | ls()
pipeline.run_sync(capture=False)
pipeline.run_sync(chek=True)  # rejected: a misspelled keyword
pipeline.run_sync(capture="yes")  # rejected: deprecated flags are bools
ls().run_sync(capture=False)  # rejected: SafeCmd.run_sync takes no flags
maybe = ls().run_sync(output=RunOutputOptions(capture=False))
maybe.stdout.splitlines()  # rejected: output= may turn capture off
ls().run_sync().stdout.splitlines()
ExecutionContext(stdout_sink=b"")  # rejected: a sink is a stream, not bytes
"""


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[int, str]:
    """``mypy --strict`` on the snippet: line number -> error text."""
    source = tmp_path_factory.mktemp("typing") / "snippet.py"
    source.write_text(SNIPPET)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(source)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    errors: dict[int, str] = {}
    for match in re.finditer(r"^.*snippet\.py:(\d+): error: (.*)$", done.stdout, re.MULTILINE):
        line = int(match.group(1))
        errors[line] = errors.get(line, "") + match.group(2)
    assert errors, done.stdout + done.stderr
    return errors


REJECTED = [
    number for number, text in enumerate(SNIPPET.splitlines(), start=1) if "# rejected:" in text
]


@pytest.mark.parametrize(
    "number", REJECTED, ids=[SNIPPET.splitlines()[n - 1].split("#")[0].strip() for n in REJECTED]
)
def test_mypy_rejects(mypy_errors: dict[int, str], number: int) -> None:
    assert number in mypy_errors, SNIPPET.splitlines()[number - 1]


def test_mypy_accepts_every_other_line(mypy_errors: dict[int, str]) -> None:
    assert set(mypy_errors) == set(REJECTED), mypy_errors


def test_mypy_names_the_misspelled_keyword(mypy_errors: dict[int, str]) -> None:
    (number,) = (n for n in REJECTED if "chek" in SNIPPET.splitlines()[n - 1])
    assert "chek" in mypy_errors[number]


def test_parametrised_results_construct_at_run_time() -> None:
    # Fakes in users' tests may spell the type out; on Python 3.11 a typing
    # alias of a frozen slotted dataclass would fail to construct.
    from cuprum import CommandResult, PipelineResult, Program

    stage = CommandResult[str](
        program=Program("sort"), argv=(), exit_code=0, pid=1, stdout="a\n", stderr=""
    )
    assert stage == CommandResult(Program("sort"), (), 0, 1, "a\n", "")
    assert PipelineResult[str]((stage, stage)).stdout == "a\n"
    assert typing.get_args(CommandResult[str | None]) == (str | None,)
