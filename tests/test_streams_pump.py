"""``rust_pump_stream`` end to end (spec §10.2, §10.4, cases 74, 76, 77).

Every transfer runs with a producer thread on the source pipe and a consumer
thread on the sink pipe, so payloads larger than a pipe can hold flow.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cuprum import _native
from cuprum._streams_rs import rust_consume_stream, rust_pump_stream

MakePipe = Callable[[], tuple[int, int]]
Pump = Callable[..., int]


def pump_portable(reader_fd: int, writer_fd: int, *, buffer_size: int = 65536) -> int:
    """The pump with the portable read/write loop forced."""
    count, method, _ = _native._pump_stream_report(reader_fd, writer_fd, buffer_size, portable=True)
    assert method == "read_write"
    return count


PUMPS = [pytest.param(rust_pump_stream, id="auto"), pytest.param(pump_portable, id="portable")]


class Producer(threading.Thread):
    """Writes a payload to a descriptor, then closes it."""

    def __init__(self, fd: int, payload: bytes, *, chunk: int = 1 << 20) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.payload = payload
        self.chunk = chunk
        self.error: OSError | None = None

    def run(self) -> None:
        view = memoryview(self.payload)
        try:
            while view:
                written = os.write(self.fd, view[: self.chunk])
                view = view[written:]
        except OSError as exc:
            self.error = exc
        finally:
            os.close(self.fd)


class Consumer(threading.Thread):
    """Reads a descriptor to end of input (or ``limit`` bytes), then closes it."""

    def __init__(self, fd: int, *, limit: int | None = None) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.limit = limit
        self.data = bytearray()

    def run(self) -> None:
        try:
            while self.limit is None or len(self.data) < self.limit:
                want = 1 << 20 if self.limit is None else self.limit - len(self.data)
                chunk = os.read(self.fd, want)
                if not chunk:
                    break
                self.data += chunk
        finally:
            os.close(self.fd)


def fd_is_open(fd: int) -> bool:
    try:
        fcntl.fcntl(fd, fcntl.F_GETFD)
    except OSError as exc:
        if exc.errno != errno.EBADF:
            raise
        return False
    return True


def open_fds() -> set[str]:
    return {entry.name for entry in Path("/proc/self/fd").iterdir()}


def pump_payload(payload: bytes, pump: Pump = rust_pump_stream, buffer_size: int = 65536) -> bytes:
    """Pump ``payload`` pipe to pipe; check ownership; return what arrived."""
    reader, source_in = os.pipe()
    sink_out, writer = os.pipe()
    producer = Producer(source_in, payload)
    consumer = Consumer(sink_out)
    producer.start()
    consumer.start()
    try:
        count = pump(reader, writer, buffer_size=buffer_size)
        producer.join()
        consumer.join()
        assert producer.error is None
        assert count == len(payload)
        assert fd_is_open(reader)
        assert not fd_is_open(writer)
    finally:
        os.close(reader)
    return bytes(consumer.data)


@pytest.mark.parametrize("pump", PUMPS)
@pytest.mark.parametrize("size", [0, 1, 4095, 65536, 10 * 1024 * 1024])
def test_round_trip(pump: Pump, size: int) -> None:
    payload = os.urandom(size)
    assert pump_payload(payload, pump) == payload


@pytest.mark.parametrize("pump", PUMPS)
@pytest.mark.parametrize("buffer_size", [1, 7, 4096, 1 << 20])
def test_buffer_sizes(pump: Pump, buffer_size: int) -> None:
    payload = os.urandom(100_000)
    assert pump_payload(payload, pump, buffer_size) == payload


@settings(max_examples=60, deadline=None)
@given(
    payload=st.binary(max_size=200_000),
    buffer_size=st.integers(min_value=1, max_value=1 << 17),
    portable=st.booleans(),
)
def test_bytes_are_preserved(payload: bytes, buffer_size: int, portable: bool) -> None:
    pump = pump_portable if portable else rust_pump_stream
    assert pump_payload(payload, pump, buffer_size) == payload


def test_closed_reader_raises_ebadf(make_pipe: MakePipe) -> None:
    reader, _ = make_pipe()
    _, writer = make_pipe()
    os.close(reader)
    with pytest.raises(OSError) as info:
        rust_pump_stream(reader, writer)
    assert type(info.value) is OSError
    assert info.value.errno == errno.EBADF
    assert str(info.value).startswith("[Errno 9] ")
    assert "os error" not in str(info.value)
    assert not fd_is_open(writer)


def test_write_error_keeps_errno_and_subclass(make_pipe: MakePipe, tmp_path: Path) -> None:
    reader, source_in = make_pipe()
    os.write(source_in, b"data")
    os.close(source_in)
    read_only = os.open(tmp_path / "f", os.O_RDONLY | os.O_CREAT)
    with pytest.raises(OSError) as info:
        rust_pump_stream(reader, read_only)
    assert info.value.errno == errno.EBADF
    assert fd_is_open(reader)
    assert not fd_is_open(read_only)


@pytest.mark.parametrize("pump", PUMPS)
def test_closed_downstream_returns_and_drains(pump: Pump) -> None:
    payload = os.urandom(1 << 20)
    reader, source_in = os.pipe()
    sink_out, writer = os.pipe()
    os.close(sink_out)
    producer = Producer(source_in, payload)
    producer.start()
    try:
        count = pump(reader, writer)
        producer.join()
        assert count == 0
        assert count <= len(payload)
        assert producer.error is None, "the source was not drained"
        assert os.read(reader, 1) == b""
        assert not fd_is_open(writer)
    finally:
        os.close(reader)


@pytest.mark.parametrize("pump", PUMPS)
def test_downstream_closing_midway_returns_bytes_delivered(pump: Pump) -> None:
    payload = os.urandom(4 << 20)
    reader, source_in = os.pipe()
    sink_out, writer = os.pipe()
    producer = Producer(source_in, payload)
    consumer = Consumer(sink_out, limit=100_000)
    producer.start()
    consumer.start()
    try:
        count = pump(reader, writer)
        producer.join()
        consumer.join()
        assert 100_000 <= count < len(payload)
        assert consumer.data == payload[:100_000]
        assert producer.error is None
        assert os.read(reader, 1) == b""
    finally:
        os.close(reader)


def test_socket_reset_downstream_is_not_an_error() -> None:
    source, source_in = socket.socketpair()
    sink, sink_out = socket.socketpair()
    sink_out.close()
    producer = Producer(source_in.detach(), b"z" * 500_000)
    producer.start()
    try:
        assert rust_pump_stream(source.fileno(), sink.detach()) == 0
        producer.join()
        assert producer.error is None
    finally:
        source.close()


@pytest.mark.parametrize("pump", PUMPS)
def test_non_blocking_descriptors(pump: Pump) -> None:
    payload = os.urandom(2 << 20)
    reader, source_in = os.pipe()
    sink_out, writer = os.pipe()
    os.set_blocking(reader, False)
    os.set_blocking(writer, False)

    def slow_writes() -> None:
        for start in range(0, len(payload), 256 << 10):
            time.sleep(0.003)
            view = memoryview(payload)[start : start + (256 << 10)]
            while view:
                view = view[os.write(source_in, view) :]
        os.close(source_in)

    producer = threading.Thread(target=slow_writes, daemon=True)
    consumer = Consumer(sink_out)
    producer.start()
    consumer.start()
    try:
        assert pump(reader, writer) == len(payload)
        producer.join()
        consumer.join()
        assert consumer.data == payload
        assert not os.get_blocking(reader), "the reader's flags were changed"
    finally:
        os.close(reader)


def test_file_to_file(tmp_path: Path) -> None:
    payload = os.urandom(3 << 20)
    (tmp_path / "in").write_bytes(payload)
    reader = os.open(tmp_path / "in", os.O_RDONLY)
    writer = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    try:
        assert rust_pump_stream(reader, writer) == len(payload)
        assert fd_is_open(reader)
        assert not fd_is_open(writer)
    finally:
        os.close(reader)
    assert (tmp_path / "out").read_bytes() == payload


def test_pump_then_consume_keeps_reader(make_pipe: MakePipe) -> None:
    reader, source_in = make_pipe()
    sink_out, writer = make_pipe()
    os.write(source_in, "héllo\n".encode())
    os.close(source_in)
    assert rust_pump_stream(reader, writer) == 7
    assert not fd_is_open(writer)
    assert rust_consume_stream(sink_out) == "héllo\n"
    assert fd_is_open(sink_out)
    assert fd_is_open(reader)


def test_no_descriptor_leaks(tmp_path: Path) -> None:
    """Many calls over every return path leave the descriptor table unchanged."""
    before = open_fds()
    for _ in range(150):
        assert pump_payload(b"leak check " * 100) == b"leak check " * 100
        reader, source_in = os.pipe()
        sink_out, writer = os.pipe()
        os.close(sink_out)
        os.write(source_in, b"x" * 1000)
        os.close(source_in)
        assert rust_pump_stream(reader, writer) == 0
        directory = os.open(tmp_path, os.O_RDONLY)
        with pytest.raises(IsADirectoryError):
            rust_consume_stream(directory)
        os.close(directory)
        sink_out, writer = os.pipe()
        with pytest.raises(OSError, match=r"^\[Errno 9\]"):
            rust_pump_stream(2**31 - 1, writer)
        os.close(reader)
        os.close(sink_out)
        with contextlib.suppress(ValueError):
            rust_pump_stream(0, 1, buffer_size=0)
    assert open_fds() == before


def test_writer_is_closed_even_when_blocking_flag_is_odd(make_pipe: MakePipe) -> None:
    reader, source_in = make_pipe()
    sink_out, writer = make_pipe()
    flags = fcntl.fcntl(writer, fcntl.F_GETFL)
    fcntl.fcntl(writer, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    os.write(source_in, b"abc")
    os.close(source_in)
    assert rust_pump_stream(reader, writer) == 3
    assert not fd_is_open(writer)
    assert os.read(sink_out, 10) == b"abc"
