//! The reliability contract through the Rust API: timeouts bound the
//! wait, early exit behaves like a shell, cancellation escalates, and
//! submitted runs report spawn failures as their outcome.

use std::time::{Duration, Instant};

use cuprum::exec::{EventKind, ExecSpec, Output};
use cuprum::{Command, ErrorKind, Pipeline};

use crate::fixture::cmd;

fn sh(script: &str) -> Command {
    Command::new("sh").arg("-c").arg(script)
}

fn pipeline(stages: Vec<Command>) -> ExecSpec {
    ExecSpec::pipeline(Pipeline::new(stages).expect("stages"))
}

/// Generous slack over a promised bound for a loaded machine.
const SLACK: Duration = Duration::from_secs(1);

#[test]
fn a_timeout_bounds_the_wait_when_an_escaped_descendant_holds_the_pipe() {
    let grace = Duration::from_millis(200);
    let timeout = Duration::from_millis(200);
    let began = Instant::now();
    let outcome = ExecSpec::command(sh("setsid sleep 30 & echo $!"))
        .stdout(Output::capture())
        .timeout(Some(timeout))
        .cancel_grace(grace)
        .spawn()
        .expect("spawn")
        .wait();
    assert!(began.elapsed() < timeout + grace + Duration::from_millis(500) + SLACK);
    assert!(outcome.timed_out);
    let printed = outcome.stages[0]
        .stdout
        .as_ref()
        .unwrap()
        .as_text()
        .unwrap();
    let escaped: i32 = printed.trim().parse().expect("the sleeper's pid");
    // The escaped sleeper is not in the stage's group: clean it up here.
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(escaped, libc::SIGKILL) };
}

#[test]
fn a_timeout_reaches_a_descendant_left_in_the_group_after_the_leader_exited() {
    let outcome = ExecSpec::command(sh("sleep 30 & echo started"))
        .stdout(Output::capture())
        .timeout(Some(Duration::from_millis(100)))
        .cancel_grace(Duration::from_millis(100))
        .spawn()
        .expect("spawn")
        .wait();
    assert!(outcome.timed_out);
    assert_eq!(
        outcome.stages[0].stdout.as_ref().unwrap().as_text(),
        Some("started\n")
    );
}

#[test]
fn a_timeout_too_large_for_the_clock_means_no_timeout() {
    let outcome = ExecSpec::command(cmd(&["echo", "done"]))
        .stdout(Output::capture())
        .timeout(Some(Duration::MAX))
        .cancel_grace(Duration::MAX)
        .spawn()
        .expect("spawn")
        .wait();
    assert!(outcome.success());
}

#[test]
fn the_relay_closes_the_upstream_pipe_as_soon_as_the_reader_is_gone() {
    let outcome = pipeline(vec![cmd(&["yes"]), cmd(&["head-lines", "1"])])
        .stdout(Output::capture())
        .spawn_inline()
        .expect("spawn")
        .wait();
    assert_eq!(outcome.stages[0].exit_code, -libc::SIGPIPE);
    assert!(outcome.stages[0].early_exit);
    assert!(outcome.success());
    assert_eq!(outcome.failure_index, None);
}

#[test]
fn a_stage_that_closes_its_stdin_and_keeps_working_is_not_terminated() {
    let outcome = pipeline(vec![cmd(&["yes"]), sh("exec 0<&-; sleep 0.2; echo done")])
        .stdout(Output::capture())
        .spawn()
        .expect("spawn")
        .wait();
    let codes: Vec<i32> = outcome.stages.iter().map(|s| s.exit_code).collect();
    assert_eq!(codes, [-libc::SIGPIPE, 0]);
    assert!(outcome.success());
    assert_eq!(
        outcome.stages[1].stdout.as_ref().unwrap().as_text(),
        Some("done\n")
    );
}

#[test]
fn a_second_cancel_with_a_shorter_grace_brings_the_kill_forward() {
    let run = ExecSpec::command(cmd(&["ignore-term", "30"]))
        .stdout(Output::capture())
        .line_events(true)
        .spawn()
        .expect("spawn");
    // Wait until SIGTERM is ignored: the fixture says `ready` then.
    'ready: loop {
        for event in run.wait_events(None).events {
            if matches!(event.kind, EventKind::Line { ref text, .. } if text == "ready") {
                break 'ready;
            }
        }
    }
    run.cancel(Duration::from_secs(60));
    let began = Instant::now();
    run.cancel(Duration::ZERO);
    let outcome = run.wait();
    assert!(began.elapsed() < SLACK * 5, "not after the 60 s grace");
    assert!(outcome.cancelled);
    assert_eq!(outcome.stages[0].exit_code, -libc::SIGKILL);
}

#[test]
fn a_submitted_run_reports_a_missing_program_at_once() {
    // Programs are bound to files on the caller's thread, at call time, so a
    // missing one is reported before anything is queued.
    let err = ExecSpec::command(Command::new("no-such-program-anywhere"))
        .submit()
        .expect_err("no such program");
    assert_eq!(err.kind(), ErrorKind::ProgramNotFound);
}

#[test]
fn a_submitted_run_still_rejects_invalid_input_at_once() {
    let err = ExecSpec::command(Command::new("echo").arg("nul\0byte"))
        .submit()
        .expect_err("a NUL byte cannot reach execve");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn submitted_runs_share_the_engine_threads() {
    let runs: Vec<_> = (0..50)
        .map(|i| {
            ExecSpec::command(cmd(&["echo", &i.to_string()]))
                .stdout(Output::capture())
                .submit()
                .expect("submit")
        })
        .collect();
    for (i, run) in runs.into_iter().enumerate() {
        let outcome = run.wait();
        assert_eq!(
            outcome.stages[0].stdout.as_ref().unwrap().as_text(),
            Some(format!("{i}\n").as_str())
        );
    }
}
