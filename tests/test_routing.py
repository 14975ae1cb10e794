"""I/O routing (beyond.md §15): stdin=, stdout=, stderr= on commands and
pipelines, sync and async, through real processes."""

from __future__ import annotations

import asyncio
import io
import os
import stat
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cuprum import (
    DEVNULL,
    PIPE,
    STDOUT,
    Append,
    ExecEvent,
    ExecutionContext,
    Program,
    ProgramCatalogue,
    ProjectSettings,
    RunOutputOptions,
    SafeCmd,
    SafeCmdBuilder,
    StdinInput,
    TimeoutExpired,
    observe,
)
from cuprum.sh import make
from flavours import ALL, Flavour, flavour_ids
from helpers import assert_no_children, fixture_cmd, open_fds, sh_cmd


def _single(program: Path) -> SafeCmd:
    """A command for ``program`` from a one-program catalogue of its own."""
    prog = Program(str(program))
    project = ProjectSettings(
        name="single", programs=(prog,), documentation_locations=(), noise_rules=()
    )
    return make(prog, catalogue=ProgramCatalogue(projects=(project,)))()


Run = Callable[..., Any]


# --- stdout / stderr to files ------------------------------------------------------------


def test_stdout_path_goes_to_the_file_and_is_not_captured(
    fx: SafeCmdBuilder, runner: Run, tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    result = runner(fx("both", "to-file", "to-err"), stdout=out)
    assert out.read_text() == "to-file\n"
    assert result.stdout is None
    assert result.stderr == "to-err\n"


def test_stdout_path_truncates_and_creates_with_mode_0666_less_umask(
    fx: SafeCmdBuilder, tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    out.write_text("old content that is longer\n")
    fx("echo", "new").run_sync(stdout=out)
    assert out.read_text() == "new\n"
    fresh = tmp_path / "fresh.txt"
    umask = os.umask(0o022)
    try:
        fx("echo", "x").run_sync(stdout=fresh)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644


def test_append_adds_to_the_end_of_the_file(
    fx: SafeCmdBuilder, runner: Run, tmp_path: Path
) -> None:
    log = tmp_path / "log.txt"
    runner(fx("echo", "one"), stdout=Append(log))
    runner(fx("echo", "two"), stdout=Append(str(log)))
    runner(fx("err", "three"), stderr=Append(log))
    assert log.read_text() == "one\ntwo\nthree\n"


def test_stderr_path_goes_to_the_file(fx: SafeCmdBuilder, runner: Run, tmp_path: Path) -> None:
    err = tmp_path / "err.txt"
    result = runner(fx("both", "out", "oops"), stderr=err)
    assert err.read_text() == "oops\n"
    assert result.stderr is None
    assert result.stdout == "out\n"


def test_stdout_descriptor_and_file_object(fx: SafeCmdBuilder, runner: Run, tmp_path: Path) -> None:
    target = tmp_path / "fd.txt"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        result = runner(fx("echo", "by-descriptor"), stdout=fd)
        # The caller's descriptor stays open and usable.
        os.write(fd, b"after\n")
    finally:
        os.close(fd)
    assert result.stdout is None
    assert target.read_text() == "by-descriptor\nafter\n"
    with (tmp_path / "obj.txt").open("w") as handle:
        handle.write("written first\n")  # still in Python's buffer
        runner(fx("echo", "by-object"), stdout=handle, stderr=handle)
    assert (tmp_path / "obj.txt").read_text() == "written first\nby-object\n"


def test_devnull_discards_output_and_gives_an_empty_stdin(fx: SafeCmdBuilder, runner: Run) -> None:
    result = runner(fx("both", "gone", "also-gone"), stdout=DEVNULL, stderr=DEVNULL)
    assert (result.stdout, result.stderr, result.exit_code) == (None, None, 0)
    assert runner(fx("count"), stdin=DEVNULL).stdout == "0\n"


# --- stderr=STDOUT -----------------------------------------------------------------------


def test_stderr_stdout_captures_both_streams_in_write_order(runner: Run) -> None:
    script = "echo 1; echo 2 >&2; echo 3; echo 4 >&2; echo 5"
    result = runner(sh_cmd(script), stderr=STDOUT)
    assert result.stdout == "1\n2\n3\n4\n5\n"
    assert result.stderr is None


def test_stderr_stdout_follows_a_redirected_stdout(runner: Run, tmp_path: Path) -> None:
    out = tmp_path / "both.txt"
    result = runner(sh_cmd("echo a; echo b >&2"), stdout=out, stderr=STDOUT)
    assert out.read_text() == "a\nb\n"
    assert (result.stdout, result.stderr) == (None, None)


# --- stdin from files, descriptors, iterables ----------------------------------------------


def test_stdin_path_descriptor_and_file_object(
    fx: SafeCmdBuilder, runner: Run, tmp_path: Path
) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes(b"from a file\n")
    assert runner(fx("cat"), stdin=source).stdout == "from a file\n"
    with source.open("rb") as handle:
        assert runner(fx("cat"), stdin=handle).stdout == "from a file\n"
    fd = os.open(source, os.O_RDONLY)
    try:
        assert runner(fx("cat"), stdin=fd).stdout == "from a file\n"
    finally:
        os.close(fd)


def test_stdin_iterable_is_streamed_chunk_by_chunk(fx: SafeCmdBuilder, runner: Run) -> None:
    def chunks() -> Iterator[bytes]:
        for index in range(200):
            yield bytes([65 + index % 26]) * 10_000
        yield bytearray(b"tail")
        yield b""  # empty chunks are skipped

    result = runner(fx("count"), stdin=chunks())
    assert result.stdout == f"{200 * 10_000 + 4}\n"
    assert runner(fx("cat"), stdin=[b"a", b"b", memoryview(b"c")]).stdout == "abc"


def test_stdin_async_iterable_is_awaited(fx: SafeCmdBuilder) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for index in range(50):
            await asyncio.sleep(0)
            yield b"%d," % index

    result = asyncio.run(fx("cat").run(stdin=chunks()))
    assert result.stdout == "".join(f"{index}," for index in range(50))


def test_stdin_async_iterable_needs_await(fx: SafeCmdBuilder) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"x"

    source = chunks()
    with pytest.raises(TypeError, match=r"async iterable: use `await run\(\)`"):
        fx("cat").run_sync(stdin=source)
    asyncio.run(source.aclose())
    assert_no_children()


def test_stdin_iterable_is_closed_when_the_child_stops_reading(
    fx: SafeCmdBuilder, runner: Run
) -> None:
    # A consumer that reads 3 bytes and exits: the run ends, and the endless
    # generator is closed when it does.
    closed: list[bool] = []

    def endless() -> Iterator[bytes]:
        try:
            while True:
                yield b"0123456789"
        finally:
            closed.append(True)

    result = runner(fx("head-bytes", 3), stdin=endless())
    assert result.stdout == "012"
    assert closed == [True]


CHUNK = 1 << 16


def test_stdin_iterable_is_pulled_no_faster_than_the_pipe_drains(
    fx: SafeCmdBuilder, runner: Run
) -> None:
    # The child never reads: the engine asks for chunks only while the pipe
    # (1 MiB at most) has room, so an endless generator is pulled a bounded
    # number of times. The timeout only ends the run.
    pulled = 0

    def endless() -> Iterator[bytes]:
        nonlocal pulled
        while True:
            pulled += 1
            yield b"x" * CHUNK

    with pytest.raises(TimeoutExpired):
        runner(fx("sleep", 30), stdin=endless(), timeout=0.5)
    assert 1 <= pulled <= (1 << 20) // CHUNK + 2
    assert_no_children()


def test_a_raising_stdin_iterable_stops_the_run_and_propagates(
    fx: SafeCmdBuilder, runner: Run
) -> None:
    def broken() -> Iterator[bytes]:
        yield b"first\n"
        msg = "source failed"
        raise RuntimeError(msg)

    with pytest.raises(RuntimeError, match="source failed"):
        runner(fx("cat"), stdin=broken())
    assert_no_children()


def test_stdin_chunks_must_be_bytes(fx: SafeCmdBuilder, runner: Run) -> None:
    with pytest.raises(TypeError, match="`stdin` chunks must be bytes, got str"):
        runner(fx("cat"), stdin=iter(["text"]))
    assert_no_children()


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["data", b"data"])
def test_bare_str_or_bytes_stdin_names_the_spellings_that_work(
    fx: SafeCmdBuilder, value: object
) -> None:
    with pytest.raises(TypeError) as caught:
        fx("cat").run_sync(stdin=value)  # type: ignore[call-overload]
    message = str(caught.value)
    for hint in ("StdinInput(text=...)", "StdinInput(data=...)", "Path(...)"):
        assert hint in message


def test_pipe_is_for_start_only(fx: SafeCmdBuilder) -> None:
    for stream in ("stdin", "stdout", "stderr"):
        with pytest.raises(ValueError, match=rf"`{stream}=PIPE` needs a live process"):
            fx("echo").run_sync(**{stream: PIPE})


def test_misplaced_constants_and_bad_targets_are_clear_errors(fx: SafeCmdBuilder) -> None:
    with pytest.raises(ValueError, match="STDOUT is only for `stderr`"):
        fx("echo").run_sync(stdout=STDOUT)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match=r"subprocess.DEVNULL\? use cuprum.DEVNULL"):
        fx("echo").run_sync(stdout=subprocess.DEVNULL)
    with pytest.raises(TypeError, match=r"bare str: pass Path\(\.\.\.\)"):
        fx("echo").run_sync(stdout="out.txt")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="does not take a bool"):
        fx("echo").run_sync(stderr=True)
    with pytest.raises(TypeError, match="without a usable descriptor"):
        fx("cat").run_sync(stdin=io.BytesIO(b"x"))
    with pytest.raises(TypeError, match="Append"):
        Append(3)  # type: ignore[arg-type]
    with pytest.raises(OSError, match="`stdout` descriptor 987 cannot be used"):
        fx("echo").run_sync(stdout=987)
    assert_no_children()


