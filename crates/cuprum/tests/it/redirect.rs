//! I/O routing: files and descriptors handed to the child, `2>&1`, and a
//! streamed stdin fed one chunk at a time.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;

use cuprum::exec::{EventKind, ExecSpec, Execution, Output, Redirect, Stdin};
use cuprum::{ErrorKind, Pipeline};

use crate::fixture::cmd;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cuprum-it-redirect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

fn text(outcome: &cuprum::exec::Outcome, stage: usize) -> Option<&str> {
    outcome.stages[stage]
        .stdout
        .as_ref()
        .and_then(|c| c.as_text())
}

#[test]
fn stdout_path_truncates_and_append_appends() {
    let path = scratch("truncate.txt");
    std::fs::write(&path, "stale content, longer than the new one\n").expect("write");
    let outcome = ExecSpec::command(cmd(&["echo", "one"]))
        .stdout_path(&path)
        .run()
        .expect("run");
    assert!(outcome.stages[0].stdout.is_none());
    ExecSpec::command(cmd(&["echo", "two"]))
        .stdout_append(&path)
        .run()
        .expect("run");
    ExecSpec::command(cmd(&["err", "three"]))
        .stderr_append(&path)
        .run()
        .expect("run");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "one\ntwo\nthree\n"
    );
}

#[test]
fn stdin_path_and_descriptors_reach_the_child() {
    let input = scratch("input.txt");
    std::fs::write(&input, "from the file\n").expect("write");
    let outcome = ExecSpec::command(cmd(&["cat"]))
        .stdin_path(&input)
        .stdout(Output::capture())
        .run()
        .expect("run");
    assert_eq!(text(&outcome, 0), Some("from the file\n"));

    let output = scratch("by-fd.txt");
    let file = std::fs::File::create(&output).expect("create");
    let reader: OwnedFd = std::fs::File::open(&input).expect("open").into();
    ExecSpec::command(cmd(&["cat"]))
        .stdin_file(reader)
        .stdout_file(file)
        .run()
        .expect("run");
    assert_eq!(
        std::fs::read_to_string(&output).expect("read"),
        "from the file\n"
    );
}

#[test]
fn a_file_that_cannot_be_opened_fails_before_spawning() {
    let err = ExecSpec::command(cmd(&["cat"]))
        .stdin_path("/no/such/input")
        .run()
        .expect_err("missing file");
    assert_eq!(err.kind(), ErrorKind::Redirect);
    assert_eq!(err.message(), "`stdin` file `/no/such/input`");
    assert_eq!(err.path(), Some(std::path::Path::new("/no/such/input")));
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    let err = ExecSpec::command(cmd(&["cat"]))
        .stdin_redirect(Redirect::Append("/tmp/x".into()))
        .run()
        .expect_err("append as input");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn stderr_to_stdout_merges_each_stage_into_its_own_stdout() {
    let pipeline =
        Pipeline::new(vec![cmd(&["both", "out1", "err1"]), cmd(&["cat"])]).expect("pipeline");
    let outcome = ExecSpec::pipeline(pipeline)
        .stdout(Output::capture())
        .stderr_to_stdout()
        .run()
        .expect("run");
    assert_eq!(text(&outcome, 1), Some("out1\nerr1\n"));
    assert!(outcome.stages.iter().all(|s| s.stderr.is_none()));
}

#[test]
fn stderr_path_is_shared_by_every_stage() {
    let path = scratch("stderr-all.txt");
    let pipeline =
        Pipeline::new(vec![cmd(&["err", "first"]), cmd(&["err", "second"])]).expect("pipeline");
    ExecSpec::pipeline(pipeline)
        .stderr_path(&path)
        .run()
        .expect("run");
    let mut lines: Vec<String> = std::fs::read_to_string(&path)
        .expect("read")
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    assert_eq!(lines, ["first", "second"]);
}

/// Drives a streamed run, answering each request with the next chunk;
/// returns how many chunks were asked for.
fn stream(run: &Execution, mut chunks: impl Iterator<Item = Vec<u8>>) -> usize {
    let mut asked = 0;
    loop {
        let batch = run.wait_events(None);
        for event in &batch.events {
            if matches!(event.kind, EventKind::StdinWanted) {
                asked += 1;
                run.feed_stdin(
                    chunks
                        .next()
                        .map(|c| Arc::new(c) as Arc<dyn AsRef<[u8]> + Send + Sync>),
                );
            }
        }
        if batch.finished {
            return asked;
        }
    }
}

#[test]
fn a_streamed_stdin_asks_for_one_chunk_at_a_time() {
    let run = ExecSpec::command(cmd(&["count"]))
        .stdin(Stdin::Stream)
        .stdout(Output::capture())
        .spawn_inline()
        .expect("spawn");
    let asked = stream(&run, (0..64).map(|_| vec![7u8; 1 << 16]));
    let outcome = run.take_outcome().expect("outcome");
    assert_eq!(text(&outcome, 0), Some(format!("{}\n", 64 << 16).as_str()));
    // One request per chunk, plus the one answered with the end.
    assert_eq!(asked, 65);
}

#[test]
fn a_streamed_stdin_ends_when_the_child_stops_reading() {
    let run = ExecSpec::command(cmd(&["head-bytes", "3"]))
        .stdin(Stdin::Stream)
        .stdout(Output::capture())
        .spawn()
        .expect("spawn");
    let asked = stream(&run, std::iter::repeat_with(|| b"0123456789".to_vec()));
    let outcome = run.take_outcome().expect("outcome");
    assert_eq!(text(&outcome, 0), Some("012"));
    assert!(asked < 100_000, "asked {asked} times");
}

#[test]
fn a_streamed_stdin_waiting_for_a_chunk_notices_the_reader_going_away() {
    // Nobody answers the request: the run still ends once the child exits
    // without reading.
    let outcome = ExecSpec::command(cmd(&["exit", "0"]))
        .stdin(Stdin::Stream)
        .spawn()
        .expect("spawn")
        .wait();
    assert_eq!(outcome.stages[0].exit_code, 0);
    assert!(outcome.error.is_none());
    let _ = std::io::stdout().flush();
}
