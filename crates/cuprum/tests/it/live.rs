//! Live streams end to end: bounded output buffers with backpressure and
//! interactive stdin.

use std::io::ErrorKind;
use std::time::Duration;

use cuprum::exec::{ExecSpec, LineCutter, Output, Stdin};

use crate::fixture::cmd;

#[test]
fn an_idle_consumer_pauses_the_producer_at_the_buffer_bound() {
    let run = ExecSpec::command(cmd(&["yes"]))
        .stdout(Output::live())
        .live_buffer(64 << 10)
        .spawn()
        .unwrap();
    let stdout = run.live_stdout().unwrap();
    // Wait until the buffer filled; after that the engine stops reading,
    // so nothing more arrives however long the consumer stays idle.
    let first = stdout.read(None).unwrap();
    assert!(!first.is_empty());
    std::thread::sleep(Duration::from_millis(300)); // the idle period is the point
    let held = stdout.take().unwrap_or_default().len();
    // At most the bound plus one read of the pipe (64 KiB), never more.
    assert!(held <= (64 << 10) + (64 << 10), "buffered {held} bytes");
    // Taking made room: the producer is read again.
    assert!(stdout.read(Some(Duration::from_secs(5))).is_some());
    run.cancel(Duration::ZERO);
    assert!(run.wait().cancelled);
}

#[test]
fn interactive_stdin_round_trip_and_broken_pipe() {
    let run = ExecSpec::command(cmd(&["line-echo"]))
        .stdin(Stdin::Live)
        .stdout(Output::live())
        .spawn()
        .unwrap();
    let (stdin, stdout) = (run.live_stdin().unwrap(), run.live_stdout().unwrap());
    let mut cutter = LineCutter::new();
    for word in ["a", "b"] {
        assert!(stdin.write(format!("{word}\n").as_bytes(), None).unwrap());
        let mut lines = Vec::new();
        while lines.is_empty() {
            let chunk = stdout.read(None).unwrap();
            cutter.feed(&chunk, false, |line| lines.push(line.to_owned()));
        }
        assert_eq!(lines, [format!("> {word}\n")]);
    }
    stdin.close();
    assert!(stdout.read(None).is_none());
    let outcome = run.wait();
    assert_eq!(outcome.stages[0].exit_code, 0);
    assert!(stdin.is_closed());
}

#[test]
fn a_write_after_the_child_exited_is_a_broken_pipe() {
    let run = ExecSpec::command(cmd(&["exit", "0"]))
        .stdin(Stdin::Live)
        .spawn()
        .unwrap();
    let stdin = run.live_stdin().unwrap();
    let outcome = run.wait();
    assert_eq!(outcome.stages[0].exit_code, 0);
    let err = stdin.write(b"late", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
}