def test_a_file_that_cannot_be_opened_fails_before_anything_runs(
    fx: SafeCmdBuilder, runner: Run, tmp_path: Path
) -> None:
    phases: list[str] = []
    missing = tmp_path / "no" / "such" / "dir" / "out.txt"
    with (
        observe(lambda event: phases.append(event.phase)),
        pytest.raises(FileNotFoundError) as caught,
    ):
        runner(fx("echo", "x"), stdout=missing)
    assert caught.value.filename == str(missing)
    assert "start" not in phases
    with pytest.raises(IsADirectoryError):
        runner(fx("echo", "x"), stdout=tmp_path)
    with pytest.raises(FileNotFoundError):
        runner(fx("cat"), stdin=tmp_path / "absent.txt")
    assert_no_children()


# --- neither captured, echoed nor observed ------------------------------------------------


def test_a_redirected_stream_is_not_echoed_and_has_no_line_events(
    fx: SafeCmdBuilder, runner: Run, tmp_path: Path
) -> None:
    sink_out, sink_err = io.StringIO(), io.StringIO()
    lines: list[tuple[str, str | None]] = []

    def record(event: ExecEvent) -> None:
        if event.phase in {"stdout", "stderr"}:
            lines.append((event.phase, event.line))

    out = tmp_path / "out.txt"
    with observe(record):
        result = runner(
            fx("both", "quiet", "loud"),
            stdout=out,
            output=RunOutputOptions(capture=True, echo=True),
            context=ExecutionContext(stdout_sink=sink_out, stderr_sink=sink_err),
        )
    assert out.read_text() == "quiet\n"
    assert sink_out.getvalue() == ""
    assert sink_err.getvalue() == "loud\n"
    assert lines == [("stderr", "loud")]
    assert (result.stdout, result.stderr) == (None, "loud\n")


