//! Exit-code policy: per-command ok codes, fail-fast by them, checked runs.

use std::time::{Duration, Instant};

use cuprum::exec::{ExecSpec, Output, Stdin};
use cuprum::{Command, ErrorKind, Pipeline};

use crate::fixture::cmd;

fn pipeline(stages: Vec<Command>) -> ExecSpec {
    ExecSpec::pipeline(Pipeline::new(stages).expect("pipeline"))
}

#[test]
fn an_exit_code_in_the_ok_codes_is_success() {
    let outcome = ExecSpec::command(cmd(&["exit", "1"]).ok_codes([0, 1]))
        .spawn()
        .expect("spawn")
        .wait();
    assert_eq!(outcome.stages[0].exit_code, 1);
    assert!(outcome.stages[0].ok());
    assert!(outcome.success());
    assert_eq!(outcome.failed_stage(), None);
}

#[test]
fn zero_is_a_failure_when_the_ok_codes_leave_it_out() {
    let outcome = ExecSpec::command(cmd(&["exit", "0"]).ok_codes([1]))
        .spawn()
        .expect("spawn")
        .wait();
    assert!(!outcome.success());
    assert_eq!(outcome.failed_stage(), Some(0));
}

#[test]
fn a_middle_stage_exiting_with_an_ok_code_does_not_trigger_fail_fast() {
    // Without its ok codes, stage 1 exiting 1 would terminate the sleeper.
    let started = Instant::now();
    let outcome = pipeline(vec![
        cmd(&["sleep", "0.3"]),
        cmd(&["exit", "1"]).ok_codes([0, 1]),
        cmd(&["cat"]),
    ])
    .spawn()
    .expect("spawn")
    .wait();
    let codes: Vec<i32> = outcome.stages.iter().map(|s| s.exit_code).collect();
    assert_eq!(codes, [0, 1, 0]);
    assert_eq!(outcome.failure_index, None);
    assert!(outcome.success());
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn a_middle_stage_exiting_outside_its_ok_codes_triggers_fail_fast() {
    let outcome = pipeline(vec![
        cmd(&["sleep", "30"]),
        cmd(&["exit", "2"]).ok_codes([0, 1]),
        cmd(&["sleep", "30"]),
    ])
    .cancel_grace(Duration::from_millis(200))
    .spawn()
    .expect("spawn")
    .wait();
    let codes: Vec<i32> = outcome.stages.iter().map(|s| s.exit_code).collect();
    assert_eq!(codes, [-libc::SIGTERM, 2, -libc::SIGTERM]);
    assert_eq!(outcome.failure_index, Some(1));
    assert_eq!(outcome.failed_stage(), Some(1));
}

#[test]
fn an_empty_set_of_ok_codes_is_rejected_at_spawn() {
    let err = ExecSpec::command(cmd(&["exit", "0"]).ok_codes([]))
        .spawn()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("ok codes"), "{}", err.message());
}

#[test]
fn a_checked_run_returns_the_outcome_of_a_successful_run() {
    let outcome = ExecSpec::command(cmd(&["echo", "hi"]))
        .stdout(Output::capture())
        .run()
        .expect("run");
    let text = outcome.stages[0].stdout.as_ref().and_then(|c| c.as_text());
    assert_eq!(text, Some("hi\n"));
}

#[test]
fn a_checked_run_names_the_program_code_and_stderr_tail() {
    let script = "for i in 1 2 3 4 5 6 7; do echo line$i >&2; done; exit 128";
    let err = ExecSpec::command(Command::new("sh").args(["-c", script]))
        .stderr(Output::capture())
        .run()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ExitStatus);
    assert_eq!(
        err.message(),
        "`sh` exited with 128: line3\nline4\nline5\nline6\nline7"
    );
}

#[test]
fn a_checked_run_without_captured_stderr_names_program_and_code() {
    let err = ExecSpec::command(cmd(&["exit", "4"])).run().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ExitStatus);
    let program = crate::fixture::path().to_string_lossy().into_owned();
    assert_eq!(err.message(), format!("`{program}` exited with 4"));
}

#[test]
fn a_checked_pipeline_reports_the_stage_that_failed() {
    let err = pipeline(vec![
        cmd(&["echo", "x"]),
        Command::new("sh").args(["-c", "cat >/dev/null; echo broken >&2; exit 5"]),
        cmd(&["cat"]),
    ])
    .stderr(Output::capture())
    .run()
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ExitStatus);
    assert_eq!(err.message(), "`sh` exited with 5: broken");
}

#[test]
fn a_checked_run_past_its_deadline_is_timed_out() {
    let err = ExecSpec::command(cmd(&["sleep", "30"]))
        .stdin(Stdin::Null)
        .timeout(Some(Duration::from_millis(50)))
        .cancel_grace(Duration::from_millis(50))
        .run()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert!(err.message().contains("timed out"), "{}", err.message());
}
