"""Remote commands over OpenSSH against a local sshd.

Every worker run starts its own ``sshd`` on 127.0.0.1 (the tests' server,
``tests/sshd.py``: throwaway keys, key authentication only) and stops it
afterwards; only the commands are timed.

- ``remote-overhead``: 100 sequential remote ``true``. cuprum runs
  ``host.make("true")().run_sync()`` over its warm multiplexed connection
  (connected by untimed warm-up runs); the peers run ``ssh host true`` in a
  loop with ``subprocess.run`` — plain (a new connection each time, what a
  script without ControlMaster does) and over a ControlMaster of their own
  (the floor: one mux session per call, no watchdog).
- ``remote-fanout``: 20 ``SshHost`` objects for the same server (20 hosts'
  worth of connections), one ``true`` on each with ``run_concurrent`` at
  most 8 at once, from cold (each host connects); the peer is a
  ``ThreadPoolExecutor(8)`` running plain ``ssh host true``.

Hosts are registered only where an ``sshd`` binary is installed.
"""

from __future__ import annotations

import importlib.util
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.harness import REPO_ROOT, Implementation, Metric, Scenario, Target, register

CALLS = 100
QUICK_CALLS = 30
SMOKE_CALLS = 3
WARMUP_CALLS = 5
HOSTS = 20
SMOKE_HOSTS = 3
LIMIT = 8


def _sshd_module() -> ModuleType:
    path = REPO_ROOT / "tests" / "sshd.py"
    spec = importlib.util.spec_from_file_location("cuprum_bench_sshd", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ssh_argv(server: Any, *extra: str) -> list[str]:
    """``ssh`` with the options the server needs, as a script would call it."""
    return [
        "ssh",
        "-n",
        "-o",
        "BatchMode=yes",
        "-o",
        f"UserKnownHostsFile={server.known_hosts}",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "LogLevel=ERROR",
        "-i",
        str(server.user_key),
        "-p",
        str(server.port),
        "-l",
        server.user,
        *extra,
        "127.0.0.1",
        "true",
    ]


def _ssh_true(argv: list[str]) -> None:
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)


def _time_loop(calls: int, one: Callable[[], object]) -> float:
    for _ in range(WARMUP_CALLS):
        one()
    started = time.perf_counter()
    for _ in range(calls):
        one()
    return time.perf_counter() - started


def _with_server(body: Callable[[Any], float]) -> float:
    sshd = _sshd_module()
    with tempfile.TemporaryDirectory(prefix="cuprum-bench-sshd-") as directory:
        server = sshd.SshServer(Path(directory))
        try:
            return body(server)
        finally:
            server.stop()


def measure_overhead(implementation: str, calls: int) -> float:
    """Seconds for ``calls`` sequential remote ``true`` after warm-up calls."""
    from cuprum import ProgramCatalogue

    def body(server: Any) -> float:
        if implementation == "cuprum":
            host = server.host(catalogue=ProgramCatalogue.of("true"))
            true = host.make("true")()
            return _time_loop(calls, lambda: true.run_sync(check=True))
        if implementation == "ssh":
            argv = _ssh_argv(server)
            return _time_loop(calls, lambda: _ssh_true(argv))
        control = Path(server.directory) / "bench-mux"
        mux = ["-o", "ControlMaster=auto", "-o", f"ControlPath={control}"]
        argv = _ssh_argv(server, *mux, "-o", "ControlPersist=60")
        try:
            return _time_loop(calls, lambda: _ssh_true(argv))
        finally:
            subprocess.run(
                [*_ssh_argv(server, *mux)[:-2], "-O", "exit", "127.0.0.1"],
                check=False,
                capture_output=True,
            )

    return _with_server(body)


def measure_fanout(implementation: str, hosts: int) -> float:
    """Seconds for one remote ``true`` on each of ``hosts`` hosts, 8 at a time."""
    from cuprum import ConcurrentConfig, ProgramCatalogue, run_concurrent_sync

    def body(server: Any) -> float:
        if implementation == "cuprum":
            catalogue = ProgramCatalogue.of("true")
            commands = [server.host(catalogue=catalogue).make("true")() for _ in range(hosts)]
            started = time.perf_counter()
            outcome = run_concurrent_sync(*commands, config=ConcurrentConfig(concurrency=LIMIT))
            elapsed = time.perf_counter() - started
            if not outcome.ok:
                msg = f"remote fan-out failed: {outcome.first_failure}"
                raise RuntimeError(msg)
            return elapsed
        argv = _ssh_argv(server)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=LIMIT) as pool:
            list(pool.map(lambda _: _ssh_true(argv), range(hosts)))
        return time.perf_counter() - started

    return _with_server(body)


PER_CALL = Metric(
    unit="ms/call",
    value=lambda calls, seconds: seconds / calls * 1e3,
    higher_is_better=False,
    digits=2,
    describe=lambda calls: f"{calls} sequential remote `true` (after {WARMUP_CALLS} untimed)",
    size_is_bytes=False,
)

PER_FANOUT = Metric(
    unit="ms/batch",
    value=lambda _hosts, seconds: seconds * 1e3,
    higher_is_better=False,
    digits=1,
    describe=lambda hosts: f"{hosts} hosts, at most {LIMIT} at a time, from cold",
    size_is_bytes=False,
)


def _sshd_installed() -> bool:
    return bool(_sshd_module().available())


if _sshd_installed():
    register(
        Scenario(
            name="remote-overhead",
            title=f"{CALLS} sequential remote `true` over OpenSSH",
            description=(
                "Runs `true` on a local sshd (127.0.0.1) 100 times in a row. cuprum's "
                "`SshHost` keeps one multiplexed connection and runs each command as a new "
                "session on it, under the watchdog that ends the remote process if the "
                "local ssh goes away. The peers call `ssh host true` in a loop with "
                "`subprocess.run`: plainly (a new connection per call), and over a "
                "ControlMaster of their own. Lower is better."
            ),
            size=CALLS,
            quick_size=QUICK_CALLS,
            smoke_size=SMOKE_CALLS,
            implementations=(
                Implementation("cuprum", "cuprum `SshHost.make()(...).run_sync()`"),
                Implementation("ssh", "`ssh host true` in a loop"),
                Implementation("ssh-mux", "`ssh host true` in a loop, ControlMaster"),
            ),
            baseline="ssh",
            measure=measure_overhead,
            # A warm remote run costs no more than 1.2x a plain `ssh host true`.
            targets=(Target("cuprum", "ssh", 1.2),),
            metric=PER_CALL,
        )
    )
    register(
        Scenario(
            name="remote-fanout",
            title=f"Fan-out: `true` on {HOSTS} hosts, at most {LIMIT} at a time",
            description=(
                f"{HOSTS} `SshHost` objects for the same local sshd stand for {HOSTS} hosts; "
                f"each runs `true` once with `run_concurrent_sync(..., "
                f"config=ConcurrentConfig(concurrency={LIMIT}))`, from cold, so each host "
                "also opens its connection. The peer is a "
                f"`ThreadPoolExecutor({LIMIT})` running plain `ssh host true`. Lower is better."
            ),
            size=HOSTS,
            smoke_size=SMOKE_HOSTS,
            implementations=(
                Implementation("cuprum", "cuprum `run_concurrent_sync()` over `SshHost`s"),
                Implementation("threads", f"`ThreadPoolExecutor({LIMIT})` + `ssh host true`"),
            ),
            baseline="threads",
            measure=measure_fanout,
            metric=PER_FANOUT,
        )
    )
