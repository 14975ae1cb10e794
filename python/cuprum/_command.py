"""Typed commands: :class:`SafeCmd`, :class:`Pipeline`, :func:`make`, :func:`build_argv`."""

from __future__ import annotations

import dataclasses
import os
import typing as t

from cuprum.catalogue import DEFAULT_CATALOGUE, ProgramCatalogue, ProjectSettings
from cuprum.program import Program

if t.TYPE_CHECKING:
    from cuprum._options import ExecutionContext, RunOutputOptions, StdinInput
    from cuprum._results import CommandResult, PipelineResult

__all__ = ["Pipeline", "SafeCmd", "SafeCmdBuilder", "build_argv", "make"]


def _render(value: object, where: str) -> str:
    if value is None:
        msg = f"None is not a valid argv element ({where})"
        raise TypeError(msg)
    return str(value)


def build_argv(*args: object, **kwargs: object) -> tuple[str, ...]:
    """Build an argv tail from positionals and ``--key=value`` keywords.

    Positionals are rendered with :func:`str` in order; keywords follow in
    insertion order as ``--key-with-dashes=value``. Booleans are not special
    (``flag=False`` gives ``--flag=False``) and nothing is escaped. The program
    name is never included.

    Raises:
        TypeError: an argument is ``None``.

    >>> build_argv("log", 3, max_count=5)
    ('log', '3', '--max-count=5')
    """
    positional = [
        _render(value, f"positional argument {index}") for index, value in enumerate(args)
    ]
    flags = [
        "--" + key.replace("_", "-") + "=" + _render(value, f"keyword argument {key!r}")
        for key, value in kwargs.items()
    ]
    return (*positional, *flags)


@dataclasses.dataclass(frozen=True, slots=True, weakref_slot=True)
class SafeCmd:
    """A catalogued program with its arguments, ready to run.

    ``argv`` excludes the program; :attr:`argv_with_program` includes it.
    ``cmd | other`` builds a :class:`Pipeline`.
    """

    program: Program
    argv: tuple[str, ...]
    project: ProjectSettings

    @property
    def argv_with_program(self) -> tuple[str, ...]:
        """The full argv: the program followed by its arguments."""
        return (str(self.program), *self.argv)

    def __or__(self, other: SafeCmd | Pipeline) -> Pipeline:
        return Pipeline.concat(self, other)

    # The overloads tell a type checker that a run with the default output
    # options captures (``CommandResult[str]``); any ``output=`` may not.
    @t.overload
    async def run(
        self,
        *,
        output: None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        stdin: StdinInput | None = None,
    ) -> CommandResult[str]: ...
    @t.overload
    async def run(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        stdin: StdinInput | None = None,
    ) -> CommandResult: ...
    async def run(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        stdin: StdinInput | None = None,
    ) -> CommandResult:
        """Run the command and return its :class:`~cuprum.sh.CommandResult`.

        A non-zero exit does not raise. See the users' guide for the full
        order of checks, hooks and events.

        Raises:
            ForbiddenProgramError: the current scope does not allow the program.
            TimeoutExpired: the deadline passed; the child was terminated.
            FileNotFoundError: the program or the working directory is missing.
            PermissionError: the program is not executable.
            ValueError: argv or environment contains a NUL character.
        """
        from cuprum._drivers import execute_async
        from cuprum._execution import command_run

        run = command_run(self, output=output, timeout=timeout, context=context, stdin=stdin)
        return await execute_async(run)

    @t.overload
    def run_sync(
        self,
        *,
        output: None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        stdin: StdinInput | None = None,
    ) -> CommandResult[str]: ...
    @t.overload
    def run_sync(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        stdin: StdinInput | None = None,
    ) -> CommandResult: ...
    def run_sync(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        stdin: StdinInput | None = None,
    ) -> CommandResult:
        """Blocking twin of :meth:`run`; waits natively with the GIL released."""
        from cuprum._drivers import execute_sync
        from cuprum._execution import command_run

        run = command_run(self, output=output, timeout=timeout, context=context, stdin=stdin)
        return execute_sync(run)


