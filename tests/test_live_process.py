"""Live processes (beyond.md §16): start, stream, talk to stdin, signal, wait,
cancel — sync and async under every supported library."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cuprum import (
    PIPE,
    CommandResult,
    ExecEvent,
    ExitCodeError,
    OutputStream,
    PipelineProcess,
    PipelineResult,
    Process,
    StdinInput,
    TimeoutExpired,
    observe,
)
from flavours import ALL, Flavour, flavour_ids
from helpers import assert_no_children, fixture_cmd, is_alive, wait_dead

every_library = pytest.mark.parametrize("flavour", flavour_ids(ALL))


# --- starting and reading ------------------------------------------------------


def test_start_returns_at_once_with_pid_program_and_argv() -> None:
    with fixture_cmd("sleep", "5").start() as proc:
        assert isinstance(proc, Process)
        assert is_alive(proc.pid)
        assert proc.argv == ("sleep", "5")
        assert proc.returncode is None
        assert proc.poll() is None
    assert wait_dead(proc.pid)


def test_iterating_stdout_yields_lines_with_their_endings() -> None:
    proc = fixture_cmd("hex", "610a620d0a630d64").start()
    assert isinstance(proc.stdout, OutputStream)
    assert list(proc.stdout) == ["a\n", "b\r\n", "c\r", "d"]
    assert proc.wait_sync().exit_code == 0


def test_read_sync_returns_the_rest_as_text() -> None:
    proc = fixture_cmd("lines", "3").start()
    assert proc.stdout is not None
    assert proc.stdout.read_sync() == "line 0\nline 1\nline 2\n"
    proc.wait_sync()


def test_iter_bytes_yields_raw_chunks() -> None:
    proc = fixture_cmd("hex", "00ff0a").start()
    assert proc.stdout is not None
    assert b"".join(proc.stdout.iter_bytes()) == b"\x00\xff\n"
    proc.wait_sync()


def test_stderr_pipe_is_a_live_stream_and_stdout_stays_captured() -> None:
    proc = fixture_cmd("both", "out", "err").start(stdout=None, stderr=PIPE)
    assert proc.stderr is not None
    assert list(proc.stderr) == ["err\n"]
    assert proc.wait_sync().stdout == "out\n"


def test_wait_drains_unread_output_into_the_result_without_deadlock() -> None:
    # 8 MiB: far more than a pipe and the live buffer hold together.
    proc = fixture_cmd("spew", 8 << 20).start()
    result = proc.wait_sync()
    assert len(result.stdout or "") == 8 << 20


def test_wait_result_holds_only_what_was_not_read() -> None:
    proc = fixture_cmd("lines", "3").start()
    assert proc.stdout is not None
    assert next(iter(proc.stdout)) == "line 0\n"
    assert proc.wait_sync().stdout == "line 1\nline 2\n"


def test_wait_with_check_raises_for_a_failing_exit() -> None:
    proc = fixture_cmd("exit", "3").start()
    with pytest.raises(ExitCodeError):
        proc.wait_sync(check=True)
    assert proc.returncode == 3


def test_wait_timeout_raises_and_leaves_the_process_running() -> None:
    with fixture_cmd("sleep", "5").start() as proc:
        with pytest.raises(TimeoutExpired):
            proc.wait_sync(timeout=0.1)
        assert is_alive(proc.pid)
    assert_no_children()


def test_start_timeout_bounds_the_whole_life() -> None:
    proc = fixture_cmd("sleep", "5").start(timeout=0.2)
    with pytest.raises(TimeoutExpired):
        proc.wait_sync()
    assert_no_children()


def test_other_targets_are_rejected_with_a_pointer_to_run() -> None:
    with pytest.raises(ValueError, match=r"run\(stdout=\.\.\.\)"):
        fixture_cmd("echo").start(stdout=sys.stdout)  # type: ignore[arg-type]
    assert_no_children()


def test_stdin_data_is_accepted_by_start() -> None:
    proc = fixture_cmd("cat").start(stdin=StdinInput(text="given\n"))
    assert proc.stdout is not None
    assert list(proc.stdout) == ["given\n"]
    proc.wait_sync()


# --- interactive stdin ---------------------------------------------------------


def test_interactive_round_trip_with_a_line_echo_child() -> None:
    with fixture_cmd("line-echo").start(stdin=PIPE) as proc:
        assert proc.stdin is not None
        assert proc.stdout is not None
        lines = iter(proc.stdout)
        for word in ("one", "two", "three"):
            proc.stdin.write_sync(f"{word}\n")
            assert next(lines) == f"> {word}\n"
        proc.stdin.close()
        assert list(lines) == []
        assert proc.wait_sync().exit_code == 0


def test_write_after_the_child_closed_stdin_raises_broken_pipe() -> None:
    proc = fixture_cmd("head-lines", "1").start(stdin=PIPE)
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write_sync(b"only\n")
    # End of its stdout: the child has exited, its stdin is gone.
    assert list(proc.stdout) == ["only\n"]
    # The child closes its descriptors as it exits: at most a write or two
    # may still land in the pipe before it is gone.
    with pytest.raises(BrokenPipeError):  # noqa: PT012
        for _ in range(10_000):
            proc.stdin.write_sync(b"late\n")
    proc.wait_sync()


def test_write_after_close_is_a_value_error() -> None:
    proc = fixture_cmd("cat").start(stdin=PIPE)
    assert proc.stdin is not None
    proc.stdin.close()
    with pytest.raises(ValueError, match="closed `stdin`"):
        proc.stdin.write_sync("x")
    proc.wait_sync()


# --- signals and cancellation --------------------------------------------------


def test_terminate_and_kill_reach_the_process_group() -> None:
    proc = fixture_cmd("sleep", "5").start()
    proc.terminate()
    assert proc.wait_sync().exit_code == -signal.SIGTERM
    proc = fixture_cmd("ignore-term", "5").start()
    assert proc.stdout is not None
    assert next(iter(proc.stdout)) == "ready\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.poll() is None
    proc.kill()
    assert proc.wait_sync().exit_code == -signal.SIGKILL


def test_cancel_sync_reaps_and_is_idempotent() -> None:
    proc = fixture_cmd("sleep", "5").start()
    proc.cancel_sync()
    proc.cancel_sync()
    assert proc.returncode == -signal.SIGTERM
    assert_no_children()


def test_breaking_out_of_the_loop_early_leaves_no_child() -> None:
    with fixture_cmd("yes").start() as proc:
        assert proc.stdout is not None
        for count, _line in enumerate(proc.stdout):
            if count == 1000:
                break
    assert wait_dead(proc.pid)
    assert_no_children()


def test_context_manager_propagates_the_exception_after_reaping() -> None:
    with pytest.raises(KeyError), fixture_cmd("sleep", "5").start() as proc:
        raise KeyError(proc.pid)
    assert_no_children()


# --- pipelines -----------------------------------------------------------------


def test_pipeline_start_feeds_the_first_stage_and_reads_the_last() -> None:
    pipeline = fixture_cmd("line-echo") | fixture_cmd("line-echo")
    with pipeline.start(stdin=PIPE) as proc:
        assert isinstance(proc, PipelineProcess)
        assert len(proc.pids) == 2
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write_sync("hi\n")
        assert next(iter(proc.stdout)) == "> > hi\n"
        proc.stdin.close()
        result = proc.wait_sync()
    assert isinstance(result, PipelineResult)
    assert [stage.exit_code for stage in result.stages] == [0, 0]
    assert proc.returncode == 0


# --- hooks and events ----------------------------------------------------------


def test_observe_hooks_see_the_events_of_a_started_process() -> None:
    seen: list[tuple[str, str | None]] = []

    def hook(event: ExecEvent) -> None:
        seen.append((event.phase, event.line))

    with observe(hook):
        proc = fixture_cmd("lines", "2").start()
        assert proc.stdout is not None
        assert list(proc.stdout) == ["line 0\n", "line 1\n"]
        proc.wait_sync()
    phases = [phase for phase, _ in seen]
    assert phases[:2] == ["plan", "start"]
    assert phases[-1] == "exit"
    assert ("stdout", "line 1") in seen


# --- memory --------------------------------------------------------------------


def test_an_idle_consumer_keeps_memory_flat_against_an_endless_producer() -> None:
    # Runs in a fresh interpreter so the RSS figure is this test's alone.
    code = textwrap.dedent(
        """
        import resource, threading, time
        from helpers import fixture_cmd
        with fixture_cmd("yes").start() as proc:
            first = next(iter(proc.stdout))
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            threading.Event().wait(3.0)  # the idle consumer: the promise is about 3 s
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(first.strip(), (after - before) // 1024)
        """
    )
    here = str(Path(__file__).parent)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": here},
        timeout=60,
    ).stdout.split()
    assert out[0] == "y"
    assert int(out[1]) < 16


# --- async ---------------------------------------------------------------------


@every_library
def test_async_iteration_and_wait(flavour: Flavour) -> None:
    async def main() -> tuple[list[str], CommandResult]:
        proc = fixture_cmd("lines", "3").start()
        assert proc.stdout is not None
        lines = [line async for line in proc.stdout]
        return lines, await proc.wait()

    lines, result = flavour.run(main)
    assert lines == ["line 0\n", "line 1\n", "line 2\n"]
    assert result.exit_code == 0


@every_library
def test_async_interactive_round_trip(flavour: Flavour) -> None:
    async def main() -> list[str]:
        answers = []
        async with fixture_cmd("line-echo").start(stdin=PIPE) as proc:
            assert proc.stdin is not None
            assert proc.stdout is not None
            async with contextlib.aclosing(proc.stdout.__aiter__()) as lines:
                for word in ("a", "b"):
                    await proc.stdin.write(word + "\n")
                    answers.append(await lines.__anext__())
            proc.stdin.close()
            await proc.wait()
        return answers

    assert flavour.run(main) == ["> a\n", "> b\n"]
    assert_no_children()


@every_library
def test_async_read_bytes_cancel_and_context_manager(flavour: Flavour) -> None:
    async def main() -> tuple[str, bytes, int | None]:
        text = await fixture_cmd("echo", "t").start().stdout.read()  # type: ignore[union-attr]
        proc = fixture_cmd("hex", "0102").start()
        chunks = [chunk async for chunk in proc.stdout.aiter_bytes()]  # type: ignore[union-attr]
        await proc.wait()
        async with fixture_cmd("sleep", "5").start() as sleeper:
            pass
        await sleeper.cancel()
        return text, b"".join(chunks), sleeper.returncode

    text, data, code = flavour.run(main)
    assert (text, data, code) == ("t\n", b"\x01\x02", -signal.SIGTERM)
    assert_no_children()


@every_library
def test_async_breaking_out_early_leaves_no_child(flavour: Flavour) -> None:
    async def main() -> int:
        async with fixture_cmd("yes").start() as proc:
            assert proc.stdout is not None
            # aclosing: trio asks for async generators left early to be closed.
            async with contextlib.aclosing(proc.stdout.__aiter__()) as lines:
                async for _line in lines:
                    break
        return proc.pid

    pid = flavour.run(main)
    assert wait_dead(pid)
    assert_no_children()


def test_waiting_again_returns_the_same_result_or_error() -> None:
    proc = fixture_cmd("echo", "once").start(stdout=None)
    first = proc.wait_sync()
    assert proc.wait_sync() is first
    assert first.stdout == "once\n"
    failing = fixture_cmd("exit", "2").start()
    with pytest.raises(ExitCodeError) as raised:
        failing.wait_sync(check=True)
    with pytest.raises(ExitCodeError) as again:
        failing.wait_sync()
    assert again.value is raised.value


def test_line_events_of_one_batch_are_frozen_exec_events() -> None:
    seen: list[ExecEvent] = []
    with observe(seen.append):
        fixture_cmd("lines", "3").run_sync()
    lines = [event for event in seen if event.phase == "stdout"]
    assert [event.line for event in lines] == ["line 0", "line 1", "line 2"]
    assert all(type(event) is ExecEvent for event in lines)
    with pytest.raises(AttributeError):
        lines[0].line = "changed"  # type: ignore[misc]
    assert lines[0].exec_id is not None
    assert lines[0].pid == lines[2].pid
