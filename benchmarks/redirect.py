"""Redirection: 1 GiB written to a file with ``stdout=Path``, and 1 GiB read
from a file with ``stdin=Path``.

The child writes to (or reads from) the file itself in both cases: cuprum
opens the file and installs it as the child's descriptor, as the shell's
``> file`` / ``< file`` and ``subprocess.run(stdout=f)`` do, so the figures
measure the cost of getting there. The files live in memory (``/dev/shm``
where it exists, else the temporary directory), so a disk's write-back does
not blur the comparison; output goes to a fresh file, removed after each
run, and the input file is written once and reused.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import GIB, Implementation, Scenario, Target, register
from benchmarks.programs import check, cuprum_builder, fixture_path


def _directory() -> Path:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm
    return Path(tempfile.gettempdir())


def _scratch(name: str) -> Path:
    return _directory() / f"cuprum-bench-{os.getpid()}-{name}"


def _write(implementation: str, argv: list[str], target: Path) -> Callable[[], object]:
    """The call that runs ``argv`` with stdout to ``target``, prepared outside
    the timed part."""
    if implementation == "cuprum":
        command = cuprum_builder(argv[0])(*argv[1:])
        return lambda: command.run_sync(stdout=target, check=True)
    if implementation == "bash":
        script = f"{shlex.join(argv)} > {shlex.quote(str(target))}"
        return lambda: subprocess.run(["bash", "-c", script], check=True)
    if implementation == "subprocess":

        def run() -> None:
            with target.open("wb") as handle:
                subprocess.run(argv, stdout=handle, check=True)

        return run
    if implementation == "plumbum":
        from plumbum import local

        return local[argv[0]][tuple(argv[1:])] > str(target)
    msg = f"unknown implementation {implementation!r}"
    raise ValueError(msg)


def measure_out(implementation: str, size: int) -> float:
    target = _scratch("out.bin")
    run = _write(implementation, [fixture_path(), "spew", str(size)], target)
    try:
        started = time.perf_counter()
        run()
        elapsed = time.perf_counter() - started
        check(implementation, target.stat().st_size, size)
    finally:
        target.unlink(missing_ok=True)
    return elapsed


def _input_file(size: int) -> Path:
    """A file of ``size`` bytes of `spew` output, made once per size."""
    path = _directory() / f"cuprum-bench-input-{size}.bin"
    if not path.is_file() or path.stat().st_size != size:
        partial = path.with_suffix(f".{os.getpid()}.part")
        with partial.open("wb") as handle:
            subprocess.run([fixture_path(), "spew", str(size)], stdout=handle, check=True)
        partial.replace(path)
    return path


def _read(implementation: str, argv: list[str], source: Path) -> Callable[[], str]:
    if implementation == "cuprum":
        command = cuprum_builder(argv[0])(*argv[1:])
        return lambda: command.run_sync(stdin=source, check=True).stdout
    if implementation == "bash":
        script = f"{shlex.join(argv)} < {shlex.quote(str(source))}"
        return lambda: (
            subprocess.run(
                ["bash", "-c", script], capture_output=True, text=True, check=True
            ).stdout
        )
    if implementation == "subprocess":

        def run() -> str:
            with source.open("rb") as handle:
                done = subprocess.run(argv, stdin=handle, capture_output=True, check=True)
            return done.stdout.decode()

        return run
    if implementation == "plumbum":
        from plumbum import local

        return local[argv[0]][tuple(argv[1:])] < str(source)
    msg = f"unknown implementation {implementation!r}"
    raise ValueError(msg)


def measure_in(implementation: str, size: int) -> float:
    run = _read(implementation, [fixture_path(), "count"], _input_file(size))
    started = time.perf_counter()
    stdout = run()
    elapsed = time.perf_counter() - started
    check(implementation, stdout.strip(), str(size))
    return elapsed


IMPLEMENTATIONS = (
    Implementation("cuprum", "cuprum `run_sync(stdout=Path(...))`"),
    Implementation("bash", "`bash -c 'spew N > file'`"),
    Implementation("subprocess", "`subprocess.run(stdout=f)`"),
    Implementation("plumbum", "plumbum `(cmd > file)()`"),
)

SCENARIO_OUT = register(
    Scenario(
        name="redirect-out",
        title="Redirect: 1 GiB to stdout=Path",
        description=(
            "`spew N` writes N bytes with its stdout redirected to a new file: cuprum "
            "`run_sync(stdout=Path(...))` (the engine opens the file and hands it to the "
            "child), the shell's `> file` under `bash -c`, `subprocess.run(stdout=f)` with a "
            "file the caller opened, and plumbum's `cmd > file`. The file is in memory "
            "(`/dev/shm`) and its size is checked."
        ),
        size=GIB,
        quick_size=GIB // 4,
        smoke_size=1 << 20,
        implementations=IMPLEMENTATIONS,
        baseline="bash",
        measure=measure_out,
        targets=(Target("cuprum", "bash", 0.95),),
    )
)

SCENARIO_IN = register(
    Scenario(
        name="redirect-in",
        title="Redirect: 1 GiB from stdin=Path",
        description=(
            "`count` reads a 1 GiB file on its stdin and prints the byte count: cuprum "
            "`run_sync(stdin=Path(...))`, the shell's `< file` under `bash -c`, "
            "`subprocess.run(stdin=f)` and plumbum's `cmd < file`. The file is in memory "
            "(`/dev/shm`) and the count is checked."
        ),
        size=GIB,
        quick_size=GIB // 4,
        smoke_size=1 << 20,
        implementations=(
            Implementation("cuprum", "cuprum `run_sync(stdin=Path(...))`"),
            Implementation("bash", "`bash -c 'count < file'`"),
            Implementation("subprocess", "`subprocess.run(stdin=f)`"),
            Implementation("plumbum", "plumbum `(cmd < file)()`"),
        ),
        baseline="bash",
        measure=measure_in,
        targets=(Target("cuprum", "bash", 0.95),),
    )
)
