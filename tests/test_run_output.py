"""Output of single commands: capture, echo, tee and decoding (spec §4.6)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cuprum.context import observe
from cuprum.events import ExecEvent
from cuprum.sh import (
    ExecutionContext,
    IOOptions,
    RunOutputOptions,
    SafeCmd,
    SafeCmdBuilder,
)
from helpers import sh_cmd

Run = Callable[..., Any]

ECHO_ONLY = RunOutputOptions(capture=False, echo=True)
TEE = RunOutputOptions(capture=True, echo=True)
QUIET = RunOutputOptions(capture=False, echo=False)

GIB = 1 << 30


class RecordingSink(io.StringIO):
    """A text-only sink (no ``buffer``) that remembers every write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def byte_sink() -> io.TextIOWrapper:
    """A text sink with a ``buffer`` attribute but no real descriptor."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8")


def sinks(out: Any, err: Any, **fields: Any) -> ExecutionContext:
    return ExecutionContext(stdout_sink=out, stderr_sink=err, **fields)


def spew_block() -> bytes:
    """One 64 KiB block of the fixture's ``spew`` pattern."""
    line = bytes(ord("a") + i % 26 for i in range(63)) + b"\n"
    return line * 1024


def spew_text(size: int) -> str:
    block = spew_block()
    return (block * (size // len(block) + 1))[:size].decode("ascii")


# --- capture ------------------------------------------------------------------------


def test_capture_is_the_default(fx: SafeCmdBuilder, runner: Run) -> None:
    result = runner(fx("both", "out", "err"))
    assert (result.stdout, result.stderr) == ("out\n", "err\n")


def test_capturing_an_empty_stream_gives_empty_text(fx: SafeCmdBuilder, runner: Run) -> None:
    result = runner(fx("exit", 0), output=RunOutputOptions(capture=True))
    assert result.stdout == ""
    assert result.stderr == ""


@pytest.mark.parametrize("output", [ECHO_ONLY, QUIET], ids=["echo", "quiet"])
def test_no_capture_gives_none_even_when_echoing(
    fx: SafeCmdBuilder, runner: Run, output: RunOutputOptions
) -> None:
    """§11.9."""
    out, err = io.StringIO(), io.StringIO()
    result = runner(fx("both", "out", "err"), output=output, context=sinks(out, err))
    assert result.stdout is None
    assert result.stderr is None
    assert result.ok
    expected = ("out\n", "err\n") if output.echo else ("", "")
    assert (out.getvalue(), err.getvalue()) == expected


def test_capture_of_an_odd_size_is_exact(fx: SafeCmdBuilder, runner: Run) -> None:
    size = 1_000_003
    assert runner(fx("spew", size)).stdout == spew_text(size)


def test_one_gibibyte_is_captured_intact(fx: SafeCmdBuilder) -> None:
    result = fx("spew", GIB).run_sync()
    stdout = result.stdout
    del result
    assert stdout is not None
    assert len(stdout) == GIB
    expected = hashlib.sha256()
    block = spew_block()
    for _ in range(GIB // len(block)):
        expected.update(block)
    actual = hashlib.sha256()
    step = 1 << 26
    for offset in range(0, len(stdout), step):
        actual.update(stdout[offset : offset + step].encode("ascii"))
    assert actual.hexdigest() == expected.hexdigest()


# --- decoding ---------------------------------------------------------------------------


def test_invalid_utf8_is_replaced_by_default(fx: SafeCmdBuilder, runner: Run) -> None:
    """§11.13 (replace)."""
    result = runner(fx("hex", "ff41e282"))
    assert result.stdout == "\ufffdA\ufffd"


def test_invalid_utf8_on_stderr_is_replaced(fx: SafeCmdBuilder) -> None:
    result = sh_cmd(r"printf 'a\377b' >&2").run_sync()
    assert result.stderr == "a\ufffdb"


def test_invalid_utf8_under_strict_raises(fx: SafeCmdBuilder, runner: Run) -> None:
    """§11.13 (strict): UnicodeDecodeError from run, and no exit event."""
    events: list[ExecEvent] = []
    with observe(events.append), pytest.raises(UnicodeDecodeError):
        runner(fx("hex", "ff41"), context=ExecutionContext(errors="strict"))
    assert [e.phase for e in events] == ["plan", "start"]


def test_valid_utf8_under_strict_decodes(fx: SafeCmdBuilder) -> None:
    result = fx("hex", "e282ac").run_sync(context=ExecutionContext(errors="strict"))
    assert result.stdout == "€"


@pytest.mark.parametrize(
    ("errors", "expected"),
    [("backslashreplace", "\\xffA"), ("surrogateescape", "\udcffA"), ("ignore", "A")],
)
def test_other_error_handlers(fx: SafeCmdBuilder, errors: str, expected: str) -> None:
    result = fx("hex", "ff41").run_sync(context=ExecutionContext(errors=errors))
    assert result.stdout == expected


def test_cp1252_decodes_en_dash(fx: SafeCmdBuilder, runner: Run) -> None:
    """§11.12."""
    ctx = ExecutionContext(encoding="cp1252", errors="strict")
    result = runner(fx("hex", "96"), context=ctx)
    assert result.stdout == "\u2013"


def test_utf8_alias_spelling_is_accepted(fx: SafeCmdBuilder) -> None:
    result = fx("hex", "e282ac").run_sync(context=ExecutionContext(encoding="UTF8"))
    assert result.stdout == "€"


def test_unknown_encoding_raises_lookup_error(fx: SafeCmdBuilder) -> None:
    with pytest.raises(LookupError):
        fx("echo").run_sync(context=ExecutionContext(encoding="no-such-codec"))


# --- echo ------------------------------------------------------------------------------


def test_echo_to_a_sink_with_buffer_writes_raw_bytes(fx: SafeCmdBuilder, runner: Run) -> None:
    """§11.10 (buffer): bytes go to ``sink.buffer`` untouched, even invalid UTF-8."""
    out, err = byte_sink(), byte_sink()
    runner(fx("hex", "ff41e282ac0a"), output=ECHO_ONLY, context=sinks(out, err))
    assert isinstance(out.buffer, io.BytesIO)
    assert out.buffer.getvalue() == b"\xffA\xe2\x82\xac\n"
    assert isinstance(err.buffer, io.BytesIO)
    assert err.buffer.getvalue() == b""


def test_echo_to_string_io_writes_decoded_text(fx: SafeCmdBuilder, runner: Run) -> None:
    """§11.10 (text)."""
    out, err = io.StringIO(), io.StringIO()
    runner(fx("both", "ünï", "cödé"), output=ECHO_ONLY, context=sinks(out, err))
    assert out.getvalue() == "ünï\n"
    assert err.getvalue() == "cödé\n"


def test_echo_to_string_io_uses_the_context_codec(fx: SafeCmdBuilder) -> None:
    out = io.StringIO()
    ctx = sinks(out, io.StringIO(), encoding="cp1252")
    fx("hex", "9641").run_sync(output=ECHO_ONLY, context=ctx)
    assert out.getvalue() == "\u2013A"


def test_echo_to_a_file_sink_writes_raw_bytes(fx: SafeCmdBuilder, tmp_path: Path) -> None:
    target = tmp_path / "echo.txt"
    with target.open("w", encoding="utf-8") as out:
        out.write("before\n")
        fx("hex", "ff0a").run_sync(output=ECHO_ONLY, context=sinks(out, io.StringIO()))
        out.write("after\n")
    assert target.read_bytes() == b"before\n\xff\nafter\n"


def test_split_multibyte_character_echoes_intact(fx: SafeCmdBuilder) -> None:
    """§11.11: the first byte of "€" arrives in one read, the rest later."""
    cmd: SafeCmd = sh_cmd(r"printf '\342'; sleep 0.2; printf '\202\254\n'")
    out = RecordingSink()
    result = cmd.run_sync(output=TEE, context=sinks(out, io.StringIO()))
    assert result.stdout == "€\n"
    assert "".join(out.writes) == "€\n"
    assert all("\ufffd" not in text for text in out.writes)


def test_truncated_character_at_eof_is_flushed_by_the_decoder(fx: SafeCmdBuilder) -> None:
    out = io.StringIO()
    fx("hex", "41e282").run_sync(output=ECHO_ONLY, context=sinks(out, io.StringIO()))
    assert out.getvalue() == "A\ufffd"


def test_tee_captures_and_echoes_the_same_bytes(fx: SafeCmdBuilder, runner: Run) -> None:
    out, err = io.StringIO(), io.StringIO()
    size = 3 * 1000 * 1000
    result = runner(fx("spew", size), output=TEE, context=sinks(out, err))
    assert result.stdout == spew_text(size)
    assert out.getvalue() == result.stdout


def test_echo_goes_to_the_real_stdout_and_stderr(
    fx: SafeCmdBuilder, runner: Run, capfd: pytest.CaptureFixture[str]
) -> None:
    result = runner(fx("both", "to-stdout", "to-stderr"), output=ECHO_ONLY)
    assert result.stdout is None
    captured = capfd.readouterr()
    assert "to-stdout\n" in captured.out
    assert "to-stderr\n" in captured.err


def test_default_sinks_are_looked_up_at_call_time(
    fx: SafeCmdBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    cmd = fx("both", "out", "err")
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    cmd.run_sync(output=ECHO_ONLY)
    assert (out.getvalue(), err.getvalue()) == ("out\n", "err\n")


# --- IOOptions ------------------------------------------------------------------------


def test_io_options_warns_and_is_run_output_options(fx: SafeCmdBuilder) -> None:
    """§11.14."""
    with pytest.warns(DeprecationWarning, match="RunOutputOptions") as record:
        options = IOOptions(capture=True, echo=False)
    assert isinstance(options, RunOutputOptions)
    assert record[0].filename == __file__, "the warning points at the caller"
    assert fx("echo", "hi").run_sync(output=options).stdout == "hi\n"


@pytest.fixture
def fresh_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_echo_to_a_buffer_sink_in_async_run(
    fx: SafeCmdBuilder, fresh_loop: asyncio.AbstractEventLoop
) -> None:
    out = byte_sink()
    coro = fx("spew", 200_000).run(output=ECHO_ONLY, context=sinks(out, io.StringIO()))
    fresh_loop.run_until_complete(coro)
    assert isinstance(out.buffer, io.BytesIO)
    assert out.buffer.getvalue().decode("ascii") == spew_text(200_000)


@pytest.mark.parametrize("errors", ["replace", "backslashreplace", "surrogateescape"])
def test_line_events_decode_like_the_captured_text(fx: SafeCmdBuilder, errors: str) -> None:
    events: list[ExecEvent] = []
    with observe(events.append):
        result = fx("hex", "ff0a41e282ac0a").run_sync(context=ExecutionContext(errors=errors))
    assert result.stdout is not None
    assert [e.line for e in events if e.phase == "stdout"] == result.stdout.splitlines()
