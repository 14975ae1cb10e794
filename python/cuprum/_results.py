"""Outcomes: :class:`CommandResult`, :class:`PipelineResult`, :class:`TimeoutExpired`."""

from __future__ import annotations

import dataclasses
import types
import typing as t

from cuprum.program import Program

__all__ = ["CommandResult", "PipelineResult", "TimeoutExpired"]

if t.TYPE_CHECKING:
    from typing_extensions import TypeVar

    _Out_co = TypeVar("_Out_co", bound=str | None, default=str | None, covariant=True)
else:
    _Out_co = t.TypeVar("_Out_co", covariant=True)


def _alias(cls: type, item: object) -> types.GenericAlias:
    # ``CommandResult[str](...)`` must construct: on Python 3.11 the typing
    # alias fails setting ``__orig_class__`` on a frozen slotted dataclass;
    # ``types.GenericAlias`` skips that.
    return types.GenericAlias(cls, item)


@dataclasses.dataclass(frozen=True, slots=True)
class CommandResult(t.Generic[_Out_co]):
    """The outcome of one command.

    ``exit_code`` is ``-N`` when the child died of signal N; ``pid`` is ``-1``
    when unknown; ``stdout``/``stderr`` are ``None`` unless captured. ``argv``
    shows every secret argument as ``***``. ``ok_codes`` are the command's
    successful exit codes.

    For type checkers the class is generic in the type of captured text: a
    run with the default output options returns ``CommandResult[str]`` (its
    ``stdout`` is a ``str``, no ``assert`` needed); a run given ``output=``
    returns ``CommandResult[str | None]``, which is what a bare
    ``CommandResult`` annotation means.
    """

    program: Program
    argv: tuple[str, ...]
    exit_code: int
    pid: int
    stdout: _Out_co
    stderr: _Out_co
    ok_codes: frozenset[int] = dataclasses.field(default=frozenset({0}), kw_only=True)

    if not t.TYPE_CHECKING:
        __class_getitem__ = classmethod(_alias)

    @property
    def ok(self) -> bool:
        """Whether the exit code is one of :attr:`ok_codes`."""
        return self.exit_code in self.ok_codes


@dataclasses.dataclass(frozen=True, slots=True)
class PipelineResult(t.Generic[_Out_co]):
    """The outcome of a pipeline: one :class:`CommandResult` per stage.

    ``failure_index`` is the stage first observed to fail, or ``None``.
    Generic like :class:`CommandResult`: ``PipelineResult[str]`` (default
    output options) has a ``str`` :attr:`stdout`.
    """

    stages: tuple[CommandResult, ...]
    failure_index: int | None = None
    early_exit_stages: tuple[int, ...] = dataclasses.field(default=(), kw_only=True)
    """Stages that ended by ``SIGPIPE``/``EPIPE`` after their downstream stage had
    already exited (as ``yes`` in ``yes | head -n1``): they keep their true exit
    code but, as in a shell, do not count as failures."""

    if not t.TYPE_CHECKING:
        __class_getitem__ = classmethod(_alias)

    @property
    def final(self) -> CommandResult:
        """The last stage's result."""
        return self.stages[-1]

    @property
    def stdout(self) -> _Out_co:
        """The last stage's captured stdout."""
        return t.cast("_Out_co", self.final.stdout)

    @property
    def failure(self) -> CommandResult | None:
        """The stage that failed first, if any."""
        return None if self.failure_index is None else self.stages[self.failure_index]

    @property
    def ok(self) -> bool:
        """Whether every stage is ok by its own ok codes (early-exit stages excepted)."""
        return all(
            stage.ok or index in self.early_exit_stages for index, stage in enumerate(self.stages)
        )


class TimeoutExpired(TimeoutError):
    """A command or pipeline outlived its deadline and was terminated.

    ``output``/``stderr`` hold what was captured before the deadline (``None``
    when not capturing).
    """

    def __init__(
        self,
        *,
        cmd: object,
        timeout: float,
        output: str | None = None,
        stderr: str | None = None,
    ) -> None:
        super().__init__(f"Command {cmd!r} timed out after {timeout} seconds")
        self.cmd = cmd
        self.timeout = timeout
        self.output = output
        self.stderr = stderr

    @property
    def stdout(self) -> str | None:
        """Alias of :attr:`output`."""
        return self.output
