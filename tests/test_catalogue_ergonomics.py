"""Catalogues without ceremony: defaulted project fields, one-line catalogues,
the opt-in COREUTILS project, and an UnknownProgramError that says what to do."""

from __future__ import annotations

import shutil

import pytest

from cuprum import (
    COREUTILS,
    COREUTILS_PROJECT,
    DEFAULT_CATALOGUE,
    DEFAULT_PROJECTS,
    DuplicateProgramError,
    DuplicateProjectError,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    UnknownProgramError,
    sh,
)
from helpers import FIXTURE


def test_project_settings_needs_only_a_name_and_programs() -> None:
    project = ProjectSettings(name="tools", programs=(Program("sort"),))
    assert project.documentation_locations == ()
    assert project.noise_rules == ()
    assert project.owns("sort")


def test_catalogue_of_builds_one_project_owning_the_programs() -> None:
    catalogue = ProgramCatalogue.of("sort", Program("uniq"), project="text")
    assert catalogue.allowlist == {"sort", "uniq"}
    assert list(catalogue.visible_settings()) == ["text"]
    assert catalogue.lookup("uniq").project_name == "text"


def test_catalogue_of_defaults_the_project_name_to_local() -> None:
    assert ProgramCatalogue.of("sort").project_for("sort").name == "local"


def test_catalogue_of_rejects_a_program_listed_twice() -> None:
    with pytest.raises(DuplicateProgramError):
        ProgramCatalogue.of("sort", "sort")


def test_with_projects_appends_to_a_copy() -> None:
    extended = DEFAULT_CATALOGUE.with_projects(COREUTILS)
    assert list(extended.visible_settings()) == [
        *(project.name for project in DEFAULT_PROJECTS),
        COREUTILS_PROJECT,
    ]
    assert extended.is_allowed("sort")
    assert extended.is_allowed("git")
    assert not DEFAULT_CATALOGUE.is_allowed("sort"), "the default catalogue is unchanged"


def test_with_projects_keeps_the_duplicate_checks() -> None:
    with pytest.raises(DuplicateProjectError):
        DEFAULT_CATALOGUE.with_projects(DEFAULT_PROJECTS[0])
    with pytest.raises(DuplicateProgramError):
        DEFAULT_CATALOGUE.with_projects(ProjectSettings("mine", (Program("git"),)))


def test_coreutils_holds_the_common_read_only_tools() -> None:
    expected = {"cat", "head", "tail", "sort", "uniq", "wc", "grep", "cut", "tr"}
    expected |= {"printf", "yes", "true", "false", "sleep"}
    assert expected <= set(COREUTILS.programs)
    assert COREUTILS.name == COREUTILS_PROJECT == "coreutils"


def test_coreutils_leaves_out_env_which_would_run_any_program() -> None:
    assert "env" not in COREUTILS.programs


def test_coreutils_combines_with_the_default_catalogue() -> None:
    # No program is claimed twice, so opting in can never raise.
    assert not set(COREUTILS.programs) & DEFAULT_CATALOGUE.allowlist


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("printf", "sort", "uniq")),
    reason="coreutils are not installed",
)
def test_sort_uniq_runs_from_coreutils() -> None:
    catalogue = DEFAULT_CATALOGUE.with_projects(COREUTILS)
    printf = sh.make("printf", catalogue=catalogue)
    sort = sh.make("sort", catalogue=catalogue)
    uniq = sh.make("uniq", catalogue=catalogue)
    result = (printf("pear\\napple\\npear\\n") | sort() | uniq("-c")).run_sync()
    assert result.stdout.split() == ["1", "apple", "2", "pear"]


def test_make_accepts_a_plain_string() -> None:
    catalogue = ProgramCatalogue.of(str(FIXTURE))
    result = sh.make(str(FIXTURE), catalogue=catalogue)("echo", "hi").run_sync()
    assert result.stdout == "hi\n"


def test_unknown_program_keeps_the_original_wording() -> None:
    with pytest.raises(UnknownProgramError, match="not in the catalogue allowlist") as info:
        sh.make(Program("frobnicate"))
    assert "'frobnicate'" in str(info.value)
    assert isinstance(info.value, LookupError)
    assert info.value.program == "frobnicate"


