//! The process engine end to end, on real processes.

use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use cuprum::exec::{Echo, EventKind, ExecSpec, Outcome, Output, RelayMethod, Stdin, Stream};
use cuprum::{Command, ErrorKind, Pipeline};

use crate::fixture::cmd;

fn run(spec: ExecSpec) -> Outcome {
    spec.spawn().expect("spawn").wait()
}

fn stdout(outcome: &Outcome) -> &str {
    outcome
        .stages
        .last()
        .unwrap()
        .stdout
        .as_ref()
        .unwrap()
        .as_text()
        .unwrap()
}

/// Whether `pid` is a live process. A zombie counts as dead: it has exited,
/// and the process that would reap an orphan may not be ours to control.
fn alive(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X") | None)
}

/// Whether `pid` still exists in any state (a zombie included).
fn exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(Iterator::count)
        .unwrap_or(0)
}

#[test]
fn captures_stdout_and_stderr_separately() {
    let outcome = run(ExecSpec::command(cmd(&["both", "out", "err"]))
        .stdout(Output::capture())
        .stderr(Output::capture()));
    assert_eq!(stdout(&outcome), "out\n");
    assert_eq!(
        outcome.stages[0].stderr.as_ref().unwrap().as_text(),
        Some("err\n")
    );
    assert!(outcome.success());
}

#[test]
fn exit_codes_and_signal_deaths_follow_python() {
    assert_eq!(
        run(ExecSpec::command(cmd(&["exit", "3"]))).stages[0].exit_code,
        3
    );
    assert_eq!(
        run(ExecSpec::command(cmd(&["kill-self", "15"]))).stages[0].exit_code,
        -15
    );
}

#[test]
fn invalid_utf8_is_replaced_or_returned_raw() {
    let text = run(ExecSpec::command(cmd(&["hex", "61ff62"])).stdout(Output::capture()));
    assert_eq!(stdout(&text), "a\u{fffd}b");
    let raw = run(ExecSpec::command(cmd(&["hex", "61ff62"]))
        .stdout(Output::capture())
        .decode(cuprum::exec::Decode::Bytes));
    assert_eq!(raw.stages[0].stdout.as_ref().unwrap().as_bytes(), b"a\xffb");
}

#[test]
fn stdin_bytes_are_fed_and_reported() {
    let payload = vec![b'x'; 5 << 20];
    let spawned = ExecSpec::command(cmd(&["count"]))
        .stdin(Stdin::Bytes(payload))
        .stdout(Output::capture())
        .spawn()
        .unwrap();
    let mut stdin_bytes = None;
    loop {
        let batch = spawned.wait_events(None);
        for event in batch.events {
            if let EventKind::Stdin { bytes } = event.kind {
                stdin_bytes = Some(bytes);
            }
        }
        if batch.finished {
            break;
        }
    }
    let outcome = spawned.take_outcome().unwrap();
    assert_eq!(stdout(&outcome), format!("{}\n", 5 << 20));
    assert_eq!(stdin_bytes, Some(5 << 20));
}

#[test]
fn a_child_that_never_reads_stdin_does_not_block_the_run() {
    let spawned = ExecSpec::command(cmd(&["exit", "0"]))
        .stdin(Stdin::Bytes(vec![0; 50 << 20]))
        .spawn()
        .unwrap();
    let mut saw_error = false;
    loop {
        let batch = spawned.wait_events(None);
        saw_error |= batch
            .events
            .iter()
            .any(|e| matches!(e.kind, EventKind::StdinError { .. }));
        if batch.finished {
            break;
        }
    }
    assert_eq!(spawned.take_outcome().unwrap().stages[0].exit_code, 0);
    assert!(saw_error, "an unread 50 MB payload must fail to write");
}

#[test]
fn timeout_kills_the_whole_process_group() {
    let started = Instant::now();
    let outcome = run(ExecSpec::command(cmd(&["fork-sleeper", "30"]))
        .stdout(Output::capture())
        .timeout(Some(Duration::from_millis(300)))
        .cancel_grace(Duration::from_millis(200)));
    assert!(outcome.timed_out);
    assert_eq!(outcome.stages[0].exit_code, -libc::SIGTERM);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let grandchild: i32 = stdout(&outcome).trim().parse().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        !alive(grandchild),
        "grandchild {grandchild} survived the timeout"
    );
}

#[test]
fn zero_timeout_expires_at_once() {
    let outcome = run(ExecSpec::command(cmd(&["sleep", "30"])).timeout(Some(Duration::ZERO)));
    assert!(outcome.timed_out);
    assert_eq!(outcome.stages[0].exit_code, -libc::SIGTERM);
}

#[test]
fn cancel_escalates_to_sigkill_after_grace() {
    let spawned = ExecSpec::command(cmd(&["ignore-term", "30"]))
        .stdout(Output::capture())
        .spawn()
        .unwrap();
    // Give the child time to install its SIGTERM handler.
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    spawned.cancel(Duration::from_millis(300));
    let outcome = spawned.wait();
    assert!(outcome.cancelled);
    assert_eq!(outcome.stages[0].exit_code, -libc::SIGKILL);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
}

