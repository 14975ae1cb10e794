"""Shared test helpers: a catalogue with the fixture program, command factories.

The fixture binary (``cuprum-fixture``, built from ``crates/cuprum-testbins``)
is found through ``CUPRUM_FIXTURE`` (set by the Makefile), falling back to
the release build in ``target/``.
"""

from __future__ import annotations

import os
from pathlib import Path

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
