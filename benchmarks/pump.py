"""Pump throughput: one pipe-to-pipe hop, 1 GiB, with default and large pipes.

Only the pump in the middle changes between implementations, and only the
pump call is timed. The two ends are kept as cheap as the kernel allows, so
they do not hide the pump's own cost: a producer thread splices a file held
in the page cache into the source pipe over and over (no copy), and a
consumer thread splices the sink pipe into ``/dev/null``.

Two scenarios share this code. ``pump`` uses pipes of the default capacity
(64 KiB) and a 64 KiB buffer, as a pipeline between child processes does;
``pump-large-pipes`` enlarges both pipes and the buffer to 1 MiB, so far
fewer wake-ups are needed and the cost of moving each byte dominates.
"""

from __future__ import annotations

import fcntl
import functools
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import GIB, Implementation, Scenario, Target, register

DEFAULT_PIPE = 65536
LARGE_PIPE = 1 << 20
CHUNK = 1 << 20
SOURCE_FILE_SIZE = 64 << 20

IMPLEMENTATIONS = (
    Implementation("splice", "`rust_pump_stream` (splice)"),
    Implementation("portable", "engine read/write loop"),
    Implementation("python", "Python read/write loop"),
)


def python_loop(reader_fd: int, writer_fd: int, buffer_size: int) -> int:
    """A plain ``os.read``/``os.write`` loop, as a Python program would write it."""
    total = 0
    try:
        while chunk := os.read(reader_fd, buffer_size):
            view = memoryview(chunk)
            while view:
                written = os.write(writer_fd, view)
                view = view[written:]
                total += written
    finally:
        os.close(writer_fd)
    return total


def _pump(implementation: str, buffer_size: int) -> Callable[[int, int], int]:
    if implementation == "python":
        return lambda r, w: python_loop(r, w, buffer_size)
    from cuprum import _native
    from cuprum._streams_rs import rust_pump_stream

    if implementation == "splice":
        return lambda r, w: rust_pump_stream(r, w, buffer_size=buffer_size)
    if implementation == "portable":
        return lambda r, w: _native._pump_stream_report(r, w, buffer_size, portable=True)[0]
    msg = f"unknown implementation {implementation!r}"
    raise ValueError(msg)


def _pipe(capacity: int) -> tuple[int, int]:
    reader, writer = os.pipe()
    if capacity != DEFAULT_PIPE:
        fcntl.fcntl(writer, fcntl.F_SETPIPE_SZ, capacity)
    return reader, writer


def _source_file(size: int) -> int:
    """An unlinked file of ``size`` bytes, written once so it sits in the page cache."""
    shm = Path("/dev/shm")
    fd, path = tempfile.mkstemp(dir=shm if shm.is_dir() else None)
    Path(path).unlink()
    block = bytes(range(256)) * (CHUNK // 256)
    for _ in range(max(1, size // CHUNK)):
        os.write(fd, block)
    return fd


def _produce(fd: int, size: int, source: int, source_size: int) -> None:
    """Splice ``size`` bytes of ``source`` (repeated) into ``fd``, then close it."""
    remaining = size
    try:
        while remaining:
            offset = (size - remaining) % source_size
            count = min(CHUNK, remaining, source_size - offset)
            remaining -= os.splice(source, fd, count, offset_src=offset)
    finally:
        os.close(fd)


def _consume(fd: int) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        while os.splice(fd, devnull, CHUNK):
            pass
    finally:
        os.close(devnull)
        os.close(fd)


def measure(implementation: str, size: int, *, pipe_capacity: int) -> float:
    """Time one pump of ``size`` bytes between pipes of ``pipe_capacity`` bytes."""
    pump = _pump(implementation, buffer_size=pipe_capacity)
    source_size = min(SOURCE_FILE_SIZE, max(CHUNK, size))
    source = _source_file(source_size)
    reader, source_in = _pipe(pipe_capacity)
    sink_out, writer = _pipe(pipe_capacity)
    producer = threading.Thread(target=_produce, args=(source_in, size, source, source_size))
    consumer = threading.Thread(target=_consume, args=(sink_out,))
    producer.start()
    consumer.start()
    started = time.perf_counter()
    moved = pump(reader, writer)
    elapsed = time.perf_counter() - started
    producer.join()
    consumer.join()
    os.close(reader)
    os.close(source)
    if moved != size:
        msg = f"{implementation} moved {moved} bytes, expected {size}"
        raise RuntimeError(msg)
    return elapsed


_COMMON = (
    "`rust_pump_stream` between two pipes, against the same engine with its portable "
    "read/write loop forced and against a plain Python `os.read`/`os.write` loop. "
    "The ends cost the pump nothing: a producer thread splices a file held in the page "
    "cache into the source pipe and a consumer thread splices the sink pipe into "
    "`/dev/null`; only the pump call is timed."
)

register(
    Scenario(
        name="pump",
        title="Stream pump: one pipe-to-pipe hop, default pipes",
        description=(
            f"{_COMMON} Pipes keep their default 64 KiB capacity and the buffer is "
            "64 KiB, as between the stages of a pipeline. Each pipe then holds one "
            "buffer's worth, so every 64 KiB costs a round of wake-ups of the three "
            "threads; on a small machine that scheduling cost, not the copying, "
            "bounds all three implementations."
        ),
        size=GIB,
        smoke_size=1 << 20,
        implementations=IMPLEMENTATIONS,
        baseline="python",
        measure=functools.partial(measure, pipe_capacity=DEFAULT_PIPE),
        targets=(
            # Moving pages instead of bytes must never cost throughput.
            Target("splice", "python", 1.0),
            # The portable loop is the behaviour reference: no slower than
            # what a Python program would write by hand (within noise).
            Target("portable", "python", 0.9),
        ),
    )
)

register(
    Scenario(
        name="pump-large-pipes",
        title="Stream pump: one pipe-to-pipe hop, 1 MiB pipes",
        description=(
            f"{_COMMON} Both pipes are enlarged to 1 MiB (`F_SETPIPE_SZ`) and the "
            "buffer is 1 MiB, so wake-ups are rare and the cost of moving each byte "
            "dominates: `splice` moves page references, the read/write loops copy "
            "every byte twice."
        ),
        size=GIB,
        smoke_size=1 << 20,
        implementations=IMPLEMENTATIONS,
        baseline="python",
        measure=functools.partial(measure, pipe_capacity=LARGE_PIPE),
        targets=(
            Target("splice", "python", 3.0),
            Target("portable", "python", 0.9),
        ),
    )
)
