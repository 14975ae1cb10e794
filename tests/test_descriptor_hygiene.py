"""Children inherit nothing by accident (``spec/beyond.md`` §13.2).

A child gets descriptors 0, 1 and 2 plus ``ExecutionContext.pass_fds`` —
read from the child's own ``/proc/self/fd`` by the fixture's ``fds``
subcommand — even when the parent left descriptors inheritable. The engine
has two spawn paths (``posix_spawn`` with close actions, and fork-and-exec
with ``close_range``, taken when a passed descriptor is numbered above 256);
both are checked.
"""

from __future__ import annotations

import fcntl
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cuprum import ExecutionContext, StdinInput
from cuprum.sh import SafeCmdBuilder
from helpers import assert_no_children, sh_cmd

Run = Callable[..., Any]


@pytest.fixture
def high_fd() -> Iterator[int]:
    """A descriptor numbered 300 or above: passing it takes the fork path."""
    read_fd, write_fd = os.pipe()
    high = fcntl.fcntl(write_fd, fcntl.F_DUPFD_CLOEXEC, 300)
    os.close(read_fd)
    os.close(write_fd)
    yield high
    os.close(high)


@pytest.fixture
def inheritable_pipe() -> Iterator[tuple[int, int]]:
    """A pipe whose both ends unrelated code marked inheritable."""
    read_fd, write_fd = os.pipe()
    os.set_inheritable(read_fd, True)
    os.set_inheritable(write_fd, True)
    yield read_fd, write_fd
    os.close(read_fd)
    os.close(write_fd)


def child_fds(stdout: str | None) -> set[int]:
    assert stdout is not None
    return {int(fd) for fd in stdout.split()}


def test_a_child_gets_only_the_standard_streams(
    fx: SafeCmdBuilder, runner: Run, inheritable_pipe: tuple[int, int]
) -> None:
    assert all(os.get_inheritable(fd) for fd in inheritable_pipe)
    result = runner(fx("fds"))
    assert child_fds(result.stdout) == {0, 1, 2}
    with_stdin = fx("fds").run_sync(
        stdin=StdinInput(data=b"payload"), context=ExecutionContext(cwd="/")
    )
    assert child_fds(with_stdin.stdout) == {0, 1, 2}
    assert_no_children()


def test_pass_fds_are_the_only_extra_descriptors(
    fx: SafeCmdBuilder, runner: Run, inheritable_pipe: tuple[int, int], high_fd: int
) -> None:
    read_fd, write_fd = os.pipe()  # not inheritable: passing makes it so in the child
    try:
        # Inheritable descriptors lie below and between the passed ones.
        for passed in [(write_fd,), (inheritable_pipe[0], write_fd), (write_fd, high_fd)]:
            result = runner(fx("fds"), context=ExecutionContext(pass_fds=passed))
            assert child_fds(result.stdout) == {0, 1, 2, *passed}
        assert not os.get_inheritable(write_fd), "the parent's flag is left alone"
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_a_passed_descriptor_is_usable_under_its_own_number(make_pipe: Any) -> None:
    read_fd, write_fd = make_pipe()
    os.set_blocking(read_fd, False)  # nothing written fails the read, never hangs
    context = ExecutionContext(pass_fds=[write_fd])
    sh_cmd(f"echo through > /proc/self/fd/{write_fd}").run_sync(context=context)
    assert os.read(read_fd, 100) == b"through\n"


def test_every_pipeline_stage_gets_the_same_descriptors(
    fx: SafeCmdBuilder, runner: Run, inheritable_pipe: tuple[int, int]
) -> None:
    plain = runner(fx("fds") | fx("cat"))
    assert child_fds(plain.stdout) == {0, 1, 2}
    passed = inheritable_pipe[1]
    result = runner(fx("fds") | fx("cat"), context=ExecutionContext(pass_fds=(passed,)))
    assert child_fds(result.stdout) == {0, 1, 2, passed}


@pytest.mark.parametrize("spawn_path", ["posix_spawn", "fork"])
def test_children_start_with_default_signal_handling(spawn_path: str, high_fd: int) -> None:
    """Python ignores SIGPIPE and SIGXFSZ; its children must not."""
    assert signal.getsignal(signal.SIGPIPE) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGXFSZ) is signal.SIG_IGN
    pass_fds = (high_fd,) if spawn_path == "fork" else ()
    result = sh_cmd("grep -E '^Sig(Blk|Ign)' /proc/self/status").run_sync(
        context=ExecutionContext(pass_fds=pass_fds)
    )
    assert result.stdout is not None
    masks = dict(line.split(":\t") for line in result.stdout.splitlines())
    assert int(masks["SigBlk"], 16) == 0
    ignored = int(masks["SigIgn"], 16)
    for signum in (signal.SIGPIPE, signal.SIGXFSZ):
        assert not ignored & (1 << (signum - 1)), f"{signum!r} is ignored in the child"


@pytest.mark.parametrize("spawn_path", ["posix_spawn", "fork"])
def test_both_spawn_paths_set_cwd_and_process_group(
    fx: SafeCmdBuilder, spawn_path: str, tmp_path: Path, high_fd: int
) -> None:
    pass_fds = (high_fd,) if spawn_path == "fork" else ()
    context = ExecutionContext(cwd=tmp_path, pass_fds=pass_fds)
    assert fx("pwd").run_sync(context=context).stdout == f"{tmp_path}\n"
    group = fx("pgid").run_sync(context=context)
    assert group.stdout == f"{group.pid}\n"


def test_pass_fds_are_stored_sorted_without_repeats() -> None:
    assert ExecutionContext().pass_fds == ()
    assert ExecutionContext(pass_fds=[9, 4, 9]).pass_fds == (4, 9)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        pytest.param(
            (1,), ValueError, "`pass_fds` holds 1; pass descriptors 3 and above", id="stdio"
        ),
        pytest.param((-1,), ValueError, "`pass_fds` holds -1", id="negative"),
        pytest.param((True,), TypeError, "`pass_fds` holds True; descriptors are ints", id="bool"),
        pytest.param(("5",), TypeError, "`pass_fds` holds '5'", id="str-item"),
        pytest.param(
            5, TypeError, "`pass_fds` must be a collection of descriptors, not int", id="int"
        ),
        pytest.param("56", TypeError, "not str", id="str"),
    ],
)
def test_bad_pass_fds_are_rejected_when_the_context_is_built(
    value: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as excinfo:
        ExecutionContext(pass_fds=value)
    assert message in str(excinfo.value)


def test_a_closed_descriptor_in_pass_fds_fails_before_spawning(
    fx: SafeCmdBuilder, runner: Run
) -> None:
    # A high number, so that nothing the run itself opens can take it.
    read_fd, write_fd = os.pipe()
    closed = os.dup2(write_fd, 900)
    for fd in (read_fd, write_fd, closed):
        os.close(fd)
    with pytest.raises(ValueError, match=f"descriptor {closed} in `pass_fds` is not open"):
        runner(fx("fds"), context=ExecutionContext(pass_fds=(closed,)))
    assert_no_children()
