"""A ready-made pair of hooks that log each command's start and exit.

>>> import logging
>>> with logging_hook(logger=logging.getLogger("my.app")):
...     pass  # commands run here are logged to "my.app"
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import typing as t
import weakref

from cuprum.context import HookRegistration, after, before
from cuprum.secrets import redact

if t.TYPE_CHECKING:
    from cuprum._command import SafeCmd
    from cuprum._results import CommandResult

__all__ = ["LoggingHookRegistration", "logging_hook"]


@dataclasses.dataclass(slots=True)
class LoggingHookRegistration:
    """The two registrations made by :func:`logging_hook`.

    :meth:`detach` removes both (exit hook first); afterwards both fields are
    ``None``. Usable as a context manager that detaches on exit.
    """

    start_registration: HookRegistration | None
    exit_registration: HookRegistration | None

    def detach(self) -> None:
        """Detach the exit hook, then the start hook. Idempotent.

        Raises:
            ValueError: called from another thread or asyncio task context.
        """
        if self.exit_registration is not None:
            self.exit_registration.detach()
            self.exit_registration = None
        if self.start_registration is not None:
            self.start_registration.detach()
            self.start_registration = None

    def __enter__(self) -> t.Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.detach()


class _StartTimes:
    """Monotonic start times keyed weakly by command; equal commands share a slot."""

    __slots__ = ("_lock", "_times")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: weakref.WeakKeyDictionary[SafeCmd, float] = weakref.WeakKeyDictionary()

    def record(self, cmd: SafeCmd) -> None:
        with self._lock:
            self._times[cmd] = time.monotonic()

    def take(self, cmd: SafeCmd) -> float | None:
        with self._lock:
            return self._times.pop(cmd, None)


def logging_hook(
    *,
    logger: logging.Logger | None = None,
    start_level: int = logging.INFO,
    exit_level: int = logging.INFO,
) -> LoggingHookRegistration:
    """Log every command's start and exit in the current context, from now on.

    Registers a before hook, then an after hook, on the current context. The
    start record reads ``cuprum.start program=<p> argv=<argv repr>`` (argv
    with the program; a :class:`~cuprum.Secret` shows as ``***``); the exit
    record reads ``cuprum.exit program=<p> pid=<pid> exit_code=<code>
    duration_s=<seconds> stdout_len=<n> stderr_len=<n>``. ``duration_s`` has
    six decimals, or is ``unknown`` when no start was recorded for the
    command; a length is ``0`` when the stream was not captured. Records
    whose level is disabled are skipped, but start times are always kept so
    enabling the exit level later still works.

    ``logger`` defaults to ``logging.getLogger("cuprum")``.
    """
    log = logger if logger is not None else logging.getLogger("cuprum")
    starts = _StartTimes()

    def on_start(cmd: SafeCmd) -> None:
        starts.record(cmd)
        if log.isEnabledFor(start_level):
            log.log(
                start_level,
                "cuprum.start program=%s argv=%r",
                cmd.program,
                redact(cmd.argv_with_program),
            )

    def on_exit(cmd: SafeCmd, result: CommandResult) -> None:
        started = starts.take(cmd)
        if not log.isEnabledFor(exit_level):
            return
        duration = "unknown" if started is None else f"{time.monotonic() - started:.6f}"
        log.log(
            exit_level,
            "cuprum.exit program=%s pid=%s exit_code=%s duration_s=%s stdout_len=%d stderr_len=%d",
            cmd.program,
            result.pid,
            result.exit_code,
            duration,
            len(result.stdout or ""),
            len(result.stderr or ""),
        )

    start_registration = before(on_start)
    exit_registration = after(on_exit)
    return LoggingHookRegistration(
        start_registration=start_registration, exit_registration=exit_registration
    )
