"""Tee: capture 1 GiB of text and echo it, as read, to ``/dev/null``.

cuprum runs with ``RunOutputOptions(capture=True, echo=True)`` and an
``ExecutionContext`` whose ``stdout_sink`` is ``/dev/null`` opened for text
(cuprum writes raw bytes to its ``buffer``). The equivalent with the standard
library is a ``Popen`` read loop that writes each chunk to the same kind of
sink, flushes, keeps it, and decodes the joined bytes at the end; plumbum's
``cmd & TEE`` echoes to ``sys.stdout``, which points at ``/dev/null`` for the
run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable

from benchmarks.harness import GIB, Implementation, Scenario, register
from benchmarks.programs import check, cuprum_builder, fixture_path

CHUNK = 65536


def _cuprum(argv: list[str]) -> Callable[[], str]:
    from cuprum import ExecutionContext, RunOutputOptions

    command = cuprum_builder(argv[0])(*argv[1:])
    output = RunOutputOptions(capture=True, echo=True)

    def run() -> str:
        with open(os.devnull, "w") as sink:  # noqa: PTH123  (a text sink, as a user would pass)
            result = command.run_sync(output=output, context=ExecutionContext(stdout_sink=sink))
        return result.stdout or ""

    return run


def _subprocess_loop(argv: list[str]) -> str:
    chunks: list[bytes] = []
    with (
        open(os.devnull, "w") as sink,  # noqa: PTH123
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc,
    ):
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        while chunk := os.read(fd, CHUNK):
            sink.buffer.write(chunk)
            sink.buffer.flush()
            chunks.append(chunk)
    check("subprocess", proc.returncode, 0)
    return b"".join(chunks).decode()


def _subprocess(argv: list[str]) -> Callable[[], str]:
    return lambda: _subprocess_loop(argv)


def _plumbum(argv: list[str]) -> Callable[[], str]:
    from plumbum import local
    from plumbum.commands.modifiers import TEE

    command = local[argv[0]][tuple(argv[1:])]

    def run() -> str:
        # TEE echoes to sys.stdout: point it at /dev/null for the run.
        with (
            open(os.devnull, "w") as sink,  # noqa: PTH123
            contextlib.redirect_stdout(sink),
        ):
            returncode, stdout, _ = command & TEE
        check("plumbum", returncode, 0)
        return stdout

    return run


def measure(implementation: str, size: int) -> float:
    prepare = {"cuprum": _cuprum, "subprocess": _subprocess, "plumbum": _plumbum}[implementation]
    run = prepare([fixture_path(), "spew", str(size)])
    started = time.perf_counter()
    text = run()
    elapsed = time.perf_counter() - started
    check(implementation, len(text), size)
    return elapsed


SCENARIO = register(
    Scenario(
        name="tee",
        title="Tee: capture 1 GiB and echo it to /dev/null",
        description=(
            "`spew N` captured as text while every chunk is echoed, as read, to "
            "`/dev/null`: cuprum with `RunOutputOptions(capture=True, echo=True)` and "
            "`ExecutionContext(stdout_sink=open('/dev/null', 'w'))`, against a "
            "`subprocess.Popen` loop reading 64 KiB chunks, writing and flushing each to the "
            "same kind of sink, keeping them, and decoding the joined bytes at the end; and "
            "plumbum's `cmd & TEE` with `sys.stdout` pointed at `/dev/null`."
        ),
        size=GIB,
        quick_size=GIB // 8,
        smoke_size=1 << 20,
        implementations=(
            Implementation("cuprum", "cuprum capture + echo"),
            Implementation("subprocess", "`Popen` read loop (64 KiB)"),
            Implementation("plumbum", "plumbum `cmd & TEE`"),
        ),
        baseline="subprocess",
        measure=measure,
        show_memory=True,
        skipped=(
            (
                "sh",
                "its capture cannot hold 1 GiB in reasonable time (see the capture scenario).",
            ),
        ),
    )
)
