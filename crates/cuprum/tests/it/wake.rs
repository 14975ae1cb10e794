//! `Wake::Finish`: every event still arrives, all in the finishing batch,
//! and the caller is woken once — unless a backlog would stall the run.

use std::sync::Arc;
use std::time::Duration;

use cuprum::exec::{Batch, EventKind, ExecSpec, Execution, Output, Stdin, Wake};
use cuprum::Command;
use rustix::event::{poll, PollFd, PollFlags};

use crate::fixture::cmd;

/// Two lines with a pause between them: under `Wake::Events` the first line
/// (and the start) would wake the caller long before the exit.
fn paused_lines() -> ExecSpec {
    ExecSpec::command(Command::new("sh").args(["-c", "echo one; sleep 0.2; echo two"]))
        .stdout(Output::capture())
        .line_events(true)
        .wake(Wake::Finish)
}

/// Waits `run` out, handing every batch to `each` (the last one finished).
fn each_batch(run: &Execution, mut each: impl FnMut(&Batch)) {
    loop {
        let batch = run.wait_events(Some(Duration::from_secs(30)));
        each(&batch);
        if batch.finished {
            return;
        }
    }
}

fn assert_one_finishing_batch(run: &Execution) {
    let batch = run.wait_events(None);
    assert!(batch.finished, "the first wake-up is the finish");
    let kinds: Vec<&str> = batch
        .events
        .iter()
        .map(|event| match &event.kind {
            EventKind::Start { .. } => "start",
            EventKind::Line { .. } => "line",
            EventKind::Exit { .. } => "exit",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["start", "line", "line", "exit"]);
}

#[test]
fn wake_finish_on_the_reactor_delivers_every_event_in_the_finishing_batch() {
    assert_one_finishing_batch(&paused_lines().spawn().expect("spawn"));
}

#[test]
fn wake_finish_supervised_by_the_caller_delivers_every_event_in_the_finishing_batch() {
    assert_one_finishing_batch(&paused_lines().spawn_inline().expect("spawn"));
}

#[test]
fn wake_finish_keeps_the_notify_descriptor_quiet_until_the_run_finishes() {
    let run = ExecSpec::command(cmd(&["sleep", "0.3"]))
        .wake(Wake::Finish)
        .submit()
        .expect("submit");
    let fd = run.notify_fd().expect("notify fd");
    let readable = |timeout: Duration| {
        let timeout = rustix::time::Timespec::try_from(timeout).expect("timeout");
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        poll(&mut fds, Some(&timeout)).expect("poll") == 1
    };
    // The start event is queued well within this window, and does not wake.
    assert!(!readable(Duration::from_millis(100)));
    assert!(readable(Duration::from_secs(10)), "the finish wakes");
    assert!(run.take_events().finished);
}

#[test]
fn wake_finish_wakes_for_a_backlog_so_many_line_events_never_stall_the_run() {
    // More line events than the engine buffers before it stops reading.
    let lines = 200_000;
    let run = ExecSpec::command(cmd(&["lines", &lines.to_string()]))
        .stdout(Output::capture())
        .line_events(true)
        .wake(Wake::Finish)
        .spawn()
        .expect("spawn");
    let mut seen = 0;
    each_batch(&run, |batch| {
        seen += batch
            .events
            .iter()
            .filter(|event| matches!(event.kind, EventKind::Line { .. }))
            .count();
        assert!(
            batch.finished || !batch.events.is_empty(),
            "the run stalled on its backlog"
        );
    });
    assert_eq!(seen, lines);
    assert_eq!(run.take_outcome().expect("outcome").stages[0].exit_code, 0);
}

#[test]
fn wake_finish_still_wakes_a_streamed_stdin_for_each_chunk() {
    let run = ExecSpec::command(cmd(&["count"]))
        .stdin(Stdin::Stream)
        .stdout(Output::capture())
        .wake(Wake::Finish)
        .spawn()
        .expect("spawn");
    let mut chunks = 3;
    each_batch(&run, |batch| {
        if batch.finished {
            return;
        }
        let asked = batch
            .events
            .iter()
            .any(|event| matches!(event.kind, EventKind::StdinWanted));
        assert!(asked, "woken before the finish only to feed stdin");
        let chunk: Option<Arc<dyn AsRef<[u8]> + Send + Sync>> =
            (chunks > 0).then(|| Arc::new(b"abcd".to_vec()) as _);
        chunks -= 1;
        run.feed_stdin(chunk);
    });
    let outcome = run.take_outcome().expect("outcome");
    let stdout = outcome.stages[0].stdout.as_ref().expect("captured");
    assert_eq!(stdout.as_text(), Some("12\n"));
}
