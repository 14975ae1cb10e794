//! `Hub`: many runs signal their callers through one descriptor.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use cuprum::exec::{ExecSpec, Execution, Hub, Output, Wake};
use cuprum::Command;
use rustix::event::{poll, PollFd, PollFlags};

use crate::fixture::cmd;

fn readable(hub: &Hub, timeout: Duration) -> bool {
    let timeout = rustix::time::Timespec::try_from(timeout).expect("timeout");
    let mut fds = [PollFd::new(hub, PollFlags::IN)];
    poll(&mut fds, Some(&timeout)).expect("poll") == 1
}

/// `true`, waking its caller once, when it has finished.
fn quiet_true() -> ExecSpec {
    ExecSpec::command(Command::new("true")).wake(Wake::Finish)
}

/// Takes the hub's tokens: at least one, and all `token` (a finish that
/// races the watch may be posted twice, never for another run).
fn assert_only(hub: &Hub, token: u64) {
    let ready = hub.take_ready();
    assert!(
        !ready.is_empty() && ready.iter().all(|&t| t == token),
        "{ready:?}"
    );
}

/// Drives every run in `runs` (keyed by token) through `hub` alone until
/// each has finished; returns the tokens in the order they finished.
fn drive(hub: &Hub, runs: &BTreeMap<u64, Execution>) -> Vec<u64> {
    let mut finished = Vec::new();
    while finished.len() < runs.len() {
        assert!(readable(hub, Duration::from_secs(30)), "a run went silent");
        for token in hub.take_ready() {
            if !finished.contains(&token) && runs[&token].take_events().finished {
                finished.push(token);
            }
        }
    }
    finished
}

#[test]
fn runs_watched_by_one_hub_each_report_their_token_until_they_finish() {
    let hub = Hub::new().expect("hub");
    let runs: BTreeMap<u64, Execution> = (0..24u64)
        .map(|token| {
            let run = ExecSpec::command(cmd(&["echo", &token.to_string()]))
                .stdout(Output::capture())
                .submit()
                .expect("submit");
            run.watch(&hub, token);
            (token, run)
        })
        .collect();
    let mut finished = drive(&hub, &runs);
    finished.sort_unstable();
    assert_eq!(finished, runs.keys().copied().collect::<Vec<_>>());
    for (token, run) in &runs {
        let outcome = run.take_outcome().expect("outcome");
        let stdout = outcome.stages[0].stdout.as_ref().expect("captured");
        assert_eq!(stdout.as_text(), Some(format!("{token}\n").as_str()));
    }
}

#[test]
fn the_hub_descriptor_is_readable_exactly_while_tokens_wait() {
    let hub = Hub::new().expect("hub");
    assert!(!readable(&hub, Duration::ZERO), "a new hub is quiet");
    let run = quiet_true().submit().expect("submit");
    run.watch(&hub, 3);
    assert!(readable(&hub, Duration::from_secs(30)), "the finish wakes");
    assert_only(&hub, 3);
    assert!(
        !readable(&hub, Duration::ZERO),
        "taking the tokens clears it"
    );
    assert!(run.take_events().finished);
}

#[test]
fn a_run_watched_after_it_finished_posts_its_token_at_once() {
    let hub = Hub::new().expect("hub");
    let run = quiet_true().spawn_inline().expect("spawn");
    // Supervised by this thread: finished once this returns, unwatched.
    assert!(run.wait_events(None).finished);
    assert!(!readable(&hub, Duration::ZERO));
    run.watch(&hub, 5);
    assert!(
        readable(&hub, Duration::ZERO),
        "watching a finished run posts at once"
    );
    assert_eq!(hub.take_ready(), [5]);
    assert_eq!(run.take_outcome().expect("outcome").stages[0].exit_code, 0);
}

#[test]
fn watching_again_moves_the_run_to_the_new_hub_and_token() {
    let (old, new) = (Hub::new().expect("hub"), Hub::new().expect("hub"));
    // Supervised by this thread: nothing happens until it waits below, so
    // both watches come before the finish.
    let run = quiet_true().spawn_inline().expect("spawn");
    run.watch(&old, 1);
    run.watch(&new, 2);
    assert!(run.wait_events(None).finished);
    assert!(
        readable(&new, Duration::ZERO),
        "the new hub learns of the finish"
    );
    assert_eq!(new.take_ready(), [2]);
    assert!(old.take_ready().is_empty(), "the old hub is told nothing");
}

#[test]
fn dropping_the_last_hub_handle_closes_its_descriptor_while_its_runs_go_on() {
    let hub = Hub::new().expect("hub");
    let fd = hub.as_fd().as_raw_fd();
    let run = ExecSpec::command(cmd(&["sleep", "0.2"]))
        .submit()
        .expect("submit");
    run.watch(&hub, 1);
    // Other tests run alongside and may reuse the number: compare the
    // eventfd's own id, not just whether the number is open.
    let id = |fd| {
        std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))
            .ok()
            .and_then(|info| {
                info.lines().find_map(|line| {
                    line.strip_prefix("eventfd-id:")
                        .map(|id| id.trim().to_owned())
                })
            })
    };
    let before = id(fd);
    assert!(before.is_some(), "the hub's descriptor is an open eventfd");
    drop(hub);
    assert_ne!(id(fd), before, "the hub's descriptor is closed");
    assert_eq!(
        run.wait().stages[0].exit_code,
        0,
        "the run goes on regardless"
    );
}

#[test]
fn a_run_with_a_notify_descriptor_and_a_hub_signals_both() {
    let hub = Hub::new().expect("hub");
    let run = quiet_true().submit().expect("submit");
    let fd = run.notify_fd().expect("notify fd");
    run.watch(&hub, 9);
    assert!(
        readable(&hub, Duration::from_secs(30)),
        "the hub learns of the finish"
    );
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    assert_eq!(
        poll(&mut fds, None).expect("poll"),
        1,
        "so does the descriptor"
    );
    assert_only(&hub, 9);
    assert!(run.take_events().finished);
}
