"""One multiplexed OpenSSH connection per host, in a private control directory.

The first run on a host starts its master explicitly — ``ssh -M -N -f`` with
stdin on ``/dev/null`` and its log in a file — so the master is never a
descendant holding a run's pipes: it detaches (a session of its own) once
authenticated, and the foreground ``ssh`` exits 0, or 255 with ssh's message
(raised as :class:`~cuprum.SshError`). Runs then use ``ControlMaster=no``
with the master's ``ControlPath``: a new session on the open connection, no
handshake. A run that finds another run of the same host still connecting
does not wait: it connects on its own, as ssh does when no master answers.

The directory is created once per process with mode 0700
(:func:`tempfile.mkdtemp`). At interpreter exit the process that started the
masters stops them (SIGTERM, SIGKILL after half a second) and removes the
directory; a master left behind by a killed process exits on its own after
``ControlPersist`` seconds without sessions.

Connecting is itself a run on the engine, driven by the caller's driver
(blocking or awaited), so an awaited run never blocks the event loop while a
host connects, and cancelling it tears the attempt down like any run.
"""

from __future__ import annotations

import atexit
import itertools
import os
import re
import select
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from cuprum import _lifecycle, _native
from cuprum._transport import ConnectSteps
from cuprum.exceptions import SshError

_lock = threading.Lock()
_directory: Path | None = None
_owner = 0
_names = itertools.count()
_masters: list[Connection] = []

# Time the master gets on top of ssh's ConnectTimeout before the attempt is
# stopped: authentication is not bounded by ConnectTimeout.
_AUTH_SLACK = 1.0
_GRACE = 0.5
_MASTER_PID = re.compile(r"pid=(\d+)")


def control_directory() -> Path:
    """The process's private control directory (created on first use, 0700)."""
    global _directory, _owner  # noqa: PLW0603 - one directory per process
    with _lock:
        if _directory is None:
            _directory = Path(tempfile.mkdtemp(prefix="cuprum-ssh-"))
            _owner = os.getpid()
        return _directory


def _spawn(argv: Sequence[str], *, timeout: float, inline: bool) -> _native.Execution:
    spec = _native.SpawnSpec(
        [[os.fsencode(arg) for arg in argv]],
        stdin="null",
        decode="utf-8",
        timeout=timeout,
        cancel_grace=_GRACE,
        wake="finish",
    )
    handle = _native.spawn(spec, inline=inline)
    _lifecycle.track(handle, _GRACE)
    return handle


def _text(value: str | bytes | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


class Connection:
    """The master connection of one :class:`~cuprum.remote.SshHost`."""

    def __init__(self, label: str) -> None:
        self.label = label
        name = str(next(_names))
        directory = control_directory()
        self.socket = str(directory / name)
        self.log = str(directory / f"{name}.log")
        self.pid: int | None = None
        self._connecting = False
        self._lock = threading.Lock()
        self._runs = itertools.count()

    def run_log(self) -> str:
        """A fresh path for one run's ssh log (``-E``)."""
        return f"{self.socket}.{next(self._runs)}.err"

    def alive(self) -> bool:
        """Whether the master answers: its process lives and its socket exists."""
        pid = self.pid
        if pid is None or not Path(self.socket).exists():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # pragma: no cover - another user's pid reused
            return False
        return True

    def connect(
        self,
        master_argv: Callable[[str], Sequence[str]],
        check_argv: Sequence[str],
        *,
        bound: float,
        inline: bool,
    ) -> ConnectSteps:
        """Start the master unless it runs (see the module docstring).

        Raises:
            SshError: ssh exited 255 (its message attached) or did not
                connect within ``bound`` seconds.
        """
        if self.alive():
            return
        with self._lock:
            if self._connecting:
                return
            self._connecting = True
        try:
            Path(self.socket).unlink(missing_ok=True)  # a stale one disables multiplexing
            Path(self.log).unlink(missing_ok=True)
            outcome = yield _spawn(master_argv(self.log), timeout=bound, inline=inline)
            if outcome.error is not None:
                raise outcome.error
            if outcome.timed_out:
                msg = f"no connection within {bound:g} s"
                raise SshError(self.label, msg)
            code = outcome.stages[0].exit_code
            if code != 0:
                raise SshError(self.label, self._message(code))
            outcome = yield _spawn(check_argv, timeout=bound, inline=inline)
            found = _MASTER_PID.search(_text(outcome.stages[0].stderr))
            if found is not None:
                self.pid = int(found.group(1))
                with _lock:
                    _masters.append(self)
        finally:
            self._connecting = False

    def _message(self, code: int) -> str:
        try:
            text = Path(self.log).read_text(encoding="utf-8", errors="replace").strip()
        except FileNotFoundError:
            text = ""
        return text or f"ssh exited with {code}"

    def stop(self) -> None:
        """Stop the master: SIGTERM (ssh closes the connection and removes
        its socket), SIGKILL if it still runs after a short grace — ssh can
        miss a SIGTERM that arrives while a session is closing. Idempotent."""
        pid, self.pid = self.pid, None
        if pid is None or not Path(self.socket).exists():
            return
        try:
            watch = os.pidfd_open(pid)
        except (ProcessLookupError, PermissionError):
            return
        try:
            os.kill(pid, signal.SIGTERM)
            readable, _, _ = select.select([watch], [], [], _GRACE)
            if not readable:
                os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        finally:
            os.close(watch)
        Path(self.socket).unlink(missing_ok=True)


class Launch:
    """One run's ``ssh``: the argv and the log that tells ssh's own failures
    (exit 255 with a message) from a remote program's exit code 255."""

    __slots__ = ("argv", "label", "log")

    def __init__(self, label: str, argv: Sequence[str], log: str) -> None:
        self.label = label
        self.argv = argv
        self.log = log

    def finish(self, exit_code: int) -> None:
        """Raise :class:`~cuprum.SshError` when ssh itself failed."""
        try:
            if exit_code == 255:
                try:
                    text = Path(self.log).read_text(encoding="utf-8", errors="replace")
                except FileNotFoundError:
                    text = ""
                if text.strip():
                    raise SshError(self.label, text.strip())
        finally:
            self.close()

    def close(self) -> None:
        Path(self.log).unlink(missing_ok=True)


def _stop_masters() -> None:
    if _directory is None or _owner != os.getpid():
        return
    with _lock:
        masters = list(_masters)
        _masters.clear()
    for master in masters:
        master.stop()
    shutil.rmtree(_directory, ignore_errors=True)


atexit.register(_stop_masters)
