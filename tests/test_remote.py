"""Remote hosts over OpenSSH (beyond.md §19), against a real sshd.

Every test talks to the server of :mod:`sshd` on 127.0.0.1; the remote
programs are ordinary ones (``python3``, ``sh``) looked up in a catalogue of
their own, never the fixture binary.
"""

from __future__ import annotations

import asyncio
import io
import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cuprum import (
    DEFAULT_CATALOGUE,
    ConcurrentConfig,
    ExecEvent,
    ExecutionContext,
    ExitCodeError,
    ForbiddenProgramError,
    ProgramCatalogue,
    RunOutputOptions,
    ScopeConfig,
    Secret,
    SshError,
    StdinInput,
    UnknownProgramError,
    observe,
    run_concurrent,
    run_concurrent_sync,
    scoped,
    sh,
)
from cuprum.program import Program
from cuprum.remote import RemoteCmd, SshHost
from cuprum.remote._control import control_directory
from cuprum.remote._script import remote_command
from helpers import FIXTURE, TEST_CATALOGUE, wait_dead
from sshd import SshServer, sshd  # noqa: F401 - the fixture

REMOTE = ProgramCatalogue.of("python3", "sh", "cat", project="remote-tests")
PYTHON3 = Program("python3")
PRINT_ARGV = "import json, sys; print(json.dumps(sys.argv[1:]))"


@pytest.fixture(scope="module")
def host(sshd: SshServer) -> SshHost:  # noqa: F811 - the fixture
    return sshd.host(catalogue=REMOTE)


def python(host: SshHost, *args: str) -> RemoteCmd:
    cmd = host.make(PYTHON3)(*args)
    assert isinstance(cmd, RemoteCmd)
    return cmd


# -- running like a local command ---------------------------------------------


def test_remote_run_captures_output_and_reports_the_remote_program(host: SshHost) -> None:
    result = python(host, "-c", "print('hello from afar')").run_sync()
    assert result.ok
    assert result.stdout == "hello from afar\n"
    assert result.program == PYTHON3
    assert result.argv == ("-c", "print('hello from afar')")


def test_awaited_remote_run_works_like_the_blocking_one(host: SshHost) -> None:
    result = asyncio.run(python(host, "-c", "print(6 * 7)").run())
    assert result.stdout == "42\n"


@pytest.mark.parametrize(
    "argument",
    [
        "two words",
        'it\'s "quoted"',
        "$HOME ${PATH} $(id) `id`",
        "a; rm -rf /tmp/nothing; b",
        "line one\nline two\n",
        "* ?.py [ab]* ~",
        "back\\slash \\n",
        "",
        "  leading and trailing  ",
        "| & > < 2>&1 #comment",
        "ünïcødé ✓",
    ],
)
def test_arguments_arrive_byte_exact(host: SshHost, argument: str) -> None:
    result = python(host, "-c", PRINT_ARGV, argument, "after").run_sync()
    assert result.ok, result.stderr
    assert json.loads(result.stdout or "") == [argument, "after"]


def test_remote_stdout_and_stderr_stay_apart(host: SshHost) -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr)"
    result = python(host, "-c", code).run_sync()
    assert (result.stdout, result.stderr) == ("out\n", "err\n")


def test_remote_exit_code_and_check_raise_exit_code_error(host: SshHost) -> None:
    cmd = python(host, "-c", "import sys; sys.stderr.write('broken\\n'); sys.exit(3)")
    assert cmd.run_sync().exit_code == 3
    with pytest.raises(ExitCodeError) as caught:
        cmd.run_sync(check=True)
    assert caught.value.returncode == 3
    assert str(caught.value) == "python3 exited with 3: broken"
    assert cmd.with_ok_codes(0, 3).run_sync(check=True).ok


def test_a_remote_exit_code_255_is_an_exit_code_not_an_ssh_error(host: SshHost) -> None:
    result = python(host, "-c", "import sys; sys.exit(255)").run_sync()
    assert result.exit_code == 255


def test_a_remote_program_killed_by_a_signal_reports_128_plus_the_signal(host: SshHost) -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    assert python(host, "-c", code).run_sync().exit_code == 128 + 9


def test_remote_stdin_data_reaches_the_remote_program(host: SshHost) -> None:
    data = "".join(f"line {n}\n" for n in range(2000))
    result = host.make("cat")().run_sync(stdin=StdinInput(text=data))
    assert result.stdout == data