# --- pipelines -----------------------------------------------------------------------------


def test_pipeline_stdin_feeds_the_first_stage_and_stdout_takes_the_last(
    fx: SafeCmdBuilder, runner: Run, tmp_path: Path
) -> None:
    source, out = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_text("a\nb\nc\n")
    result = runner(fx("cat") | fx("head-lines", 2), stdin=source, stdout=out)
    assert out.read_text() == "a\nb\n"
    assert result.stdout is None
    streamed = runner(fx("cat") | fx("count"), stdin=iter([b"x" * 1000] * 7))
    assert streamed.stdout == "7000\n"
    data = runner(fx("cat") | fx("cat"), stdin=StdinInput(text="payload"))
    assert data.stdout == "payload"


def test_pipeline_stderr_applies_to_every_stage(runner: Run, tmp_path: Path) -> None:
    err = tmp_path / "err.txt"
    pipeline = sh_cmd("echo one >&2; echo data") | sh_cmd("cat >/dev/null; echo two >&2")
    result = runner(pipeline, stderr=err)
    assert sorted(err.read_text().splitlines()) == ["one", "two"]
    assert all(stage.stderr is None for stage in result.stages)


def test_pipeline_stderr_stdout_merges_each_stage_into_its_own_stdout(runner: Run) -> None:
    pipeline = sh_cmd("echo out1; echo err1 >&2") | sh_cmd("cat; echo err2 >&2")
    result = runner(pipeline, stderr=STDOUT)
    # Stage 1's stderr went down the pipe to stage 2, which echoed it.
    assert result.stdout == "out1\nerr1\nerr2\n"
    assert all(stage.stderr is None for stage in result.stages)


