"""Timeouts and cancellation end the remote process too (beyond.md §19).

Each test starts a remote program that would run for a minute, tagged with a
unique marker in its argv, stops the run locally (timeout, task cancel,
trio cancel scope), and then reads the remote host's process list — through
the same host — until no process carrying the marker is left. The promise is
a bound, "within grace + 2 s" after the call returned, so the tests assert
that bound (with a margin for a loaded machine, said where it is used).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest

from cuprum import ExecutionContext, ProgramCatalogue, TimeoutExpired
from cuprum.program import Program
from cuprum.remote import SshHost
from sshd import SshServer, sshd  # noqa: F401 - the fixture

REMOTE = ProgramCatalogue.of("python3", project="remote-tests")
PYTHON3 = Program("python3")

# Lists the pids whose command line holds the marker, given in two halves so
# that the lister's own command line never holds it whole.
LIST = (
    "import json, os, sys\n"
    "marker = sys.argv[1] + sys.argv[2]\n"
    "found = []\n"
    "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
    "    try:\n"
    "        with open(f'/proc/{pid}/cmdline', 'rb') as f:\n"
    "            line = f.read().replace(b'\\0', b' ').decode()\n"
    "    except OSError:\n"
    "        continue\n"
    "    if marker in line:\n"
    "        found.append(int(pid))\n"
    "print(json.dumps(found))\n"
)
SLEEP = "import sys, time; time.sleep(60)"
DEAF = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
# Leaves a grandchild in the program's process group, as a build tool would.
FORKS = (
    "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', sys.argv[1]]); "
    "time.sleep(60)"
)
# The promised bound is grace + 2 s; a loaded 2-core CI machine gets 3 s more
# for the listing runs themselves.
SLACK = 2.0 + 3.0


@pytest.fixture(scope="module")
def host(sshd: SshServer) -> SshHost:  # noqa: F811 - the fixture
    return sshd.host(catalogue=REMOTE)


def remote_pids(host: SshHost, marker: str) -> list[int]:
    half = len(marker) // 2
    result = host.make(PYTHON3)("-c", LIST, marker[:half], marker[half:]).run_sync()
    assert result.ok, result.stderr
    pids: list[int] = json.loads(result.stdout or "")
    return pids


def wait_started(host: SshHost, marker: str, count: int = 1) -> None:
    """Until ``count`` remote processes carry ``marker`` (each check is a run)."""
    deadline = time.monotonic() + 30
    while len(remote_pids(host, marker)) < count:
        assert time.monotonic() < deadline, f"the remote program {marker} never started"


def assert_gone_within(host: SshHost, marker: str, seconds: float) -> float:
    """Read the remote process list until nothing carries ``marker``;
    return how long it took."""
    started = time.monotonic()
    while remote_pids(host, marker):
        assert time.monotonic() - started < seconds, f"remote {marker} outlived the bound"
    return time.monotonic() - started


def test_a_timeout_leaves_no_remote_process(host: SshHost) -> None:
    marker = f"cuprum-{uuid.uuid4().hex}"
    with pytest.raises(TimeoutExpired):
        host.make(PYTHON3)("-c", SLEEP, marker).run_sync(timeout=1.5)
    assert_gone_within(host, marker, 0.5 + SLACK)


def test_a_timeout_kills_a_remote_program_that_ignores_sigterm_after_the_grace(
    host: SshHost,
) -> None:
    marker = f"cuprum-{uuid.uuid4().hex}"
    context = ExecutionContext(cancel_grace=1.0)
    with pytest.raises(TimeoutExpired):
        host.make(PYTHON3)("-c", DEAF, marker).run_sync(timeout=1.5, context=context)
    assert_gone_within(host, marker, 1.0 + SLACK)


def test_a_timeout_ends_the_remote_grandchildren_too(host: SshHost) -> None:
    marker = f"cuprum-{uuid.uuid4().hex}"
    with pytest.raises(TimeoutExpired):
        host.make(PYTHON3)("-c", FORKS, marker).run_sync(timeout=2.0)
    assert_gone_within(host, marker, 0.5 + SLACK)


def test_cancelling_an_awaited_remote_run_ends_the_remote_process(host: SshHost) -> None:
    marker = f"cuprum-{uuid.uuid4().hex}"

    async def main() -> None:
        task = asyncio.create_task(host.make(PYTHON3)("-c", SLEEP, marker).run())
        await asyncio.to_thread(wait_started, host, marker)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert_gone_within(host, marker, 0.5 + SLACK)


def test_a_trio_cancel_scope_ends_the_remote_process(host: SshHost) -> None:
    trio = pytest.importorskip("trio")
    marker = f"cuprum-{uuid.uuid4().hex}"

    async def main() -> None:
        with trio.move_on_after(2.0):
            await host.make(PYTHON3)("-c", SLEEP, marker).run()

    trio.run(main)
    assert_gone_within(host, marker, 0.5 + SLACK)


def test_a_run_that_finishes_leaves_no_watchdog_behind(host: SshHost) -> None:
    marker = f"cuprum-{uuid.uuid4().hex}"
    result = host.make(PYTHON3)("-c", "import sys", marker).run_sync()
    assert result.ok
    assert remote_pids(host, marker) == []
