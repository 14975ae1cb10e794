"""Remote hosts over OpenSSH: :class:`SshHost` and the commands it makes.

``SshHost("web1").make(GIT)("status")`` is a :class:`~cuprum.SafeCmd` like
any other: the catalogue, scopes, hooks, events, results, ``check``,
timeouts, pipelines and :func:`~cuprum.run_concurrent` see the remote
program (``git``) and its arguments. Only the engine sees the local
``ssh`` that carries it; ``ssh`` itself is the transport, never looked up in
a catalogue, so a scope that allows ``git`` runs remote ``git`` without
allowing local ``ssh`` runs.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from cuprum._command import ArgValue, SafeCmd, SafeCmdBuilder, build_argv
from cuprum._transport import ConnectSteps
from cuprum.catalogue import DEFAULT_CATALOGUE, ProgramCatalogue
from cuprum.program import Program
from cuprum.remote._control import Connection, Launch
from cuprum.remote._script import remote_command

__all__ = ["RemoteCmd", "SshHost"]

DEFAULT_CONNECT_TIMEOUT = 10
"""Seconds ssh waits for a connection unless ``options`` say otherwise."""
DEFAULT_CONTROL_PERSIST = 60
"""Seconds an idle master stays up unless ``options`` say otherwise."""

# Options cuprum sets itself: the runs depend on them.
_MANAGED = frozenset(
    {
        "batchmode",
        "controlmaster",
        "controlpath",
        "forkafterauthentication",
        "remotecommand",
        "requesttty",
        "sessiontype",
        "stdinnull",
    }
)
_OPTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def _word(value: object, what: str) -> str:
    if not isinstance(value, str):
        msg = f"{what} must be a str, got {type(value).__name__}"
        raise TypeError(msg)
    if not value or value.startswith("-") or any(ch.isspace() or ch == "\0" for ch in value):
        msg = f"{what} must be non-empty, not start with '-' and hold no whitespace, got {value!r}"
        raise ValueError(msg)
    return value


def _options(options: object) -> Mapping[str, str]:
    if not isinstance(options, Mapping):
        msg = f"options must be a mapping of str to str, got {type(options).__name__}"
        raise TypeError(msg)
    checked: dict[str, str] = {}
    for key, value in options.items():
        if not isinstance(key, str) or not isinstance(value, str):
            msg = (
                "options must map str to str, got "
                f"{type(key).__name__} key {key!r} with {type(value).__name__} value"
            )
            raise TypeError(msg)
        if not _OPTION_NAME.fullmatch(key):
            msg = f"ssh option name {key!r} is not a word such as 'ConnectTimeout'"
            raise ValueError(msg)
        if key.lower() in _MANAGED:
            msg = f"ssh option `{key}` is managed by cuprum and cannot be set in options"
            raise ValueError(msg)
        if any(ch in value for ch in "\0\r\n"):
            msg = f"ssh option `{key}` holds a line break or NUL: {value!r}"
            raise ValueError(msg)
        checked[key] = value
    return MappingProxyType(checked)


def _option(options: Mapping[str, str], name: str) -> str | None:
    for key, value in options.items():
        if key.lower() == name.lower():
            return value
    return None


def _connect_timeout(options: Mapping[str, str]) -> float:
    given = _option(options, "ConnectTimeout")
    if given is None:
        return DEFAULT_CONNECT_TIMEOUT
    try:
        seconds = float(given)
    except ValueError:
        seconds = math.nan
    if not seconds > 0 or math.isinf(seconds):
        msg = f"ssh option `ConnectTimeout` must be a positive number of seconds, got {given!r}"
        raise ValueError(msg)
    return seconds


def _port(port: object) -> int | None:
    if port is None:
        return None
    msg = f"port must be an int in 1..65535 or None, got {port!r}"
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(msg)
    if not 0 < port < 65536:
        raise ValueError(msg)
    return port


def _identity_file(path: object) -> str | None:
    if path is None:
        return None
    if isinstance(path, str | os.PathLike):
        text = os.fspath(path)
        if isinstance(text, str):
            return text
    msg = f"identity_file must be a str path or None, got {type(path).__name__}"
    raise TypeError(msg)


def _catalogue(catalogue: object) -> ProgramCatalogue:
    if catalogue is None:
        return DEFAULT_CATALOGUE
    if not isinstance(catalogue, ProgramCatalogue):
        msg = f"catalogue must be a ProgramCatalogue or None, got {type(catalogue).__name__}"
        raise TypeError(msg)
    return catalogue


class SshHost:
    """A host reached with the OpenSSH client, and the commands run there.

    ``host`` is what ``ssh`` takes: a name, an address or a ``Host`` alias of
    ``~/.ssh/config`` (which ssh reads as always). ``user``, ``port`` and
    ``identity_file`` are ssh's ``-l``, ``-p`` and ``-i``; ``options`` are
    ``-o Name=value`` pairs, which take precedence over ``~/.ssh/config``.
    ``catalogue`` is where :meth:`make` looks programs up
    (:data:`~cuprum.DEFAULT_CATALOGUE` when ``None``).

    cuprum adds ``BatchMode=yes`` (never a prompt), ``ConnectTimeout=10``
    and ``LogLevel=ERROR`` unless ``options`` name them, and keeps one
    multiplexed connection per ``SshHost`` (``ControlMaster``,
    ``ControlPath``, ``ControlPersist=60``) in a private 0700 directory. The
    options cuprum manages (``BatchMode``, ``ControlMaster``,
    ``ControlPath``, ``RemoteCommand``, ``RequestTTY``, ``SessionType``,
    ``StdinNull``, ``ForkAfterAuthentication``) cannot be set.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: ``host`` or ``user`` is empty, starts with ``-`` or holds
            whitespace; ``port`` is outside 1..65535; an option is malformed
            or managed by cuprum; ``ConnectTimeout`` is not a positive number.
    """

    __slots__ = (
        "_connection",
        "_prefix",
        "catalogue",
        "connect_timeout",
        "host",
        "identity_file",
        "options",
        "port",
        "user",
    )

    def __init__(
        self,
        host: str,
        *,
        user: str | None = None,
        port: int | None = None,
        identity_file: str | os.PathLike[str] | None = None,
        options: Mapping[str, str] = MappingProxyType({}),
        catalogue: ProgramCatalogue | None = None,
    ) -> None:
        self.host = _word(host, "host")
        self.user = None if user is None else _word(user, "user")
        self.port = _port(port)
        self.identity_file = _identity_file(identity_file)
        self.options = _options(options)
        self.connect_timeout = _connect_timeout(self.options)
        self.catalogue = _catalogue(catalogue)
        self._connection = Connection(self.host)
        self._prefix = self._common_argv()

    def __repr__(self) -> str:
        parts = [repr(self.host)]
        parts += [
            f"{name}={value!r}"
            for name, value in (
                ("user", self.user),
                ("port", self.port),
                ("identity_file", self.identity_file),
            )
            if value is not None
        ]
        if self.options:
            parts.append(f"options={dict(self.options)!r}")
        return f"SshHost({', '.join(parts)})"

    def make(self, program: Program | str) -> SafeCmdBuilder:
        """A builder of commands that run ``program`` on this host.

        The lookup happens now, in this host's catalogue, as
        :func:`cuprum.sh.make` does locally.

        Raises:
            UnknownProgramError: ``program`` is not in the catalogue.
        """
        entry = self.catalogue.lookup(program)

        def builder(*args: ArgValue, **kwargs: ArgValue) -> SafeCmd:
            return RemoteCmd(
                program=entry.program,
                argv=build_argv(*args, **kwargs),
                project=entry.project,
                host=self,
            )

        return builder

    def close(self) -> None:
        """Close the shared connection now (the next run opens a new one).

        Idempotent; at interpreter exit cuprum closes every connection it
        opened.
        """
        self._connection.stop()

    # -- the transport (see cuprum._transport) -----------------------------

    @property
    def tags(self) -> Mapping[str, object]:
        """What every event of this host's commands carries: ``{"host": host}``."""
        return {"host": self.host}

    def connect(self, *, timeout: float | None, inline: bool) -> ConnectSteps:
        """Open the shared connection unless it is up (see ``_control``)."""
        bound = self.connect_timeout + 1.0
        if timeout is not None:
            bound = min(bound, max(timeout, 0.0))
        return self._connection.connect(
            self._master_argv,
            ["ssh", "-O", "check", *self._prefix, "--", self.host],
            bound=bound,
            inline=inline,
        )

    def launch(self, argv: Sequence[str], *, stdin: bool, grace: float) -> Launch:
        """The local ``ssh`` that runs ``argv`` here under the watchdog."""
        log = self._connection.run_log()
        local = [
            "ssh",
            "-T",
            *(() if stdin else ("-n",)),
            "-E",
            log,
            "-o",
            "ControlMaster=no",
            *self._prefix,
            "--",
            self.host,
            remote_command(argv, grace=grace),
        ]
        return Launch(self.host, local, log)

    def _master_argv(self, log: str) -> list[str]:
        persist = (
            ()
            if _option(self.options, "ControlPersist")
            else ("-o", f"ControlPersist={DEFAULT_CONTROL_PERSIST}")
        )
        return [
            "ssh",
            "-M",
            "-N",
            "-f",
            "-E",
            log,
            "-o",
            "ControlMaster=yes",
            *persist,
            *self._prefix,
            "--",
            self.host,
        ]

    def _common_argv(self) -> list[str]:
        argv = ["-o", "BatchMode=yes", "-o", f"ControlPath={self._connection.socket}"]
        for key, value in self.options.items():
            argv += ["-o", f"{key}={value}"]
        if _option(self.options, "ConnectTimeout") is None:
            argv += ["-o", f"ConnectTimeout={DEFAULT_CONNECT_TIMEOUT}"]
        if _option(self.options, "LogLevel") is None:
            argv += ["-o", "LogLevel=ERROR"]
        if self.user is not None:
            argv += ["-l", self.user]
        if self.port is not None:
            argv += ["-p", str(self.port)]
        if self.identity_file is not None:
            argv += ["-i", self.identity_file]
        return argv


@dataclasses.dataclass(frozen=True, slots=True)
class RemoteCmd(SafeCmd):
    """A :class:`~cuprum.SafeCmd` whose program runs on :attr:`host`.

    ``program`` and ``argv`` are the remote program and its arguments; runs,
    results and events speak of them. Made by :meth:`SshHost.make`.
    """

    host: SshHost = dataclasses.field(kw_only=True)

    @property
    def transport(self) -> SshHost:
        """What carries the command: its host (see ``cuprum._transport``)."""
        return self.host