#[test]
fn dropping_an_unfinished_execution_cancels_it() {
    let spawned = ExecSpec::command(cmd(&["sleep", "30"]))
        .cancel_grace(Duration::ZERO)
        .spawn()
        .unwrap();
    let pid = i32::try_from(spawned.pids()[0]).unwrap();
    drop(spawned);
    let deadline = Instant::now() + Duration::from_secs(2);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(pid), "child {pid} outlived its dropped handle");
}

#[test]
fn line_events_follow_universal_newlines() {
    let spawned = ExecSpec::command(cmd(&["hex", "610d0a620d630a0a64"]))
        .stdout(Output::capture())
        .line_events(true)
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    loop {
        let batch = spawned.wait_events(None);
        for event in batch.events {
            if let EventKind::Line {
                stream: Stream::Stdout,
                text,
            } = event.kind
            {
                lines.push(text);
            }
        }
        if batch.finished {
            break;
        }
    }
    assert_eq!(lines, ["a", "b", "c", "", "d"]);
}

#[test]
fn echo_writes_raw_bytes_to_a_descriptor() {
    let (read, write) = std::io::pipe().unwrap();
    let outcome = run(ExecSpec::command(cmd(&["echo", "tee"])).stdout(Output {
        capture: true,
        echo: Some(Echo::Fd(OwnedFd::from(write))),
        live: false,
    }));
    let mut echoed = String::new();
    std::io::Read::read_to_string(&mut { read }, &mut echoed).unwrap();
    assert_eq!(echoed, "tee\n");
    assert_eq!(stdout(&outcome), "tee\n");
}

#[test]
fn spawn_errors_are_typed_and_leave_nothing_running() {
    let missing = ExecSpec::command(Command::new("/no/such/program"))
        .spawn()
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::ProgramNotFound);
    assert_eq!(missing.raw_os_error(), Some(libc::ENOENT));
    let cwd = ExecSpec::command(cmd(&["pwd"]))
        .cwd(Some("/no/such/dir".into()))
        .spawn()
        .unwrap_err();
    assert_eq!(cwd.kind(), ErrorKind::BadWorkingDirectory);
    assert!(cwd.message().contains("/no/such/dir"));
    let nul = ExecSpec::command(cmd(&["echo", "a\0b"]))
        .spawn()
        .unwrap_err();
    assert_eq!(nul.kind(), ErrorKind::InvalidArgument);
    let env = ExecSpec::command(cmd(&["pwd"]))
        .env(Some([("A", "x\0y")]))
        .spawn()
        .unwrap_err();
    assert_eq!(env.kind(), ErrorKind::InvalidArgument);
    // A later stage that fails at exec (it exists, but its interpreter does
    // not): the earlier ones are torn down and reaped, their start events
    // stand, and the outcome carries the error.
    let script = std::env::temp_dir().join(format!("cuprum-it-late-{}", std::process::id()));
    std::fs::write(&script, "#!/no/such/interpreter\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let late = ExecSpec::pipeline(cmd(&["sleep", "30"]) | Command::new(&script))
        .cancel_grace(Duration::from_millis(100))
        .spawn()
        .unwrap();
    let first = late.pids()[0];
    let outcome = late.wait();
    assert_eq!(
        outcome.error.as_ref().map(cuprum::Error::kind),
        Some(ErrorKind::ProgramNotFound)
    );
    assert_eq!(outcome.stages.len(), 1);
    assert_eq!(outcome.stages[0].exit_code, -libc::SIGTERM);
    assert!(!exists(first));
    std::fs::remove_file(&script).unwrap();
}

#[test]
fn environment_and_cwd_reach_the_child() {
    let outcome = run(ExecSpec::command(cmd(&["env", "CUPRUM_TEST_VAR"]))
        .env(Some([("CUPRUM_TEST_VAR", "value")]))
        .stdout(Output::capture()));
    assert_eq!(stdout(&outcome), "value\n");
    let outcome = run(ExecSpec::command(cmd(&["pwd"]))
        .cwd(Some("/".into()))
        .stdout(Output::capture()));
    assert_eq!(stdout(&outcome), "/\n");
}

fn pipeline(stages: Vec<Command>) -> ExecSpec {
    ExecSpec::pipeline(Pipeline::new(stages).unwrap())
}

#[test]
fn pipelines_relay_bytes_identically_on_both_methods() {
    for method in [RelayMethod::Auto, RelayMethod::Portable] {
        let outcome = run(pipeline(vec![
            cmd(&["spew", "20000000"]),
            cmd(&["cat"]),
            cmd(&["cat"]),
            cmd(&["count"]),
        ])
        .relay(method)
        .stdout(Output::capture()));
        assert_eq!(stdout(&outcome), "20000000\n", "{method:?}");
        assert!(outcome.success());
    }
}