def test_unknown_program_names_the_nearest_match() -> None:
    with pytest.raises(UnknownProgramError) as info:
        sh.make(Program("gti"))
    assert info.value.suggestion == "git"
    assert "did you mean 'git'?" in str(info.value)


def test_unknown_program_lists_what_the_catalogue_has() -> None:
    with pytest.raises(UnknownProgramError) as info:
        sh.make(Program("frobnicate"))
    assert info.value.suggestion is None
    assert "the catalogue has: echo, git, ls, mdbook, rsync, tar" in str(info.value)


def test_unknown_program_lists_at_most_twelve_programs() -> None:
    catalogue = ProgramCatalogue.of(*(f"tool{n:02}" for n in range(20)))
    with pytest.raises(UnknownProgramError) as info:
        catalogue.lookup("zzz")
    assert "tool11 and 8 more" in str(info.value)
    assert "tool12" not in str(info.value)


def test_unknown_coreutils_program_shows_the_opt_in_fix_and_the_fix_works() -> None:
    with pytest.raises(UnknownProgramError) as info:
        sh.make(Program("sort"))
    fix = "make('sort', catalogue=DEFAULT_CATALOGUE.with_projects(COREUTILS))"
    assert f"to allow it: `{fix}`" in str(info.value)
    builder = eval(
        fix,
        {"make": sh.make, "DEFAULT_CATALOGUE": DEFAULT_CATALOGUE, "COREUTILS": COREUTILS},
    )
    assert builder("-r").program == "sort"


def test_unknown_other_program_shows_the_one_project_fix_and_the_fix_works() -> None:
    with pytest.raises(UnknownProgramError) as info:
        sh.make(Program("frobnicate"))
    fix = "make('frobnicate', catalogue=ProgramCatalogue.of('frobnicate'))"
    assert f"to allow it: `{fix}`" in str(info.value)
    builder = eval(fix, {"make": sh.make, "ProgramCatalogue": ProgramCatalogue})
    assert builder().program == "frobnicate"


def test_unknown_program_error_still_accepts_a_bare_message() -> None:
    error = UnknownProgramError("custom")
    assert str(error) == "custom"
    assert error.program is None
    assert error.suggestion is None


def test_the_guide_lists_exactly_the_coreutils_programs() -> None:
    import re

    from helpers import REPO_ROOT

    guide = (REPO_ROOT / "docs" / "users-guide.md").read_text()
    section = guide.split("### COREUTILS", 1)[1].split("It is **opt-in**", 1)[0]
    listed = re.findall(r"`([a-z0-9]+)`", section.split("tools:", 1)[1])
    assert listed == sorted(COREUTILS.programs)


def test_unknown_program_in_a_custom_catalogue_extends_that_catalogue() -> None:
    catalogue = ProgramCatalogue.of("uniq", project="mine")
    with pytest.raises(UnknownProgramError) as info:
        sh.make("frobnicate", catalogue=catalogue)
    fix = (
        "make('frobnicate', catalogue=catalogue.with_projects("
        "ProjectSettings('local', (Program('frobnicate'),))))"
    )
    assert f"to allow it: `{fix}`" in str(info.value)
    names = {"make": sh.make, "catalogue": catalogue}
    names |= {"ProjectSettings": ProjectSettings, "Program": Program}
    builder = eval(fix, names)
    assert builder().program == "frobnicate"
    assert builder().project.name == "local"
    with pytest.raises(
        UnknownProgramError, match=r"catalogue=catalogue\.with_projects\(COREUTILS\)"
    ):
        sh.make("sort", catalogue=catalogue)


def test_a_bare_string_of_programs_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match=r"not the string 'sort'; write \('sort',\)"):
        ProjectSettings(name="tools", programs="sort")  # type: ignore[arg-type]


def test_a_program_that_is_not_a_string_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match=r"`programs` of project 'local' holds None \(NoneType\)"):
        ProgramCatalogue.of(None)  # type: ignore[arg-type]
