"""The program catalogue: the build-time allowlist of programs and their projects.

A :class:`ProgramCatalogue` groups curated programs under projects
(:class:`ProjectSettings`). :func:`cuprum.sh.make` only builds commands for
programs the catalogue knows; the run-time allowlist of a scope
(:mod:`cuprum.context`) is a separate, independent gate.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Iterable, Mapping

from cuprum.program import Program

__all__ = [
    "CORE_OPS_PROJECT",
    "DEFAULT_CATALOGUE",
    "DEFAULT_PROJECTS",
    "DOCUMENTATION_PROJECT",
    "DOC_TOOL",
    "ECHO",
    "GIT",
    "LS",
    "RSYNC",
    "TAR",
    "DuplicateProgramError",
    "DuplicateProjectError",
    "ProgramCatalogue",
    "ProgramEntry",
    "ProjectSettings",
    "UnknownProgramError",
]


class UnknownProgramError(LookupError):
    """A program is not in the catalogue allowlist."""


class DuplicateProjectError(ValueError):
    """Two projects in one catalogue share a name."""

    def __init__(self, project_name: str) -> None:
        super().__init__(f"project {project_name!r} is registered more than once")
        self.project_name = project_name


class DuplicateProgramError(ValueError):
    """Two projects in one catalogue claim the same program."""

    def __init__(self, program: Program, owner: str) -> None:
        super().__init__(f"program {program!r} is already owned by project {owner!r}")
        self.program = program
        self.owner = owner


@dataclasses.dataclass(frozen=True, slots=True)
class ProjectSettings:
    """A project: the programs it owns and where its documentation lives.

    ``noise_rules`` are regular-expression sources describing output lines a
    project considers noise; cuprum stores them for tools to use and never
    applies them itself.
    """

    name: str
    programs: tuple[Program, ...]
    documentation_locations: tuple[str, ...]
    noise_rules: tuple[str, ...]

    def owns(self, program: Program | str) -> bool:
        """Whether ``program`` belongs to this project."""
        return program in self.programs


@dataclasses.dataclass(frozen=True, slots=True)
class ProgramEntry:
    """The result of a catalogue lookup: a program and its owning project."""

    program: Program
    project: ProjectSettings

    @property
    def project_name(self) -> str:
        """The owning project's name."""
        return self.project.name


class ProgramCatalogue:
    """A static allowlist of programs grouped by project.

    Construction is eager: a repeated project name raises
    :class:`DuplicateProjectError` (checked first), a program claimed by two
    projects raises :class:`DuplicateProgramError` naming the first claimant.
    """

    __slots__ = ("_entries", "_projects")

    def __init__(self, *, projects: Iterable[ProjectSettings]) -> None:
        settings = tuple(projects)
        by_name: dict[str, ProjectSettings] = {}
        for project in settings:
            if project.name in by_name:
                raise DuplicateProjectError(project.name)
            by_name[project.name] = project
        entries: dict[str, ProgramEntry] = {}
        for project in settings:
            for program in project.programs:
                if program in entries:
                    raise DuplicateProgramError(program, entries[program].project.name)
                entries[program] = ProgramEntry(program=program, project=project)
        self._projects: Mapping[str, ProjectSettings] = types.MappingProxyType(by_name)
        self._entries = entries

    @property
    def allowlist(self) -> frozenset[Program]:
        """Every catalogued program."""
        return frozenset(entry.program for entry in self._entries.values())

    def is_allowed(self, program: Program | str) -> bool:
        """Whether ``program`` is catalogued."""
        return program in self._entries

    def lookup(self, program: Program | str) -> ProgramEntry:
        """The entry for ``program``.

        Raises:
            UnknownProgramError: ``program`` is not catalogued.
        """
        try:
            return self._entries[program]
        except KeyError:
            raise UnknownProgramError(
                f"program {program!r} is not in the catalogue allowlist"
            ) from None

    def project_for(self, program: Program | str) -> ProjectSettings:
        """The project owning ``program`` (see :meth:`lookup`)."""
        return self.lookup(program).project

    def visible_settings(self) -> Mapping[str, ProjectSettings]:
        """A read-only mapping of project name to settings, in registration order."""
        return self._projects

    def __repr__(self) -> str:
        return f"ProgramCatalogue(projects={tuple(self._projects.values())!r})"


CORE_OPS_PROJECT = "core-ops"
DOCUMENTATION_PROJECT = "docs"

ECHO = Program("echo")
GIT = Program("git")
LS = Program("ls")
RSYNC = Program("rsync")
TAR = Program("tar")
DOC_TOOL = Program("mdbook")

DEFAULT_PROJECTS: tuple[ProjectSettings, ...] = (
    ProjectSettings(
        name=CORE_OPS_PROJECT,
        programs=(ECHO, GIT, LS, RSYNC, TAR),
        documentation_locations=("docs/users-guide.md#program-catalogue",),
        noise_rules=("^progress:", "^note:"),
    ),
    ProjectSettings(
        name=DOCUMENTATION_PROJECT,
        programs=(DOC_TOOL,),
        documentation_locations=("https://docs.example.invalid/cuprum/catalogue",),
        noise_rules=(r"^\[INFO\]",),
    ),
)

DEFAULT_CATALOGUE = ProgramCatalogue(projects=DEFAULT_PROJECTS)
