"""A real OpenSSH server for the remote tests and benchmarks.

:class:`SshServer` starts ``sshd -D -f <config>`` on 127.0.0.1 and a free
port, with a throwaway host key and user key in a temporary directory, an
``authorized_keys`` for the current user and a ``known_hosts`` that pins the
host key (no ``StrictHostKeyChecking=no``). Key authentication only: root
may log in with a key (``PermitRootLogin prohibit-password``), passwords
and PAM are off. The server is stopped by its pid; :meth:`SshServer.host`
builds :class:`~cuprum.remote.SshHost` objects for it and closes their
connections when the server stops.

The pytest fixture ``sshd`` (module scope) skips only when the ``sshd``
binary is missing (CI installs ``openssh-server``).
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cuprum.remote import SshHost

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"

# Seconds the server may take to say it listens (a loaded CI machine).
_START_WITHIN = 30


def available() -> bool:
    """Whether an ``sshd`` binary is installed."""
    return os.access(SSHD, os.X_OK) and os.access(SSH_KEYGEN, os.X_OK)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _keygen(path: Path) -> str:
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "cuprum-tests", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return path.with_suffix(".pub").read_text().strip()


class SshServer:
    """A running ``sshd`` in ``directory`` (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.user = getpass.getuser()
        self.port = _free_port()
        self.user_key = directory / "user_key"
        self.known_hosts = directory / "known_hosts"
        self.hosts: list[SshHost] = []
        host_public = _keygen(directory / "host_key")
        user_public = _keygen(self.user_key)
        (directory / "authorized_keys").write_text(user_public + "\n")
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_public}\n")
        config = directory / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {directory / 'host_key'}",
                    f"AuthorizedKeysFile {directory / 'authorized_keys'}",
                    f"PidFile {directory / 'sshd.pid'}",
                    "PermitRootLogin prohibit-password",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "StrictModes no",
                    "UsePAM no",
                    "UseDNS no",
                    "MaxSessions 100",
                    "MaxStartups 100",
                    "",
                ]
            )
        )
        if os.geteuid() == 0:
            # sshd's privilege separation directory (Debian: /run/sshd).
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._wait_listening()

    def _wait_listening(self) -> None:
        assert self.process.stderr is not None
        seen = []
        for line in self.process.stderr:  # blocks until sshd says it listens
            seen.append(line)
            if line.startswith("Server listening on"):
                # Keep draining the log so sshd never blocks on a full pipe.
                self._drain = subprocess.Popen(
                    ["cat"], stdin=self.process.stderr, stdout=subprocess.DEVNULL
                )
                self.process.stderr.close()
                return
        self.process.wait(timeout=_START_WITHIN)
        msg = f"sshd did not start: {''.join(seen)}"
        raise RuntimeError(msg)

    def host(self, **overrides: Any) -> SshHost:
        """An :class:`SshHost` for this server (keyword arguments override)."""
        options = {
            "UserKnownHostsFile": str(self.known_hosts),
            "GlobalKnownHostsFile": "/dev/null",
            "StrictHostKeyChecking": "yes",
            "IdentitiesOnly": "yes",
            **overrides.pop("options", {}),
        }
        arguments: dict[str, Any] = {
            "user": self.user,
            "port": self.port,
            "identity_file": self.user_key,
            "options": options,
            **overrides,
        }
        host = SshHost("127.0.0.1", **arguments)
        self.hosts.append(host)
        return host

    def stop(self) -> None:
        """Close every host's connection, then stop sshd by its pid."""
        for host in self.hosts:
            host.close()
        os.kill(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=_START_WITHIN)
        # Sessions still closing may hold the log pipe: stop reading it.
        os.kill(self._drain.pid, signal.SIGTERM)
        self._drain.wait(timeout=_START_WITHIN)


@pytest.fixture(scope="module")
def sshd() -> Iterator[SshServer]:
    """A running sshd for the tests of one module; skipped without sshd."""
    if not available():
        pytest.skip(f"needs an OpenSSH server ({SSHD}); CI installs openssh-server")
    with tempfile.TemporaryDirectory(prefix="cuprum-sshd-") as directory:
        server = SshServer(Path(directory))
        try:
            yield server
        finally:
            server.stop()
