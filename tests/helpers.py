"""Shared test helpers: a catalogue with the fixture program, command factories.

The fixture binary (``cuprum-fixture``, built from ``crates/cuprum-testbins``)
is found through ``CUPRUM_FIXTURE`` (set by the Makefile), falling back to
the release build in ``target/``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cuprum._backend import ENV_VAR, get_stream_backend
from cuprum._command import SafeCmd, make
from cuprum.catalogue import ProgramCatalogue, ProjectSettings
from cuprum.program import Program

REPO_ROOT = Path(__file__).resolve().parent.parent

FIXTURE_PATH = Path(
    os.environ.get("CUPRUM_FIXTURE") or REPO_ROOT / "target" / "release" / "cuprum-fixture"
)
"""Where the fixture binary is expected."""

FIXTURE = Program(str(FIXTURE_PATH))
"""The fixture binary as a catalogued program."""

SH = Program("/bin/sh")
"""A POSIX shell, for the few tests the fixture cannot serve (tests only)."""

TEST_PROJECT_NAME = "cuprum-tests"

TEST_PROJECT = ProjectSettings(
    name=TEST_PROJECT_NAME,
    programs=(FIXTURE, SH),
    documentation_locations=(),
    noise_rules=(),
)

TEST_CATALOGUE = ProgramCatalogue(projects=(TEST_PROJECT,))
"""A catalogue holding only the test programs."""


def fixture_cmd(*args: object) -> SafeCmd:
    """A :class:`SafeCmd` running ``cuprum-fixture *args`` (e.g. ``"sleep", 0.1``)."""
    return make(FIXTURE, catalogue=TEST_CATALOGUE)(*args)


def sh_cmd(script: str) -> SafeCmd:
    """A :class:`SafeCmd` running ``/bin/sh -c script``."""
    return make(SH, catalogue=TEST_CATALOGUE)("-c", script)


# --- processes, descriptors and backends (run, pipeline and leak tests) -------


def is_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process; a zombie counts as dead.

    The zombie case matters for grandchildren: once orphaned they are
    reparented to an init process that may reap them late (or never, in a
    container whose pid 1 does not reap).
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def wait_dead(pid: int, within: float = 1.0) -> bool:
    """Poll until ``pid`` is dead (see :func:`is_alive`); ``False`` if it
    outlived ``within`` seconds."""
    deadline = time.monotonic() + within
    while is_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def child_pids() -> set[int]:
    """This process's direct children, live or zombie, read from ``/proc``."""
    me = os.getpid()
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
            found.add(int(entry.name))
    return found


def assert_no_children() -> None:
    """Every child this process ever started has been reaped."""
    assert child_pids() == set()
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def open_fds() -> set[int]:
    """The descriptors open in this process (``/proc/self/fd``)."""
    return {int(entry.name) for entry in Path("/proc/self/fd").iterdir()}


@contextlib.contextmanager
def stream_backend(value: str | None) -> Iterator[None]:
    """Run the block with ``CUPRUM_STREAM_BACKEND=value`` (``None``: unset),
    resolving the backend afresh on entry and again after restoring."""
    saved = os.environ.get(ENV_VAR)
    if value is None:
        os.environ.pop(ENV_VAR, None)
    else:
        os.environ[ENV_VAR] = value
    get_stream_backend.cache_clear()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = saved
        get_stream_backend.cache_clear()
