"""The program catalogue: the build-time allowlist of programs and their projects.

A :class:`ProgramCatalogue` groups curated programs under projects
(:class:`ProjectSettings`). :func:`cuprum.sh.make` only builds commands for
programs the catalogue knows; the run-time allowlist of a scope
(:mod:`cuprum.context`) is a separate, independent gate.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing as t
from collections.abc import Iterable, Mapping

from cuprum.program import Program

__all__ = [
    "COREUTILS",
    "COREUTILS_PROJECT",
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
    """A program is not in the catalogue allowlist.

    ``program`` is the name that was looked up and ``suggestion`` the
    catalogued program it most resembles (``None`` when nothing is close);
    both are ``None`` when the error was built from a message alone. The
    message lists what the catalogue holds and shows the one-line fix.
    """

    def __init__(
        self,
        message: str,
        *,
        program: Program | str | None = None,
        suggestion: Program | None = None,
    ) -> None:
        super().__init__(message)
        self.program = program
        self.suggestion = suggestion


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
    documentation_locations: tuple[str, ...] = ()
    noise_rules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # The annotations say tuple of str; these checks catch callers the
        # type checker does not see (``programs="sort"`` is the classic).
        programs: object = self.programs
        if isinstance(programs, str):
            msg = (
                f"`programs` of project {self.name!r} must be a tuple of names, "
                f"not the string {programs!r}; write ({programs!r},)"
            )
            raise TypeError(msg)
        for program in t.cast("tuple[object, ...]", programs):
            if not isinstance(program, str):
                msg = (
                    f"`programs` of project {self.name!r} holds {program!r} "
                    f"({type(program).__name__}); a program is named by a str"
                )
                raise TypeError(msg)

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


_LISTED = 12  # programs an UnknownProgramError lists before "and N more"


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

    @classmethod
    def of(cls, *programs: Program | str, project: str = "local") -> ProgramCatalogue:
        """A catalogue of one project, named ``project``, owning ``programs``.

        The shortest way to allow a handful of programs::

            sort = make("sort", catalogue=ProgramCatalogue.of("sort"))

        Raises:
            DuplicateProgramError: a program is listed twice.
        """
        settings = ProjectSettings(name=project, programs=tuple(map(Program, programs)))
        return cls(projects=(settings,))

    def with_projects(self, *projects: ProjectSettings) -> ProgramCatalogue:
        """A new catalogue with this one's projects followed by ``projects``.

        ``DEFAULT_CATALOGUE.with_projects(COREUTILS)`` adds the common
        read-only tools to the shipped catalogue.

        Raises:
            DuplicateProjectError: a project name is already registered.
            DuplicateProgramError: a program is already owned by a project.
        """
        return ProgramCatalogue(projects=(*self._projects.values(), *projects))

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
            raise self._unknown(program) from None

    def _unknown(self, program: Program | str) -> UnknownProgramError:
        name = str(program)
        names = sorted(self._entries)
        close = difflib.get_close_matches(name, names, n=1)
        suggestion = Program(close[0]) if close else None
        hint = f" (did you mean {suggestion!r}?)" if suggestion is not None else ""
        shown = ", ".join(names[:_LISTED]) or "no programs"
        if len(names) > _LISTED:
            shown += f" and {len(names) - _LISTED} more"
        # The fix extends the catalogue in use; for the shipped one it can be
        # spelled out in full, so it is a line to paste.
        base = "DEFAULT_CATALOGUE" if self is DEFAULT_CATALOGUE else "catalogue"
        if name in COREUTILS.programs:
            fix = f"make({name!r}, catalogue={base}.with_projects(COREUTILS))"
        elif self is DEFAULT_CATALOGUE:
            fix = f"make({name!r}, catalogue=ProgramCatalogue.of({name!r}))"
        else:
            project = f"ProjectSettings('local', (Program({name!r}),))"
            fix = f"make({name!r}, catalogue=catalogue.with_projects({project}))"
        parts = [
            f"program {name!r} is not in the catalogue allowlist{hint}",
            f"the catalogue has: {shown}",
            f"to allow it: `{fix}`",
        ]
        return UnknownProgramError("; ".join(parts), program=program, suggestion=suggestion)

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
COREUTILS_PROJECT = "coreutils"

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

COREUTILS = ProjectSettings(
    name=COREUTILS_PROJECT,
    programs=tuple(
        Program(name)
        for name in (
            "basename",
            "cat",
            "cmp",
            "comm",
            "cut",
            "date",
            "diff",
            "dirname",
            "false",
            "grep",
            "head",
            "id",
            "nl",
            "nproc",
            "od",
            "paste",
            "printenv",
            "printf",
            "pwd",
            "readlink",
            "realpath",
            "seq",
            "sha256sum",
            "sleep",
            "sort",
            "stat",
            "tail",
            "tr",
            "true",
            "uname",
            "uniq",
            "wc",
            "whoami",
            "yes",
        )
    ),
    documentation_locations=("docs/users-guide.md#coreutils",),
)
"""Common read-only tools (``cat``, ``sort``, ``grep``, ``printf`` ...), opt-in.

Not part of :data:`DEFAULT_CATALOGUE`; add it with
``DEFAULT_CATALOGUE.with_projects(COREUTILS)``. It leaves out ``echo`` and
``ls`` (already in the ``core-ops`` project), tools whose job is writing
files, and ``env``: ``env`` runs whatever program its arguments name, which
neither the catalogue nor a scope's allowlist sees. Allow it yourself with
``ProgramCatalogue.of("env")`` where that is acceptable.
"""
