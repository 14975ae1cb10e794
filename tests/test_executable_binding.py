"""The allowlist binds the binary, not the name (``spec/beyond.md`` §13.1).

With the allowlist ``{echo}``, someone who controls the run's environment or
a directory tries to make cuprum run a fake ``echo`` (a script that writes a
marker file). Every variant must run the real program or fail before
spawning — never the fake. cuprum's own ``PATH`` (``os.environ``) is the one
thing that does choose the file: that is the documented trust boundary, and
the chosen file is reported on the ``start`` event.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cuprum import ECHO, ExecutionContext, Program, ProgramCatalogue, ProjectSettings, SafeCmd, sh
from cuprum.context import ForbiddenProgramError, ScopeConfig, env, observe, scoped
from cuprum.events import ExecEvent
from helpers import FIXTURE_PATH, assert_no_children

REAL_ECHO = shutil.which("echo")


def catalogued(name: str) -> SafeCmd:
    """``name hi`` through a catalogue that lists ``name`` (``name`` may be
    relative, like ``./echo``)."""
    program = Program(name)
    project = ProjectSettings(
        name="binding", programs=(program,), documentation_locations=(), noise_rules=()
    )
    return sh.make(program, catalogue=ProgramCatalogue(projects=(project,)))("hi")


@dataclasses.dataclass(frozen=True)
class Scene:
    """Where the attack happens.

    ``home`` is cuprum's working directory (nothing named ``echo`` or
    ``bin/`` there); ``evil`` holds fake ``echo``, ``bin/echo`` and
    ``bin/tool`` scripts that create ``marker`` when run.
    """

    home: Path
    evil: Path
    marker: Path
    path: str


@pytest.fixture
def scene(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scene:
    home, evil = tmp_path / "home", tmp_path / "evil"
    (evil / "bin").mkdir(parents=True)
    home.mkdir()
    marker = tmp_path / "marker"
    for fake in ("echo", "bin/echo", "bin/tool"):
        script = evil / fake
        script.write_text(f"#!/bin/sh\ntouch '{marker}'\necho fake\n")
        script.chmod(0o755)
    monkeypatch.chdir(home)
    return Scene(home, evil, marker, os.environ.get("PATH", os.defpath))


@pytest.fixture
def starts() -> Iterator[list[ExecEvent]]:
    recorded: list[ExecEvent] = []

    def hook(event: ExecEvent) -> None:
        if event.phase == "start":
            recorded.append(event)

    with observe(hook):
        yield recorded


Variant = Callable[[Scene, pytest.MonkeyPatch], tuple[SafeCmd, ExecutionContext, object]]


def _run_env_path(scene: Scene, _: pytest.MonkeyPatch) -> tuple[SafeCmd, ExecutionContext, object]:
    return sh.make(ECHO)("hi"), ExecutionContext(env={"PATH": str(scene.evil)}), None


def _env_overlay_path(
    scene: Scene, _: pytest.MonkeyPatch
) -> tuple[SafeCmd, ExecutionContext, object]:
    return sh.make(ECHO)("hi"), ExecutionContext(), env(PATH=str(scene.evil))


def _run_env_relative_path(
    scene: Scene, _: pytest.MonkeyPatch
) -> tuple[SafeCmd, ExecutionContext, object]:
    context = ExecutionContext(env={"PATH": ":."}, cwd=scene.evil)
    return sh.make(ECHO)("hi"), context, None


def _process_path_empty_entry(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> tuple[SafeCmd, ExecutionContext, object]:
    monkeypatch.setenv("PATH", ":" + scene.path)
    return sh.make(ECHO)("hi"), ExecutionContext(cwd=scene.evil), None


def _process_path_dot(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> tuple[SafeCmd, ExecutionContext, object]:
    monkeypatch.setenv("PATH", ".")
    return sh.make(ECHO)("hi"), ExecutionContext(cwd=scene.evil), None


def _relative_dot_slash(
    scene: Scene, _: pytest.MonkeyPatch
) -> tuple[SafeCmd, ExecutionContext, object]:
    return catalogued("./echo"), ExecutionContext(cwd=scene.evil), None


def _relative_subdirectory(
    scene: Scene, _: pytest.MonkeyPatch
) -> tuple[SafeCmd, ExecutionContext, object]:
    return catalogued("bin/tool"), ExecutionContext(cwd=scene.evil), None


@pytest.mark.parametrize(
    ("variant", "outcome"),
    [
        pytest.param(_run_env_path, "real", id="run-env-PATH"),
        pytest.param(_env_overlay_path, "real", id="env-registration-PATH"),
        pytest.param(_run_env_relative_path, "real", id="run-env-PATH-empty-and-dot-with-run-cwd"),
        pytest.param(
            _process_path_empty_entry, "real", id="os-environ-PATH-empty-entry-with-run-cwd"
        ),
        pytest.param(_process_path_dot, "not found", id="os-environ-PATH-dot-with-run-cwd"),
        pytest.param(_relative_dot_slash, "not found", id="relative-dot-slash-with-run-cwd"),
        pytest.param(_relative_subdirectory, "not found", id="relative-subdirectory-with-run-cwd"),
    ],
)
def test_no_hijack_variant_runs_the_fake_program(
    variant: Variant,
    outcome: str,
    scene: Scene,
    monkeypatch: pytest.MonkeyPatch,
    starts: list[ExecEvent],
) -> None:
    """The real program runs, or (where cuprum's own PATH and working
    directory hold no such program) the run fails before spawning."""
    cmd, context, registration = variant(scene, monkeypatch)
    manager = registration if registration is not None else contextlib.nullcontext()
    assert isinstance(manager, contextlib.AbstractContextManager)
    with scoped(ScopeConfig(allowlist=frozenset({cmd.program}))), manager:
        if outcome == "real":
            assert cmd.run_sync(context=context).stdout == "hi\n"
            assert starts[0].tags["executable"] == REAL_ECHO
        else:
            with pytest.raises(FileNotFoundError, match=f"program `{cmd.program}` not found"):
                cmd.run_sync(context=context)
            assert starts == []
    assert not scene.marker.exists(), "the fake program ran"
    assert_no_children()


def test_relative_names_resolve_against_cuprums_working_directory(
    scene: Scene, starts: list[ExecEvent]
) -> None:
    legit = scene.home / "bin" / "tool"
    legit.parent.mkdir()
    legit.write_text("#!/bin/sh\necho legit\n")
    legit.chmod(0o755)
    result = catalogued("bin/tool").run_sync(context=ExecutionContext(cwd=scene.evil))
    assert result.stdout == "legit\n"
    assert starts[0].tags["executable"] == str(legit)
    assert not scene.marker.exists()


def test_cuprums_own_path_is_read_at_call_time_and_reported(
    scene: Scene, monkeypatch: pytest.MonkeyPatch, starts: list[ExecEvent]
) -> None:
    """``os.environ["PATH"]`` is cuprum's own PATH: whoever changes it
    chooses the file (the documented trust boundary), and the start event
    shows which file that is."""
    trusted = scene.home / "tools"
    trusted.mkdir()
    chosen = trusted / "echo"
    chosen.write_text("#!/bin/sh\necho chosen\n")
    chosen.chmod(0o755)
    assert sh.make(ECHO)("hi").run_sync().stdout == "hi\n"
    monkeypatch.setenv("PATH", f"{trusted}{os.pathsep}{scene.path}")
    assert sh.make(ECHO)("hi").run_sync().stdout == "chosen\n"
    assert [event.tags["executable"] for event in starts] == [REAL_ECHO, str(chosen)]


def test_an_unset_path_searches_os_defpath(
    monkeypatch: pytest.MonkeyPatch, starts: list[ExecEvent]
) -> None:
    monkeypatch.delenv("PATH")
    expected = shutil.which("echo", path=os.defpath)
    assert expected is not None
    assert sh.make(ECHO)("hi").run_sync().stdout == "hi\n"
    assert starts[0].tags["executable"] == expected


def test_argv0_stays_the_catalogued_name(starts: list[ExecEvent]) -> None:
    program = Program("sh")
    project = ProjectSettings(
        name="shell", programs=(program,), documentation_locations=(), noise_rules=()
    )
    cmd = sh.make(program, catalogue=ProgramCatalogue(projects=(project,)))("-c", "echo $0")
    assert cmd.run_sync().stdout == "sh\n"
    executable = starts[0].tags["executable"]
    assert isinstance(executable, str)
    assert Path(executable).is_absolute()
    assert executable == shutil.which("sh")


def test_every_event_from_start_on_names_the_executable(
    fx: sh.SafeCmdBuilder,
) -> None:
    recorded: list[ExecEvent] = []
    with observe(recorded.append):
        fx("echo", "x").run_sync()
    assert [event.phase for event in recorded] == ["plan", "start", "stdout", "exit"]
    assert "executable" not in recorded[0].tags, "plan comes before resolution"
    assert {event.tags["executable"] for event in recorded[1:]} == {str(FIXTURE_PATH)}


def test_a_directly_built_safecmd_is_still_blocked_by_a_restricted_scope() -> None:
    rogue = SafeCmd(Program("rm"), ("-rf", "/nonexistent"), sh.make(ECHO)().project)
    with (
        scoped(ScopeConfig(allowlist=frozenset({ECHO}))),
        pytest.raises(ForbiddenProgramError),
    ):
        rogue.run_sync()
    assert_no_children()


def test_a_user_tag_cannot_hide_the_executable(fx: sh.SafeCmdBuilder) -> None:
    recorded: list[ExecEvent] = []
    with observe(recorded.append):
        fx("echo", "x").run_sync(context=ExecutionContext(tags={"executable": "/bin/decoy"}))
    assert recorded[0].tags["executable"] == "/bin/decoy", "plan keeps the caller's tags"
    assert recorded[1].phase == "start"
    assert recorded[1].tags["executable"] == str(FIXTURE_PATH)