@dataclasses.dataclass(frozen=True, slots=True)
class Pipeline:
    """Two or more commands whose stdout feeds the next stage's stdin."""

    parts: tuple[SafeCmd, ...]

    def __post_init__(self) -> None:
        if len(self.parts) < 2:
            msg = f"a pipeline needs at least two stages, got {len(self.parts)}"
            raise ValueError(msg)

    @classmethod
    def concat(cls, left: SafeCmd | Pipeline, right: SafeCmd | Pipeline) -> Pipeline:
        """Join two operands into one flat pipeline, left stages first."""
        return cls((*_stages(left), *_stages(right)))

    def __or__(self, other: SafeCmd | Pipeline) -> Pipeline:
        return Pipeline.concat(self, other)

    @t.overload
    async def run(
        self,
        *,
        output: None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        capture: None = None,
        echo: bool | None = None,
    ) -> PipelineResult[str]: ...
    @t.overload
    async def run(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        capture: bool | None = None,
        echo: bool | None = None,
    ) -> PipelineResult: ...
    async def run(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        capture: bool | None = None,
        echo: bool | None = None,
        **unexpected: t.Never,
    ) -> PipelineResult:
        """Run every stage, relaying stdout to the next stage's stdin natively.

        ``capture=``/``echo=`` are deprecated spellings of ``output=``.

        Raises:
            TypeError: an unknown keyword (the message names this method).
        """
        from cuprum._drivers import execute_async
        from cuprum._execution import pipeline_run

        flags = _deprecated_flags("Pipeline.run", capture, echo, unexpected)
        run = pipeline_run(self, output=output, timeout=timeout, context=context, flags=flags)
        return await execute_async(run)

    @t.overload
    def run_sync(
        self,
        *,
        output: None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        capture: None = None,
        echo: bool | None = None,
    ) -> PipelineResult[str]: ...
    @t.overload
    def run_sync(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        capture: bool | None = None,
        echo: bool | None = None,
    ) -> PipelineResult: ...
    def run_sync(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        capture: bool | None = None,
        echo: bool | None = None,
        **unexpected: t.Never,
    ) -> PipelineResult:
        """Blocking twin of :meth:`run`."""
        from cuprum._drivers import execute_sync
        from cuprum._execution import pipeline_run

        flags = _deprecated_flags("Pipeline.run_sync", capture, echo, unexpected)
        run = pipeline_run(self, output=output, timeout=timeout, context=context, flags=flags)
        return execute_sync(run)


def _deprecated_flags(
    method: str, capture: bool | None, echo: bool | None, unexpected: t.Mapping[str, object]
) -> dict[str, bool]:
    """The deprecated ``capture=``/``echo=`` flags that were given; any other
    keyword is a ``TypeError`` naming ``method``."""
    if unexpected:
        msg = f"{method}() got unexpected keyword arguments: {', '.join(sorted(unexpected))}"
        raise TypeError(msg)
    given = {"capture": capture, "echo": echo}
    return {name: value for name, value in given.items() if value is not None}


def _stages(operand: object) -> tuple[SafeCmd, ...]:
    if isinstance(operand, Pipeline):
        return operand.parts
    if isinstance(operand, SafeCmd):
        return (operand,)
    msg = f"cannot pipe to {type(operand).__name__}; expected SafeCmd or Pipeline"
    raise TypeError(msg)


ArgValue: t.TypeAlias = str | int | float | os.PathLike[str]
"""What a builder accepts as an argument (``bool`` is an ``int``); ``None`` is
not one."""


class SafeCmdBuilder(t.Protocol):
    """What :func:`make` returns: call it with arguments to get a :class:`SafeCmd`.

    Positionals become arguments in order, keywords ``--key=value`` (see
    :func:`build_argv`). A type checker rejects ``None``, which fails at run
    time too.
    """

    def __call__(self, *args: ArgValue, **kwargs: ArgValue) -> SafeCmd: ...


def make(
    program: Program | str, *, catalogue: ProgramCatalogue = DEFAULT_CATALOGUE
) -> SafeCmdBuilder:
    """A builder of :class:`SafeCmd` for a catalogued ``program``.

    The lookup happens now, so an unknown program fails at ``make`` time;
    the error names the closest catalogued program and the one-line fix.

    Raises:
        UnknownProgramError: ``program`` is not in ``catalogue``.
    """
    entry = catalogue.lookup(program)

    def builder(*args: ArgValue, **kwargs: ArgValue) -> SafeCmd:
        return SafeCmd(
            program=entry.program, argv=build_argv(*args, **kwargs), project=entry.project
        )

    return builder
