"""Programs the command and pipeline scenarios run, and cuprum builders for them.

Every scenario spawns the fixture program (``$CUPRUM_FIXTURE``, else the
release build in ``target/``), so all implementations start the same binary;
the overhead scenarios also run ``/bin/true``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.harness import REPO_ROOT

if TYPE_CHECKING:
    from cuprum import SafeCmdBuilder

BIN_TRUE = "/bin/true"


def fixture_path() -> str:
    """The fixture binary: ``$CUPRUM_FIXTURE`` or the release build."""
    path = os.environ.get("CUPRUM_FIXTURE") or str(
        REPO_ROOT / "target" / "release" / "cuprum-fixture"
    )
    if not Path(path).is_file():
        msg = f"fixture program not found at {path}: run `make build` first"
        raise FileNotFoundError(msg)
    return path


def cuprum_builder(program: str) -> SafeCmdBuilder:
    """A cuprum builder for ``program`` through a one-project catalogue."""
    from cuprum import ProgramCatalogue, ProjectSettings, sh
    from cuprum.program import Program

    entry = Program(program)
    project = ProjectSettings(
        name="benchmarks", programs=(entry,), documentation_locations=(), noise_rules=()
    )
    return sh.make(entry, catalogue=ProgramCatalogue(projects=(project,)))


def check(implementation: str, actual: object, expected: object) -> None:
    """Fail the run when an implementation did not do the whole job."""
    if actual != expected:
        shown = repr(actual)
        if len(shown) > 80:
            shown = shown[:80] + "..."
        msg = f"{implementation}: unexpected result {shown}, expected {expected!r}"
        raise RuntimeError(msg)