#[test]
fn an_endless_producer_stops_when_its_reader_leaves() {
    let started = Instant::now();
    let outcome = run(pipeline(vec![
        cmd(&["yes"]),
        cmd(&["cat"]),
        cmd(&["head-bytes", "10"]),
    ])
    .stdout(Output::capture()));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stdout(&outcome), "y\ny\ny\ny\ny\n");
    assert!(outcome.success(), "{outcome:?}");
    assert_eq!(outcome.failure_index, None);
    assert_eq!(outcome.stages[0].exit_code, -libc::SIGPIPE);
    assert!(outcome.stages[0].early_exit);
}

#[test]
fn fail_fast_terminates_the_other_stages() {
    let outcome = run(pipeline(vec![
        cmd(&["sleep", "30"]),
        cmd(&["exit", "3"]),
        cmd(&["sleep", "30"]),
    ])
    .cancel_grace(Duration::from_millis(200)));
    let codes: Vec<i32> = outcome.stages.iter().map(|s| s.exit_code).collect();
    assert_eq!(codes, [-libc::SIGTERM, 3, -libc::SIGTERM]);
    assert_eq!(outcome.failure_index, Some(1));
}

#[test]
fn a_failing_last_stage_terminates_nothing() {
    let outcome = run(pipeline(vec![
        cmd(&["echo", "x"]),
        cmd(&["exit-after-read", "4"]),
    ]));
    assert_eq!(outcome.stages[1].exit_code, 4);
    assert_eq!(outcome.stages[0].exit_code, 0);
    assert_eq!(outcome.failure_index, Some(1));
}

#[test]
fn no_descriptor_or_child_leaks_after_many_runs() {
    let _ = run(ExecSpec::command(cmd(&["echo", "warm"])).stdout(Output::capture()));
    let before = open_fds();
    let mut pids = Vec::new();
    for _ in 0..200 {
        let spawned = ExecSpec::command(cmd(&["both", "a", "b"]))
            .stdin(Stdin::Bytes(b"in".to_vec()))
            .stdout(Output::capture())
            .stderr(Output::capture())
            .spawn()
            .unwrap();
        pids.extend(spawned.pids());
        assert!(spawned.wait().success());
    }
    for _ in 0..50 {
        let spawned = pipeline(vec![cmd(&["echo", "a"]), cmd(&["cat"])])
            .stdout(Output::capture())
            .spawn()
            .unwrap();
        pids.extend(spawned.pids());
        assert!(spawned.wait().success());
    }
    // Every child is reaped (not even a zombie) once its outcome is out.
    let leftover: Vec<u32> = pids.into_iter().filter(|pid| exists(*pid)).collect();
    assert!(leftover.is_empty(), "unreaped children: {leftover:?}");
    // Other tests run in parallel in this process: wait for their
    // descriptors to settle rather than demanding an exact count at once.
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_fds() > before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        open_fds() <= before,
        "{} descriptors open, {before} before",
        open_fds()
    );
}

#[test]
fn inline_runs_are_supervised_by_the_waiting_thread() {
    let outcome = ExecSpec::command(cmd(&["both", "out", "err"]))
        .stdout(Output::capture())
        .stderr(Output::capture())
        .stdin(Stdin::Bytes(b"ignored".to_vec()))
        .spawn_inline()
        .unwrap()
        .wait();
    assert_eq!(stdout(&outcome), "out\n");
    let piped = pipeline(vec![cmd(&["yes"]), cmd(&["head-bytes", "4"])])
        .stdout(Output::capture())
        .spawn_inline()
        .unwrap()
        .wait();
    assert_eq!(stdout(&piped), "y\ny\n");
    assert!(piped.success());
    let timed = ExecSpec::command(cmd(&["sleep", "30"]))
        .timeout(Some(Duration::from_millis(100)))
        .spawn_inline()
        .unwrap()
        .wait();
    assert!(timed.timed_out);
}

#[test]
fn inline_runs_can_be_cancelled_from_another_thread() {
    let spawned = ExecSpec::command(cmd(&["sleep", "30"]))
        .spawn_inline()
        .unwrap();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(100));
            spawned.cancel(Duration::ZERO);
        });
        let mut finished = false;
        while !finished {
            finished = spawned.wait_events(Some(Duration::from_secs(5))).finished;
        }
    });
    let outcome = spawned.take_outcome().unwrap();
    assert!(outcome.cancelled);
    assert_eq!(outcome.stages[0].exit_code, -libc::SIGTERM);
}

#[test]
fn dropping_an_inline_execution_still_reaps_it() {
    let spawned = ExecSpec::command(cmd(&["sleep", "30"]))
        .cancel_grace(Duration::ZERO)
        .spawn_inline()
        .unwrap();
    let pid = spawned.pids()[0];
    drop(spawned);
    let deadline = Instant::now() + Duration::from_secs(2);
    while exists(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !exists(pid),
        "child {pid} was not reaped after its inline handle was dropped"
    );
}
