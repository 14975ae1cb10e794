"""Run catalogued programs on other machines through the OpenSSH client.

::

    from cuprum import GIT
    from cuprum.remote import SshHost

    web = SshHost("web1", user="deploy")
    result = web.make(GIT)("-C", "/srv/app", "status").run_sync()

A remote command is a :class:`~cuprum.SafeCmd`: the allowlist, scopes,
hooks, events (with ``tags["host"]``), results, ``check``, timeouts,
pipelines and :func:`~cuprum.run_concurrent` work as locally. See the users'
guide, "Running on other machines".
"""

from __future__ import annotations

from cuprum.exceptions import SshError as SshError
from cuprum.remote.ssh import RemoteCmd as RemoteCmd
from cuprum.remote.ssh import SshHost as SshHost

__all__ = ["RemoteCmd", "SshError", "SshHost"]
