"""Binary echo sinks: ``stdout_sink``/``stderr_sink`` typed ``IO[bytes]``
receive the child's raw bytes, never decoded text."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cuprum import ExecutionContext, RunOutputOptions, SafeCmdBuilder, observe

Run = Callable[..., Any]

ECHO_ONLY = RunOutputOptions(capture=False, echo=True)
TEE = RunOutputOptions(capture=True, echo=True)
INVALID_UTF8 = b"\xffA\xe2\x82\xac\n"


def test_bytes_io_sinks_receive_raw_bytes(fx: SafeCmdBuilder, runner: Run) -> None:
    out, err = io.BytesIO(), io.BytesIO()
    context = ExecutionContext(stdout_sink=out, stderr_sink=err)
    runner(fx("both", "out", "err"), output=ECHO_ONLY, context=context)
    assert out.getvalue() == b"out\n"
    assert err.getvalue() == b"err\n"


def test_binary_sink_gets_invalid_utf8_untouched_while_capture_decodes(
    fx: SafeCmdBuilder, runner: Run
) -> None:
    out = io.BytesIO()
    context = ExecutionContext(stdout_sink=out, stderr_sink=io.BytesIO())
    result = runner(fx("hex", INVALID_UTF8.hex()), output=TEE, context=context)
    assert out.getvalue() == INVALID_UTF8
    assert result.stdout == "\ufffdA€\n"


def test_file_opened_in_binary_mode_receives_raw_bytes(fx: SafeCmdBuilder, tmp_path: Path) -> None:
    target = tmp_path / "echo.bin"
    with target.open("wb") as out:
        out.write(b"before\n")
        context = ExecutionContext(stdout_sink=out, stderr_sink=io.BytesIO())
        fx("hex", "ff0a").run_sync(output=ECHO_ONLY, context=context)
        out.write(b"after\n")
    assert target.read_bytes() == b"before\n\xff\nafter\n"


def test_unbuffered_raw_file_receives_raw_bytes(fx: SafeCmdBuilder, tmp_path: Path) -> None:
    target = tmp_path / "raw.bin"
    with target.open("wb", buffering=0) as out:  # an io.FileIO, a RawIOBase
        context = ExecutionContext(stdout_sink=out, stderr_sink=io.BytesIO())
        fx("hex", "fe0a").run_sync(output=ECHO_ONLY, context=context)
    assert target.read_bytes() == b"\xfe\n"


def test_named_temporary_file_wrapper_counts_as_binary(fx: SafeCmdBuilder) -> None:
    # Not an io class, but its `mode` says binary.
    with tempfile.NamedTemporaryFile() as out:
        context = ExecutionContext(stdout_sink=out, stderr_sink=io.BytesIO())
        fx("echo", "named").run_sync(output=ECHO_ONLY, context=context)
        out.seek(0)
        assert out.read() == b"named\n"


def test_binary_sink_with_observed_non_utf8_codec_still_gets_raw_bytes(
    fx: SafeCmdBuilder,
) -> None:
    # An observed run with a codec the engine does not decode echoes from
    # Python instead of the descriptor: the bytes must be the same.
    out = io.BytesIO()
    lines: list[str | None] = []
    context = ExecutionContext(stdout_sink=out, stderr_sink=io.BytesIO(), encoding="cp1252")
    with observe(lambda event: lines.append(event.line) if event.phase == "stdout" else None):
        fx("hex", "96410a").run_sync(output=ECHO_ONLY, context=context)
    assert out.getvalue() == b"\x96A\n"
    assert lines == ["\u2013A"]