def test_without_stdin_the_remote_program_reads_an_empty_stdin(host: SshHost) -> None:
    result = host.make("cat")().run_sync(timeout=20)
    assert (result.exit_code, result.stdout) == (0, "")


def test_remote_output_is_echoed_to_the_sinks(host: SshHost) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = "import sys; print('shown'); print('warned', file=sys.stderr)"
    context = ExecutionContext(stdout_sink=out, stderr_sink=err)
    result = python(host, "-c", code).run_sync(
        output=RunOutputOptions(capture=False, echo=True), context=context
    )
    assert result.stdout is None
    assert (out.getvalue(), err.getvalue()) == ("shown\n", "warned\n")


def test_events_speak_of_the_remote_program_and_carry_the_host_tag(host: SshHost) -> None:
    events: list[ExecEvent] = []
    with scoped(ScopeConfig()), observe(events.append):
        python(host, "-c", "print('x')").run_sync()
    assert [event.phase for event in events] == ["plan", "start", "stdout", "exit"]
    assert {event.tags["host"] for event in events} == {"127.0.0.1"}
    assert {event.program for event in events} == {PYTHON3}
    assert events[0].argv == ("python3", "-c", "print('x')")
    assert events[-1].exit_code == 0
    # What ran locally is the ssh that carried the command.
    assert Path(str(events[1].tags["executable"])).name == "ssh"


def test_secrets_reach_the_remote_program_but_no_result_or_event(host: SshHost) -> None:
    events: list[ExecEvent] = []
    with scoped(ScopeConfig()), observe(events.append):
        result = python(host, "-c", PRINT_ARGV, Secret("hunter2")).run_sync()
    assert json.loads(result.stdout or "") == ["hunter2"]
    assert result.argv == ("-c", PRINT_ARGV, "***")
    # The program prints its argv, so only its own output shows the value.
    assert all("hunter2" not in repr((event.argv, event.env, event.tags)) for event in events)
    assert "hunter2" not in repr(result.argv)


# -- the allowlist applies to the remote program -------------------------------


def test_a_scope_allowing_the_remote_program_but_not_ssh_runs_it(host: SshHost) -> None:
    with scoped(ScopeConfig(allowlist=frozenset({PYTHON3}))):
        assert python(host, "-c", "print(1)").run_sync().stdout == "1\n"


def test_a_scope_forbidding_the_remote_program_refuses_before_connecting(
    sshd: SshServer,  # noqa: F811 - the fixture
) -> None:
    fresh = sshd.host(catalogue=REMOTE)
    with (
        scoped(ScopeConfig(allowlist=frozenset({Program("cat")}))),
        pytest.raises(ForbiddenProgramError),
    ):
        python(fresh, "-c", "print(1)").run_sync()
    assert not Path(fresh._connection.socket).exists()


def test_remote_programs_come_from_the_hosts_catalogue(sshd: SshServer) -> None:  # noqa: F811
    with pytest.raises(UnknownProgramError):
        sshd.host().make("python3")
    with pytest.raises(UnknownProgramError):
        SshHost("example.invalid", catalogue=REMOTE).make("ssh")


def test_running_remote_commands_does_not_catalogue_ssh(host: SshHost) -> None:
    python(host, "-c", "pass").run_sync()
    with pytest.raises(UnknownProgramError):
        sh.make("ssh")
    assert Program("ssh") not in DEFAULT_CATALOGUE.allowlist


# -- one connection per host ---------------------------------------------------


