"""Argument checks of the native stream functions (spec §10.2, §10.3, case 73).

Checks run in a fixed order (buffer size, reader, writer) and before any
descriptor is touched.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from cuprum import _native
from cuprum._streams_rs import rust_consume_stream, rust_pump_stream

MakePipe = Callable[[], tuple[int, int]]

BAD_SIZES = [
    (0, "buffer_size must be greater than zero"),
    (-1, "buffer_size must be greater than zero"),
    (2**30 + 1, "buffer_size exceeds the maximum permitted size"),
    (2**62, "buffer_size exceeds the maximum permitted size"),
]
BAD_FDS = [
    (-1, "file descriptor must be non-negative"),
    (-(2**40), "file descriptor must be non-negative"),
    (2**31, "file descriptor out of range"),
    (2**40, "file descriptor out of range"),
]


def assert_untouched(read_fd: int, write_fd: int) -> None:
    """Both ends are open, and the byte written before the call is unread."""
    os.fstat(write_fd)
    assert os.read(read_fd, 10) == b"x"


@pytest.mark.parametrize(("size", "message"), BAD_SIZES)
def test_pump_rejects_buffer_size(make_pipe: MakePipe, size: int, message: str) -> None:
    reader, source_in = make_pipe()
    _, writer = make_pipe()
    os.write(source_in, b"x")
    with pytest.raises(ValueError, match=f"^{message}$"):
        rust_pump_stream(reader, writer, buffer_size=size)
    assert_untouched(reader, writer)


@pytest.mark.parametrize(("fd", "message"), BAD_FDS)
def test_pump_rejects_reader_fd(make_pipe: MakePipe, fd: int, message: str) -> None:
    reader, source_in = make_pipe()
    _, writer = make_pipe()
    os.write(source_in, b"x")
    with pytest.raises(ValueError, match=f"^{message}$"):
        rust_pump_stream(fd, writer)
    assert_untouched(reader, writer)


@pytest.mark.parametrize(("fd", "message"), BAD_FDS)
def test_pump_rejects_writer_fd(make_pipe: MakePipe, fd: int, message: str) -> None:
    reader, source_in = make_pipe()
    os.write(source_in, b"x")
    with pytest.raises(ValueError, match=f"^{message}$"):
        rust_pump_stream(reader, fd)
    assert os.read(reader, 10) == b"x"


def test_checks_run_in_order(make_pipe: MakePipe) -> None:
    reader, _ = make_pipe()
    with pytest.raises(ValueError, match="buffer_size must be greater than zero"):
        rust_pump_stream(-1, 2**40, buffer_size=0)
    with pytest.raises(ValueError, match="must be non-negative"):
        rust_pump_stream(-1, 2**40)
    with pytest.raises(ValueError, match="out of range"):
        rust_pump_stream(2**40, -1)
    with pytest.raises(ValueError, match="out of range"):
        rust_pump_stream(reader, 2**40)


@pytest.mark.parametrize(("size", "message"), BAD_SIZES)
def test_consume_rejects_buffer_size(make_pipe: MakePipe, size: int, message: str) -> None:
    reader, source_in = make_pipe()
    os.write(source_in, b"x")
    with pytest.raises(ValueError, match=f"^{message}$"):
        rust_consume_stream(reader, buffer_size=size)
    assert os.read(reader, 10) == b"x"


@pytest.mark.parametrize(("fd", "message"), BAD_FDS)
def test_consume_rejects_fd(fd: int, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        rust_consume_stream(fd)


def test_limits_are_inclusive(make_pipe: MakePipe) -> None:
    reader, source_in = make_pipe()
    _, writer = make_pipe()
    os.write(source_in, b"abc")
    os.close(source_in)
    assert rust_pump_stream(reader, writer, buffer_size=2**30) == 3
    assert rust_consume_stream(reader, buffer_size=1) == ""
    assert rust_consume_stream(reader, buffer_size=2**30) == ""


def test_native_functions_take_buffer_size_positionally(make_pipe: MakePipe) -> None:
    reader, source_in = make_pipe()
    sink_out, writer = make_pipe()
    os.write(source_in, b"positional")
    os.close(source_in)
    assert _native.rust_pump_stream(reader, writer, 3) == 10
    assert _native.rust_consume_stream(sink_out, 4) == "positional"


@pytest.mark.parametrize("value", ["3", 3.0, None])
def test_non_integers_fail_in_conversion(make_pipe: MakePipe, value: object) -> None:
    reader, _ = make_pipe()
    _, writer = make_pipe()
    with pytest.raises(TypeError):
        rust_pump_stream(value, writer)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        rust_pump_stream(reader, writer, buffer_size=value)  # type: ignore[arg-type]
    os.fstat(writer)


def test_values_beyond_64_bits_fail_in_conversion(make_pipe: MakePipe) -> None:
    reader, _ = make_pipe()
    _, writer = make_pipe()
    with pytest.raises(OverflowError):
        rust_pump_stream(reader, writer, buffer_size=2**64)
    with pytest.raises(OverflowError):
        rust_consume_stream(-(2**70))
    os.fstat(writer)
