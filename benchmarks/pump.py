"""Pump throughput: one pipe-to-pipe hop, 1 GiB.

A producer thread writes zeros into the source pipe and a consumer thread
splices the sink pipe into ``/dev/null``; only the pump in the middle
changes between implementations, and only the pump call is timed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from benchmarks.harness import GIB, Implementation, Scenario, Target, register

BUFFER_SIZE = 65536
CHUNK = 1 << 20


def python_loop(reader_fd: int, writer_fd: int, buffer_size: int = BUFFER_SIZE) -> int:
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


def _pump(implementation: str) -> Callable[[int, int], int]:
    if implementation == "python":
        return python_loop
    from cuprum import _native
    from cuprum._streams_rs import rust_pump_stream

    if implementation == "splice":
        return lambda r, w: rust_pump_stream(r, w, buffer_size=BUFFER_SIZE)
    if implementation == "portable":
        return lambda r, w: _native._pump_stream_report(r, w, BUFFER_SIZE, portable=True)[0]
    msg = f"unknown implementation {implementation!r}"
    raise ValueError(msg)


def _produce(fd: int, size: int) -> None:
    block = memoryview(bytes(CHUNK))
    remaining = size
    try:
        while remaining:
            remaining -= os.write(fd, block[: min(CHUNK, remaining)])
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


def measure(implementation: str, size: int) -> float:
    pump = _pump(implementation)
    reader, source_in = os.pipe()
    sink_out, writer = os.pipe()
    producer = threading.Thread(target=_produce, args=(source_in, size))
    consumer = threading.Thread(target=_consume, args=(sink_out,))
    producer.start()
    consumer.start()
    started = time.perf_counter()
    moved = pump(reader, writer)
    elapsed = time.perf_counter() - started
    producer.join()
    consumer.join()
    os.close(reader)
    if moved != size:
        msg = f"{implementation} moved {moved} bytes, expected {size}"
        raise RuntimeError(msg)
    return elapsed


SCENARIO = register(
    Scenario(
        name="pump",
        title="Stream pump: one pipe-to-pipe hop",
        description=(
            "`rust_pump_stream` between two pipes (64 KiB buffer), against the same "
            "engine with its portable read/write loop forced and against a plain "
            "Python `os.read`/`os.write` loop. A producer thread fills the source "
            "pipe and a consumer thread splices the sink pipe into `/dev/null`; "
            "only the pump call is timed."
        ),
        size=GIB,
        smoke_size=1 << 20,
        implementations=(
            Implementation("splice", "`rust_pump_stream` (splice)"),
            Implementation("portable", "engine read/write loop"),
            Implementation("python", "Python read/write loop"),
        ),
        baseline="python",
        measure=measure,
        targets=(
            # The zero-copy path must clearly beat copying through user space.
            Target("splice", "python", 1.3),
            # The portable loop is the behaviour reference: no slower than
            # what a Python program would write by hand (within noise).
            Target("portable", "python", 0.9),
        ),
    )
)
