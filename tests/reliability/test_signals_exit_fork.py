"""§12.4: signals, interpreter exit and fork. Each case runs in a separate
interpreter, so real signals and a real exit can be sent to it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import wait_dead
from support import SLACK, TESTS, python


def read_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else ""
    return line.strip()


def test_ctrl_c_during_run_sync_raises_keyboard_interrupt_after_teardown() -> None:
    proc = python(
        """
        from cuprum import ExecutionContext, observe
        from helpers import child_pids, fixture_cmd
        with observe(lambda e: print("started", e.pid, flush=True) if e.phase == "start" else None):
            try:
                fixture_cmd("sleep", 30).run_sync(context=ExecutionContext(cancel_grace=5))
            except KeyboardInterrupt:
                print("interrupted", sorted(child_pids()), flush=True)
        """
    )
    _, pid = read_line(proc).split()
    began = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert read_line(proc) == "interrupted []"
    # 0.1 s plus the teardown (SIGTERM ends `sleep` at once), with slack.
    assert time.monotonic() - began < 0.1 + SLACK
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert wait_dead(int(pid))


def test_second_ctrl_c_skips_the_rest_of_the_grace_and_still_reaps(tmp_path: Path) -> None:
    """The child notes SIGTERM in a file and keeps running; the second
    Ctrl-C is sent once that file shows the teardown has begun."""
    noted = tmp_path / "term"
    proc = python(
        f"""
        from cuprum import ExecutionContext, observe
        from helpers import child_pids, sh_cmd

        def ready(event):
            if event.phase == "stdout" and event.line == "ready":
                print("ready", flush=True)

        script = "trap 'echo > {noted}' TERM; echo ready; while :; do sleep 0.05; done"
        with observe(ready):
            try:
                sh_cmd(script).run_sync(context=ExecutionContext(cancel_grace=60))
            except KeyboardInterrupt:
                print("interrupted", sorted(child_pids()), flush=True)
        """
    )
    assert read_line(proc) == "ready"
    proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 10
    while not noted.exists():
        assert time.monotonic() < deadline, "the teardown never began"
        time.sleep(0.01)
    began = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert read_line(proc) == "interrupted []"
    assert time.monotonic() - began < SLACK * 5, "SIGKILL at once, not after the 60 s grace"
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_interpreter_exit_during_run_sync_on_a_daemon_thread() -> None:
    proc = python(
        """
        import sys, threading
        from cuprum import ExecutionContext, observe
        from helpers import fixture_cmd

        started = threading.Event()
        pids = []

        def on_start(event):
            if event.phase == "start":
                pids.append(event.pid)
                started.set()

        def work():
            with observe(on_start):
                fixture_cmd("sleep", 30).run_sync(context=ExecutionContext(cancel_grace=0.5))

        threading.Thread(target=work, daemon=True).start()
        started.wait()
        print(pids[0], flush=True)
        sys.exit(3)
        """
    )
    pid = int(read_line(proc))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, "the script's exit status stands"
    assert "FATAL" not in err
    assert "panicked" not in err
    assert wait_dead(pid, within=2.0), "in-flight children are terminated at exit"


def test_commands_run_normally_after_fork_in_parent_and_child() -> None:
    proc = python(
        """
        import asyncio, os
        from helpers import fixture_cmd

        def both(tag):
            sync = fixture_cmd("echo", tag, "sync").run_sync().stdout
            awaited = asyncio.run(fixture_cmd("echo", tag, "async").run()).stdout
            return sync + awaited

        print(both("before"), end="", flush=True)
        pid = os.fork()
        if pid == 0:
            os.write(1, both("child").encode())
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print(both("parent"), end="", flush=True)
        print("child-status", os.waitstatus_to_exitcode(status), flush=True)
        """
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.splitlines() == [
        "before sync",
        "before async",
        "child sync",
        "child async",
        "parent sync",
        "parent async",
        "child-status 0",
    ]


def test_multiprocessing_with_the_fork_start_method_runs_commands() -> None:
    proc = python(
        """
        import asyncio, multiprocessing
        from helpers import fixture_cmd

        def job(index):
            sync = fixture_cmd("echo", index).run_sync().stdout
            awaited = asyncio.run(fixture_cmd("echo", index).run()).stdout
            return sync + awaited

        if __name__ == "__main__":
            asyncio.run(fixture_cmd("echo", "warm").run())
            with multiprocessing.get_context("fork").Pool(2) as pool:
                print(pool.map(job, range(4)), flush=True)
        """
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.strip() == str([f"{i}\n{i}\n" for i in range(4)])


@pytest.mark.skipif(shutil.which("strace") is None, reason="`strace` is not installed")
def test_no_group_is_signalled_after_its_leader_is_reaped(tmp_path: Path) -> None:
    """Traced system calls: every ``kill(-P, …)`` of a stage's group comes
    before the ``wait4(P)`` that reaps its leader."""
    log = tmp_path / "trace"
    script = """
from cuprum import ExecutionContext, TimeoutExpired
from helpers import fixture_cmd, sh_cmd
for _ in range(3):
    try:
        ctx = ExecutionContext(cancel_grace=0.1)
        sh_cmd("sleep 30 & echo $!").run_sync(timeout=0.1, context=ctx)
    except TimeoutExpired:
        pass
    (fixture_cmd("exit", 2) | fixture_cmd("sleep", 30)).run_sync()
"""
    subprocess.run(
        ["strace", "-f", "-e", "trace=kill,wait4", "-o", str(log), sys.executable, "-c", script],
        check=True,
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        capture_output=True,
        timeout=120,
    )
    reaped: set[int] = set()
    signalled_after_reap: list[str] = []
    kills = 0
    for line in log.read_text().splitlines():
        if match := re.search(r"kill\(-(\d+), SIG\w+\)", line):
            kills += 1
            if int(match.group(1)) in reaped:
                signalled_after_reap.append(line)
        elif match := re.search(r"wait4\((\d+),.*\) = (\d+)", line):
            reaped.add(int(match.group(2)))
    assert kills > 0, "the trace saw the group signals"
    assert signalled_after_reap == []
