"""``rust_consume_stream`` (spec §10.3, cases 75 and 77)."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cuprum._streams_rs import rust_consume_stream

MakePipe = Callable[[], tuple[int, int]]


def consume_bytes(payload: bytes, buffer_size: int) -> str:
    reader, writer = os.pipe()

    def produce() -> None:
        try:
            os.write(writer, payload)
        finally:
            os.close(writer)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    try:
        text = rust_consume_stream(reader, buffer_size=buffer_size)
        producer.join()
        os.fstat(reader)  # still open
    finally:
        os.close(reader)
    return text


def test_directory_raises_is_a_directory_and_stays_open(tmp_path: Path) -> None:
    directory = os.open(tmp_path, os.O_RDONLY)
    try:
        with pytest.raises(IsADirectoryError) as info:
            rust_consume_stream(directory)
        assert info.value.errno == errno.EISDIR
        assert str(info.value) == f"[Errno {errno.EISDIR}] {os.strerror(errno.EISDIR)}"
        os.fstat(directory)
    finally:
        os.close(directory)


def test_consume_never_closes(make_pipe: MakePipe) -> None:
    reader, writer = make_pipe()
    os.write(writer, b"first")
    os.close(writer)
    assert rust_consume_stream(reader) == "first"
    assert rust_consume_stream(reader) == ""
    os.fstat(reader)


def test_empty_stream_gives_empty_text() -> None:
    assert consume_bytes(b"", 16) == ""


def test_large_stream() -> None:
    text = "ligne numéro ✓\n" * 200_000
    assert consume_bytes(text.encode(), 65536) == text


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"caf\xc3\xa9", "café"),
        (b"\xff", "\ufffd"),
        (b"a\xf0\x90\x41", "a\ufffdA"),
        (b"\xe2\x82", "\ufffd"),
        (b"\xed\xa0\x80", "\ufffd\ufffd\ufffd"),
        (b"ok\xf0\x9f\x98", "ok\ufffd"),
    ],
)
@pytest.mark.parametrize("buffer_size", [1, 2, 3, 65536])
def test_replacement(payload: bytes, expected: str, buffer_size: int) -> None:
    assert consume_bytes(payload, buffer_size) == expected


@settings(max_examples=150, deadline=None)
@given(payload=st.binary(max_size=4000), buffer_size=st.integers(min_value=1, max_value=5000))
def test_matches_python_replace_decoding(payload: bytes, buffer_size: int) -> None:
    assert consume_bytes(payload, buffer_size) == payload.decode("utf-8", "replace")