# --- descriptors are closed ----------------------------------------------------------------


def test_files_cuprum_opened_are_closed_on_every_path(
    fx: SafeCmdBuilder, runner: Run, tmp_path: Path
) -> None:
    source = tmp_path / "in.txt"
    source.write_text("x\n")
    runner(fx("echo", "warm-up"))
    before = open_fds()
    runner(fx("cat"), stdin=source, stdout=tmp_path / "a", stderr=Append(tmp_path / "b"))
    runner(fx("exit", 3), stdout=tmp_path / "a", stderr=STDOUT)
    with pytest.raises(TimeoutExpired):
        runner(fx("sleep", 30), stdout=tmp_path / "a", timeout=0.2)
    missing_program = _single(tmp_path / "no-such-program")
    with pytest.raises(FileNotFoundError):
        # A stage that cannot be run fails the whole pipeline before it starts.
        runner(fx("cat") | missing_program, stdin=source, stdout=tmp_path / "a")
    with pytest.raises(FileNotFoundError):
        runner(fx("echo"), stdin=source, stdout=tmp_path / "missing" / "a")
    assert open_fds() - before == set()
    assert_no_children()


def test_run_sync_from_a_thread_with_a_running_loop_streams_stdin(fx: SafeCmdBuilder) -> None:
    async def main() -> str | None:
        return fx("count").run_sync(stdin=iter([b"ab"] * 3)).stdout

    assert asyncio.run(main()) == "6\n"


# --- every async library -------------------------------------------------------------------


@pytest.mark.parametrize("flavour", flavour_ids(ALL))
def test_routes_under_every_async_library(flavour: Flavour, tmp_path: Path) -> None:
    out = tmp_path / "out.txt"

    async def chunks() -> AsyncIterator[bytes]:
        for index in range(20):
            await flavour.sleep(0)
            yield b"%d\n" % index

    async def main() -> tuple[Any, Any]:
        streamed = await (fixture_cmd("cat") | fixture_cmd("count")).run(stdin=chunks())
        routed = await sh_cmd("echo a; echo b >&2").run(stdout=out, stderr=STDOUT)
        return streamed, routed

    streamed, routed = flavour.run(main)
    expected = sum(len(b"%d\n" % index) for index in range(20))
    assert streamed.stdout == f"{expected}\n"
    assert routed.stdout is None
    assert out.read_text() == "a\nb\n"
    assert_no_children()


def test_a_timeout_reports_no_partial_output_for_a_redirected_stream(
    fx: SafeCmdBuilder, runner: Run, tmp_path: Path
) -> None:
    with pytest.raises(TimeoutExpired) as caught:
        runner(fx("sleep", 30), stdout=tmp_path / "out.txt", stderr=DEVNULL, timeout=0.2)
    assert (caught.value.output, caught.value.stderr) == (None, None)
    with pytest.raises(TimeoutExpired) as captured:
        runner(fx("sleep", 30), stderr=DEVNULL, timeout=0.2)
    assert (captured.value.output, captured.value.stderr) == ("", None)