def _masters(socket: str) -> list[str]:
    lines = subprocess.run(
        ["ps", "-eww", "-o", "args"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return [line for line in lines if " -M " in line and f"ControlPath={socket}" in line]


def test_runs_share_one_master_connection_in_a_private_directory(
    sshd: SshServer,  # noqa: F811 - the fixture
) -> None:
    fresh = sshd.host(catalogue=REMOTE)
    for _ in range(3):
        python(fresh, "-c", "pass").run_sync()
    assert len(_masters(fresh._connection.socket)) == 1
    mode = stat.S_IMODE(control_directory().stat().st_mode)
    assert mode == 0o700
    fresh.close()
    python(fresh, "-c", "pass").run_sync()  # reconnects after close
    assert len(_masters(fresh._connection.socket)) == 1


# -- connection failures -------------------------------------------------------


def test_a_refused_connection_raises_ssh_error_within_twelve_seconds(
    sshd: SshServer,  # noqa: F811 - the fixture
) -> None:
    with __import__("socket").socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    nowhere = sshd.host(port=closed_port, catalogue=REMOTE)
    started = time.monotonic()
    with pytest.raises(SshError) as caught:
        python(nowhere, "-c", "pass").run_sync()
    # The promise is the 12 s bound (ConnectTimeout 10 s + slack); a refusal
    # is immediate, so this also holds on a loaded machine.
    assert time.monotonic() - started < 12
    assert caught.value.host == "127.0.0.1"
    assert "Connection refused" in caught.value.detail


def test_an_unanswered_connection_raises_ssh_error_after_the_connect_timeout() -> None:
    # A listening socket that never speaks SSH: ssh connects, then waits for
    # the banner; the attempt is bounded by ConnectTimeout plus 1 s.
    with __import__("socket").socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        mute = SshHost("127.0.0.1", port=port, options={"ConnectTimeout": "1"}, catalogue=REMOTE)
        started = time.monotonic()
        with pytest.raises(SshError):
            python(mute, "-c", "pass").run_sync()
        # Generous: the bound is 1 s + 1 s of slack.
        assert time.monotonic() - started < 6


def test_a_runs_timeout_also_bounds_its_connection() -> None:
    with __import__("socket").socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mute = SshHost("127.0.0.1", port=silent.getsockname()[1], catalogue=REMOTE)
        started = time.monotonic()
        with pytest.raises(SshError, match="no connection within 1 s"):
            python(mute, "-c", "pass").run_sync(timeout=1)
        # The bound is the run's timeout (1 s), not ConnectTimeout (10 s);
        # 3 s of margin for a loaded machine.
        assert time.monotonic() - started < 4


def test_a_rejected_key_raises_ssh_error_with_sshs_message(
    sshd: SshServer,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    denied = sshd.host(identity_file=stranger, catalogue=REMOTE)
    with pytest.raises(SshError, match="Permission denied"):
        python(denied, "-c", "pass").run_sync()


# -- pipelines and fan-out ----------------------------------------------------


def test_a_remote_stage_feeds_a_local_stage(host: SshHost) -> None:
    local = sh.make(FIXTURE, catalogue=TEST_CATALOGUE)("cat")
    code = "for n in range(3): print('remote', n)"
    result = (python(host, "-c", code) | local).run_sync()
    assert result.ok
    assert result.stdout == "remote 0\nremote 1\nremote 2\n"


def test_a_local_stage_feeds_a_remote_stage_and_back(host: SshHost) -> None:
    fx = sh.make(FIXTURE, catalogue=TEST_CATALOGUE)
    upper = "import sys; sys.stdout.write(sys.stdin.read().upper())"
    result = (fx("echo", "hello") | python(host, "-c", upper) | fx("cat")).run_sync()
    assert result.stdout == "HELLO\n"
    assert [stage.program for stage in result.stages] == [FIXTURE, PYTHON3, FIXTURE]


def test_fan_out_over_many_hosts_respects_the_concurrency_limit(
    sshd: SshServer,  # noqa: F811 - the fixture
) -> None:
    hosts = [sshd.host(catalogue=REMOTE) for _ in range(6)]
    running = 0
    peak = 0

    def count(event: ExecEvent) -> None:
        nonlocal running, peak
        if event.phase == "start":
            running += 1
            peak = max(peak, running)
        elif event.phase == "exit":
            running -= 1

    code = "import os, time; time.sleep(0.2); print(os.getpid())"
    with scoped(ScopeConfig()), observe(count):
        outcome = run_concurrent_sync(
            *(python(h, "-c", code) for h in hosts), config=ConcurrentConfig(concurrency=3)
        )
    assert outcome.ok
    assert len({result.stdout for result in outcome.results}) == 6
    assert 1 <= peak <= 3


def test_awaited_fan_out_runs_on_every_host(sshd: SshServer) -> None:  # noqa: F811
    hosts = [sshd.host(catalogue=REMOTE) for _ in range(3)]
    outcome = asyncio.run(
        run_concurrent(
            *(python(h, "-c", f"print({n})") for n, h in enumerate(hosts)),
            config=ConcurrentConfig(concurrency=2),
        )
    )
    assert [result.stdout for result in outcome.results] == ["0\n", "1\n", "2\n"]


# -- building hosts ------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"host": ""}, ValueError),
        ({"host": "-oProxyCommand=x"}, ValueError),
        ({"host": "two words"}, ValueError),
        ({"host": b"bytes"}, TypeError),
        ({"host": "h", "user": "-l"}, ValueError),
        ({"host": "h", "port": 0}, ValueError),
        ({"host": "h", "port": "22"}, TypeError),
        ({"host": "h", "port": True}, TypeError),
        ({"host": "h", "options": {"ControlPath": "/tmp/x"}}, ValueError),
        ({"host": "h", "options": {"batchmode": "no"}}, ValueError),
        ({"host": "h", "options": {"Bad Name": "x"}}, ValueError),
        ({"host": "h", "options": {"ProxyCommand": "a\nb"}}, ValueError),
        ({"host": "h", "options": {"ConnectTimeout": 5}}, TypeError),
        ({"host": "h", "options": {"ConnectTimeout": "soon"}}, ValueError),
        ({"host": "h", "options": [("Port", "22")]}, TypeError),
        ({"host": "h", "catalogue": "default"}, TypeError),
    ],
)
def test_bad_host_arguments_raise_typed_errors(arguments: dict[str, object], error: type) -> None:
    name = arguments.pop("host")
    with pytest.raises(error):
        SshHost(name, **arguments)  # type: ignore[arg-type]


def test_repr_shows_how_the_host_is_reached() -> None:
    web = SshHost("web1", user="deploy", port=2222, options={"ConnectTimeout": "3"})
    assert repr(web) == "SshHost('web1', user='deploy', port=2222, options={'ConnectTimeout': '3'})"


# -- the connection's life -----------------------------------------------------


def test_runs_that_start_together_on_a_fresh_host_all_succeed_over_one_master(
    sshd: SshServer,  # noqa: F811 - the fixture
) -> None:
    fresh = sshd.host(catalogue=REMOTE)
    outcome = run_concurrent_sync(
        *(python(fresh, "-c", f"print({n})") for n in range(4)),
        config=ConcurrentConfig(concurrency=4),
    )
    assert [result.stdout for result in outcome.results] == ["0\n", "1\n", "2\n", "3\n"]
    assert len(_masters(fresh._connection.socket)) <= 1


def test_an_idle_master_closes_after_control_persist_and_the_next_run_reconnects(
    sshd: SshServer,  # noqa: F811 - the fixture
) -> None:
    brief = sshd.host(catalogue=REMOTE, options={"ControlPersist": "1"})
    python(brief, "-c", "pass").run_sync()
    first = brief._connection.pid
    assert first is not None
    # ssh closes the idle master after 1 s; a generous bound for a loaded machine.
    assert wait_dead(first, within=15)
    python(brief, "-c", "pass").run_sync()
    assert brief._connection.pid not in (None, first)


def test_interpreter_exit_closes_connections_and_removes_the_directory(
    sshd: SshServer,  # noqa: F811 - the fixture
) -> None:
    script = (
        "import sys\n"
        "from cuprum import ProgramCatalogue\n"
        "from cuprum.remote import SshHost\n"
        "options = dict(arg.split('=', 1) for arg in sys.argv[4:])\n"
        "host = SshHost('127.0.0.1', user=sys.argv[1], port=int(sys.argv[2]),\n"
        "               identity_file=sys.argv[3], options=options,\n"
        "               catalogue=ProgramCatalogue.of('true'))\n"
        "host.make('true')().run_sync(check=True)\n"
        "print(host._connection.socket, host._connection.pid)\n"
    )
    template = sshd.host()
    options = [f"{key}={value}" for key, value in template.options.items()]
    finished = subprocess.run(
        [sys.executable, "-c", script, sshd.user, str(sshd.port), str(sshd.user_key), *options],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    socket, pid = finished.stdout.split()
    assert not Path(socket).parent.exists()
    assert wait_dead(int(pid), within=10)


def test_a_host_without_perl_runs_the_program_directly(tmp_path: Path) -> None:
    # The remote command line, run by a local sh whose PATH has no perl.
    (tmp_path / "sh").symlink_to("/bin/sh")
    (tmp_path / "python3").symlink_to(Path(sys.executable).resolve())
    line = remote_command(["python3", "-c", PRINT_ARGV, "a b", "$x"], grace=0.5)
    finished = subprocess.run(
        ["/bin/sh", "-c", line],
        env={"PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(finished.stdout) == ["a b", "$x"]
