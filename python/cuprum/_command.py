"""Typed commands: :class:`SafeCmd`, :class:`Pipeline`, :func:`make`, :func:`build_argv`."""

from __future__ import annotations

import dataclasses
import os
import typing as t

from cuprum.catalogue import DEFAULT_CATALOGUE, ProgramCatalogue, ProjectSettings
from cuprum.program import Program
from cuprum.routing import PIPE
from cuprum.secrets import Secret

if t.TYPE_CHECKING:
    from cuprum._options import ExecutionContext, RunOutputOptions, StdinInput
    from cuprum._results import CommandResult, PipelineResult
    from cuprum.process import PipelineProcess, Process
    from cuprum.routing import ErrorTarget, OutputTarget, Redirect, StdinSource

__all__ = ["Pipeline", "SafeCmd", "SafeCmdBuilder", "build_argv", "make"]

_DEFAULT_OK_CODES: frozenset[int] = frozenset({0})


def _render(value: object, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        if isinstance(path, str):
            return path
    kind = "None" if value is None else type(value).__name__
    msg = (
        f"{kind} is not a valid argv element ({where}); "
        "pass str, int, float or an os.PathLike of str"
    )
    raise TypeError(msg)


def _flag(key: str, value: object) -> str:
    flag = "--" + key.replace("_", "-") + "="
    rendered = _render(value, f"keyword argument {key!r}")
    if isinstance(rendered, Secret):
        return Secret._after(flag, rendered)  # shown as --key=***
    return flag + rendered


def build_argv(*args: object, **kwargs: object) -> tuple[str, ...]:
    """Build an argv tail from positionals and ``--key=value`` keywords.

    Positionals are rendered with :func:`str` in order; keywords follow in
    insertion order as ``--key-with-dashes=value``. Booleans are not special
    (``flag=False`` gives ``--flag=False``) and nothing is escaped. The program
    name is never included. A :class:`~cuprum.Secret` stays secret: as a
    positional it is kept as is, as a keyword value it becomes a secret
    ``--key=value`` shown as ``--key=***``.

    Raises:
        TypeError: an argument is ``None``, ``bytes`` or another type that
            is not ``str``, ``int``, ``float`` or an ``os.PathLike`` of ``str``.

    >>> build_argv("log", 3, max_count=5)
    ('log', '3', '--max-count=5')
    """
    positional = [
        _render(value, f"positional argument {index}") for index, value in enumerate(args)
    ]
    flags = [_flag(key, value) for key, value in kwargs.items()]
    return (*positional, *flags)


@dataclasses.dataclass(frozen=True, slots=True, weakref_slot=True)
class SafeCmd:
    """A catalogued program with its arguments, ready to run.

    ``argv`` excludes the program; :attr:`argv_with_program` includes it. An
    argument may be a :class:`~cuprum.Secret`: the child receives its value,
    the ``repr`` shows ``***``. ``ok_codes`` are the exit codes that count as
    success (see :meth:`with_ok_codes`). ``cmd | other`` builds a
    :class:`Pipeline`.
    """

    program: Program
    argv: tuple[str, ...]
    project: ProjectSettings
    ok_codes: frozenset[int] = dataclasses.field(default=_DEFAULT_OK_CODES, kw_only=True)

    def __post_init__(self) -> None:
        if self.ok_codes is not _DEFAULT_OK_CODES:
            object.__setattr__(self, "ok_codes", _ok_codes(self.ok_codes))

    @property
    def argv_with_program(self) -> tuple[str, ...]:
        """The full argv: the program followed by its arguments."""
        return (str(self.program), *self.argv)

    def with_ok_codes(self, *codes: int) -> SafeCmd:
        """A copy of this command whose successful exit codes are ``codes``.

        ``grep`` and ``diff`` exit 1 for "no match"/"different", so
        ``cmd.with_ok_codes(0, 1)`` makes that a success: ``result.ok`` is
        true, ``check=True`` does not raise and a pipeline does not fail fast.
        A code ``-N`` accepts death by signal N.

        Raises:
            ValueError: no code is given.
            TypeError: a code is not an ``int`` (``bool`` included).
        """
        return dataclasses.replace(self, ok_codes=_ok_codes(codes))

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
        stdin: StdinSource | None = None,
        check: bool = False,
        stdout: None = None,
        stderr: None = None,
    ) -> CommandResult[str]: ...
    @t.overload
    async def run(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        stdin: StdinSource | None = None,
        check: bool = False,
        stdout: OutputTarget | None = None,
        stderr: ErrorTarget | None = None,
    ) -> CommandResult: ...
    async def run(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        stdin: StdinSource | None = None,
        check: bool = False,
        stdout: OutputTarget | None = None,
        stderr: ErrorTarget | None = None,
    ) -> CommandResult:
        """Run the command and return its :class:`~cuprum.sh.CommandResult`.

        An exit code outside :attr:`ok_codes` does not raise unless ``check``
        is true. ``stdin``, ``stdout`` and ``stderr`` route the streams to
        and from files, descriptors, :data:`~cuprum.DEVNULL` or (stdin) an
        iterable of bytes; ``stderr=STDOUT`` is ``2>&1``. A redirected stream
        is not captured (its result field is ``None``). See the users' guide
        for the full order of checks, hooks and events.

        Raises:
            ForbiddenProgramError: the current scope does not allow the program.
            TimeoutExpired: the deadline passed; the child was terminated.
            FileNotFoundError: the program or the working directory is missing.
            PermissionError: the program is not executable.
            ValueError: argv or environment contains a NUL character.
            ExitCodeError: ``check`` is true and the exit code is not in
                :attr:`ok_codes` (raised after the after hooks ran).
        """
        from cuprum._drivers import execute_async
        from cuprum._execution import command_run

        run = command_run(
            self,
            output=output,
            timeout=timeout,
            context=context,
            stdin=stdin,
            check=check,
            stdout=stdout,
            stderr=stderr,
        )
        return await execute_async(run)

    @t.overload
    def run_sync(
        self,
        *,
        output: None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        stdin: StdinSource | None = None,
        check: bool = False,
        stdout: None = None,
        stderr: None = None,
    ) -> CommandResult[str]: ...
    @t.overload
    def run_sync(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        stdin: StdinSource | None = None,
        check: bool = False,
        stdout: OutputTarget | None = None,
        stderr: ErrorTarget | None = None,
    ) -> CommandResult: ...
    def run_sync(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        stdin: StdinSource | None = None,
        check: bool = False,
        stdout: OutputTarget | None = None,
        stderr: ErrorTarget | None = None,
    ) -> CommandResult:
        """Blocking twin of :meth:`run`; waits natively with the GIL released."""
        from cuprum._drivers import execute_sync
        from cuprum._execution import command_run

        run = command_run(
            self,
            output=output,
            timeout=timeout,
            context=context,
            stdin=stdin,
            check=check,
            stdout=stdout,
            stderr=stderr,
        )
        return execute_sync(run)

    def start(
        self,
        *,
        stdin: StdinInput | Redirect | None = None,
        stdout: Redirect | None = PIPE,
        stderr: Redirect | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        output: RunOutputOptions | None = None,
    ) -> Process:
        """Spawn and return a live :class:`~cuprum.Process` at once (sync
        and async code alike). ``PIPE`` streams are read or written through
        the process; others follow ``output`` as for :meth:`run`.

        Raises:
            ValueError: a target other than ``PIPE``/``None`` (routing to
                files is done by ``run``).
        """
        from cuprum._execution import start_run
        from cuprum.process import Process

        return Process(
            start_run(
                (self,),
                pipeline=False,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                output=output,
                timeout=timeout,
                context=context,
            )
        )


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
        check: bool = False,
        capture: None = None,
        echo: bool | None = None,
        stdin: StdinSource | None = None,
        stdout: None = None,
        stderr: None = None,
    ) -> PipelineResult[str]: ...
    @t.overload
    async def run(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        check: bool = False,
        capture: bool | None = None,
        echo: bool | None = None,
        stdin: StdinSource | None = None,
        stdout: OutputTarget | None = None,
        stderr: ErrorTarget | None = None,
    ) -> PipelineResult: ...
    async def run(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        check: bool = False,
        capture: bool | None = None,
        echo: bool | None = None,
        stdin: StdinSource | None = None,
        stdout: OutputTarget | None = None,
        stderr: ErrorTarget | None = None,
        **unexpected: t.Never,
    ) -> PipelineResult:
        """Run every stage, relaying stdout to the next stage's stdin natively.

        ``capture=``/``echo=`` are deprecated spellings of ``output=``.
        ``stdin`` feeds the first stage, ``stdout`` takes the last stage's
        output, ``stderr`` applies to every stage (``STDOUT`` merges each
        stage's stderr into its own stdout). With ``check``, a pipeline that is not ok raises
        :class:`~cuprum.ExitCodeError` for its failing stage after the after
        hooks ran.

        Raises:
            TypeError: an unknown keyword (the message names this method).
        """
        from cuprum._drivers import execute_async
        from cuprum._execution import pipeline_run

        flags = _deprecated_flags("Pipeline.run", capture, echo, unexpected)
        run = pipeline_run(
            self,
            output=output,
            timeout=timeout,
            context=context,
            check=check,
            flags=flags,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
        )
        return await execute_async(run)

    @t.overload
    def run_sync(
        self,
        *,
        output: None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        check: bool = False,
        capture: None = None,
        echo: bool | None = None,
        stdin: StdinSource | None = None,
        stdout: None = None,
        stderr: None = None,
    ) -> PipelineResult[str]: ...
    @t.overload
    def run_sync(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        check: bool = False,
        capture: bool | None = None,
        echo: bool | None = None,
        stdin: StdinSource | None = None,
        stdout: OutputTarget | None = None,
        stderr: ErrorTarget | None = None,
    ) -> PipelineResult: ...
    def run_sync(
        self,
        *,
        output: RunOutputOptions | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        check: bool = False,
        capture: bool | None = None,
        echo: bool | None = None,
        stdin: StdinSource | None = None,
        stdout: OutputTarget | None = None,
        stderr: ErrorTarget | None = None,
        **unexpected: t.Never,
    ) -> PipelineResult:
        """Blocking twin of :meth:`run`."""
        from cuprum._drivers import execute_sync
        from cuprum._execution import pipeline_run

        flags = _deprecated_flags("Pipeline.run_sync", capture, echo, unexpected)
        run = pipeline_run(
            self,
            output=output,
            timeout=timeout,
            context=context,
            check=check,
            flags=flags,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
        )
        return execute_sync(run)

    def start(
        self,
        *,
        stdin: StdinInput | Redirect | None = None,
        stdout: Redirect | None = PIPE,
        stderr: Redirect | None = None,
        timeout: float | None = None,
        context: ExecutionContext | None = None,
        output: RunOutputOptions | None = None,
    ) -> PipelineProcess:
        """Spawn every stage and return a live
        :class:`~cuprum.PipelineProcess` at once; ``stdin`` feeds the first
        stage, ``stdout`` is the last stage's output, ``stderr`` carries
        every stage's. See :meth:`SafeCmd.start`.
        """
        from cuprum._execution import start_run
        from cuprum.process import PipelineProcess

        return PipelineProcess(
            start_run(
                self.parts,
                pipeline=True,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                output=output,
                timeout=timeout,
                context=context,
            )
        )


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


def _ok_codes(codes: object) -> frozenset[int]:
    if isinstance(codes, int) or not isinstance(codes, frozenset | set | tuple | list):
        msg = f"ok codes must be a collection of ints, got {type(codes).__name__}"
        raise TypeError(msg)
    for code in codes:
        if not isinstance(code, int) or isinstance(code, bool):
            msg = f"ok codes must be ints, got {code!r} ({type(code).__name__})"
            raise TypeError(msg)
    if not codes:
        msg = "ok codes must name at least one exit code"
        raise ValueError(msg)
    return codes if isinstance(codes, frozenset) else frozenset(codes)


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
