"""Every exception cuprum raises, in one place.

::

    Exception
    ├── LookupError
    │   └── UnknownProgramError          a program is not in the catalogue
    ├── ValueError
    │   ├── DuplicateProjectError        a catalogue repeats a project name
    │   ├── DuplicateProgramError        two projects claim one program
    │   └── UnhandledMetricsPhaseError   the metrics adapter met an unknown event phase
    ├── RuntimeError
    │   └── EngineError                  the native engine failed internally (a caught panic)
    ├── ContextError                     base of the context domain
    │   └── ForbiddenProgramError        (also PermissionError) the scope denies a program
    ├── SubprocessError
    │   └── CalledProcessError
    │       └── ExitCodeError            check=True and an exit code outside the ok codes
    └── OSError
        ├── TimeoutError
        │   └── TimeoutExpired           a run outlived its deadline
        ├── ConnectionError
        │   └── SshError                 ssh could not reach or log in to a remote host
        └── PermissionError
            └── ForbiddenProgramError

Running a program can also raise the standard ``OSError`` subclasses:
``FileNotFoundError`` (missing program or working directory),
``PermissionError`` (program not executable); a NUL character in argv or the
environment raises ``ValueError`` before anything is spawned.

Every class listed here is also importable from :mod:`cuprum` (except
``UnhandledMetricsPhaseError``, which lives with its adapter in
:mod:`cuprum.adapters.metrics_adapter`), and that is the name tracebacks show
(``cuprum.TimeoutExpired``), never the private module that defines it.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Iterable

from cuprum._results import CommandResult, PipelineResult, TimeoutExpired
from cuprum.adapters.metrics_adapter import UnhandledMetricsPhaseError
from cuprum.catalogue import DuplicateProgramError, DuplicateProjectError, UnknownProgramError
from cuprum.context import ContextError, ForbiddenProgramError
from cuprum.secrets import Secret, scrub

__all__ = [
    "ContextError",
    "DuplicateProgramError",
    "DuplicateProjectError",
    "EngineError",
    "ExitCodeError",
    "ForbiddenProgramError",
    "SshError",
    "TimeoutExpired",
    "UnhandledMetricsPhaseError",
    "UnknownProgramError",
]


class EngineError(RuntimeError):
    """The native engine failed internally: a panic caught at its boundary.

    The run it happened in was torn down before this was raised — every
    child terminated and reaped — so nothing of it is left behind.
    """


class SshError(ConnectionError):
    """ssh could not connect or authenticate to a remote host (its exit code 255).

    ``host`` names the host as given to :class:`~cuprum.remote.SshHost`;
    ``detail`` is ssh's own message (``connect to host … port 22: Connection
    refused``). Raised before the remote program ran; a remote program's own
    exit code 255 is an exit code like any other.
    """

    def __init__(self, host: str, detail: str) -> None:
        super().__init__(f"ssh to {host!r} failed: {detail}")
        self.host = host
        self.detail = detail

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.host, self.detail))


_STDERR_TAIL_LINES = 5


class ExitCodeError(subprocess.CalledProcessError):
    """A checked run (``check=True``) ended with an exit code outside the ok codes.

    A :class:`subprocess.CalledProcessError`, so ``except CalledProcessError``
    catches it. For a pipeline the attributes describe the failing stage (the
    first observed to fail): ``returncode`` is its exit code, ``cmd`` its
    argv with the program first (secrets shown as ``***``), ``output`` (alias
    ``stdout``) and ``stderr`` its captured text or ``None`` (only a
    pipeline's last stage has captured stdout). ``result`` is the whole
    :class:`~cuprum.CommandResult` or :class:`~cuprum.PipelineResult`.

    The message names the program and the code and ends with up to the last
    five lines of captured stderr, with the values of ``secrets`` masked::

        git exited with 128: fatal: not a git repository

    Raises:
        ValueError: ``result`` is ok (there is nothing to report).
    """

    returncode: int
    cmd: tuple[str, ...]
    output: str | None
    stderr: str | None
    result: CommandResult | PipelineResult

    def __init__(
        self, result: CommandResult | PipelineResult, *, secrets: Iterable[Secret] = ()
    ) -> None:
        stage = _failing_stage(result)
        super().__init__(
            stage.exit_code,
            (str(stage.program), *stage.argv),
            output=stage.stdout,
            stderr=stage.stderr,
        )
        self.result = result
        self._message = _message(stage, tuple(secrets))

    def __str__(self) -> str:
        return self._message

    def __reduce__(self) -> tuple[object, ...]:
        # Pickles without the secrets: the message is already masked.
        return (_rebuild_exit_code_error, (self.result, self._message))


def _rebuild_exit_code_error(result: CommandResult | PipelineResult, message: str) -> ExitCodeError:
    error = ExitCodeError(result)
    error._message = message
    return error


def _failing_stage(result: CommandResult | PipelineResult) -> CommandResult:
    if isinstance(result, CommandResult):
        if result.ok:
            msg = f"ExitCodeError needs a failed result; {result.program!r} exited ok"
            raise ValueError(msg)
        return result
    if result.failure_index is not None:
        return result.stages[result.failure_index]
    for index, stage in enumerate(result.stages):
        if not stage.ok and index not in result.early_exit_stages:
            return stage
    msg = "ExitCodeError needs a failed result; every pipeline stage is ok"
    raise ValueError(msg)


def _message(stage: CommandResult, secrets: tuple[Secret, ...]) -> str:
    code = stage.exit_code
    text = f"{stage.program} exited with {code}"
    if code < 0:
        with contextlib.suppress(ValueError):
            text += f" ({signal.Signals(-code).name})"
    lines = (stage.stderr or "").rstrip().splitlines()[-_STDERR_TAIL_LINES:]
    if lines:
        text += ": " + "\n".join(lines)
    return scrub(text, secrets)


# Tracebacks and reprs name a class by its ``__module__``: show the package
# it is imported from, as trio does, not the module that happens to define
# it. Adapter errors stay with their (public) adapter module.
_WITH_THEIR_ADAPTER = frozenset({"UnhandledMetricsPhaseError"})
for _name in set(__all__) - _WITH_THEIR_ADAPTER:
    globals()[_name].__module__ = "cuprum"
del _name
