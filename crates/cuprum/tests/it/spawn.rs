//! What a child starts with: the executable it runs (resolved by the engine,
//! not by the run's environment) and the descriptors it inherits.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use cuprum::exec::{EventKind, ExecSpec, Output};
use cuprum::{Command, ErrorKind};

use crate::fixture::{cmd, path as fixture_path};

/// A fresh empty directory under the system's temporary directory.
fn scratch() -> PathBuf {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "cuprum-it-spawn-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An executable file `dir/name` with `content`.
fn program(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A pipe whose ends are both inheritable (not close-on-exec), as code that
/// knows nothing of cuprum might leave them.
fn inheritable_pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` is a valid array of two descriptors for pipe to fill.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: pipe succeeded, so both descriptors are open and ours.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// A duplicate of `fd` numbered 300 or above: passing it makes the engine
/// take its fork path (`posix_spawn` serves lower numbers).
fn high_duplicate(fd: &OwnedFd) -> OwnedFd {
    // SAFETY: F_DUPFD duplicates an open descriptor onto the lowest free
    // number from 300 up; no memory is involved.
    let raw = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD, 300) };
    assert!(raw >= 300);
    // SAFETY: fcntl returned a fresh descriptor that we now own.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

fn captured(spec: ExecSpec) -> String {
    let outcome = spec.stdout(Output::capture()).spawn().unwrap().wait();
    assert!(outcome.success(), "{outcome:?}");
    let stdout = outcome.stages.last().unwrap().stdout.as_ref().unwrap();
    stdout.as_text().unwrap().to_owned()
}

#[test]
fn start_events_carry_the_absolute_executable_and_argv0_is_unchanged() {
    let spawned = ExecSpec::command(Command::new("sh").args(["-c", "echo $0"]))
        .stdout(Output::capture())
        .spawn()
        .unwrap();
    let mut events = Vec::new();
    loop {
        let batch = spawned.wait_events(None);
        events.extend(batch.events);
        if batch.finished {
            break;
        }
    }
    let outcome = spawned.take_outcome().unwrap();
    let EventKind::Start { executable, .. } = &events[0].kind else {
        panic!("first event is not start: {events:?}");
    };
    assert!(executable.is_absolute(), "{executable:?}");
    assert!(executable.ends_with("sh"), "{executable:?}");
    let argv0 = outcome.stages[0]
        .stdout
        .as_ref()
        .unwrap()
        .as_text()
        .unwrap();
    assert_eq!(argv0, "sh\n", "argv[0] is the name, not the path");
}

#[test]
fn the_runs_path_and_cwd_never_choose_the_program() {
    let dir = scratch();
    let marker = dir.join("marker");
    let fake = format!("#!/bin/sh\ntouch {}\n", marker.display());
    program(&dir, "sh", &fake);
    for path in [dir.as_os_str().to_owned(), ".".into(), ":/usr/bin".into()] {
        let spec = ExecSpec::command(Command::new("sh").args(["-c", "exit 0"]))
            .env(Some([("PATH", path)]))
            .cwd(Some(dir.clone()));
        let outcome = spec.spawn().unwrap().wait();
        assert!(outcome.success());
    }
    // A relative name with a slash is the engine's working directory's, not
    // the run's.
    let relative = ExecSpec::command(Command::new("./sh")).cwd(Some(dir.clone()));
    let err = relative.spawn().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProgramNotFound);
    assert!(!marker.exists(), "the fake program ran");
}

#[test]
fn a_missing_program_at_any_stage_spawns_nothing() {
    let spec = ExecSpec::stages(vec![
        cmd(&["sleep", "30"]),
        Command::new("cuprum-no-such-tool"),
    ]);
    let err = spec.spawn().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProgramNotFound);
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    assert_eq!(
        err.message(),
        "program `cuprum-no-such-tool` not found on PATH"
    );
    assert_eq!(err.path(), Some(Path::new("cuprum-no-such-tool")));
}

#[test]
fn children_get_only_the_standard_streams() {
    let (read, write) = inheritable_pipe();
    let seen = captured(ExecSpec::command(cmd(&["fds"])));
    assert_eq!(seen, "0 1 2\n");
    let elsewhere = captured(ExecSpec::command(cmd(&["fds"])).cwd(Some("/".into())));
    assert_eq!(elsewhere, "0 1 2\n");
    drop((read, write));
}

#[test]
fn pass_fds_are_the_only_extra_descriptors() {
    let (low_read, low_write) = inheritable_pipe();
    let (read, write) = inheritable_pipe();
    let passed = write.as_raw_fd();
    let spec = ExecSpec::command(cmd(&["fds"])).pass_fds([passed, passed]);
    assert_eq!(captured(spec), format!("0 1 2 {passed}\n"));
    // Passed in a pipeline, under the same number in every stage.
    let spec = ExecSpec::stages(vec![cmd(&["fds"]), cmd(&["cat"])]).pass_fds([passed]);
    assert_eq!(captured(spec), format!("0 1 2 {passed}\n"));
    // A high number takes the fork path: same result, in another directory.
    let high = high_duplicate(&write);
    let spec = ExecSpec::command(cmd(&["fds"]))
        .pass_fds([high.as_raw_fd(), passed])
        .cwd(Some("/".into()));
    assert_eq!(
        captured(spec),
        format!("0 1 2 {passed} {}\n", high.as_raw_fd())
    );
    drop((low_read, low_write, read, write, high));
}

#[test]
fn pass_fds_are_checked_before_anything_spawns() {
    for fd in [0, 2, -1] {
        let err = ExecSpec::command(cmd(&["fds"]))
            .pass_fds([fd])
            .spawn()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.message().contains("`pass_fds`"), "{}", err.message());
    }
    let (read, write) = inheritable_pipe();
    let closed = read.as_raw_fd();
    drop((read, write));
    let err = ExecSpec::command(cmd(&["fds"])).pass_fds([closed]).spawn();
    // The number may have been reused by a parallel test; if not, it is
    // reported as not open.
    if let Err(err) = err {
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.message().contains("is not open"), "{}", err.message());
    }
}

#[test]
fn exec_failures_keep_their_errno_and_name_the_program() {
    let dir = scratch();
    let garbage = program(&dir, "garbage", "\u{1}\u{2}\u{3} not a program\n");
    let (read, write) = inheritable_pipe();
    let high = high_duplicate(&write);
    // Both spawn paths: posix_spawn, and fork-and-exec (taken for a high
    // passed descriptor).
    for pass in [vec![], vec![high.as_raw_fd()]] {
        let err = ExecSpec::command(Command::new(&garbage))
            .pass_fds(pass.clone())
            .spawn()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert_eq!(err.raw_os_error(), Some(libc::ENOEXEC), "no shell fallback");
        assert!(err.message().contains(&format!("`{}`", garbage.display())));
        assert_eq!(err.path(), Some(garbage.as_path()));
        let huge = "x".repeat(1 << 18);
        let err = ExecSpec::command(Command::new(fixture_path()).args(["echo", &huge]))
            .pass_fds(pass)
            .spawn()
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::E2BIG));
        assert!(
            err.message().contains("cannot execute"),
            "{}",
            err.message()
        );
    }
    drop((read, write));
}

#[test]
fn a_working_directory_that_is_a_file_is_not_a_directory() {
    let dir = scratch();
    let file = program(&dir, "file", "");
    let err = ExecSpec::command(cmd(&["pwd"]))
        .cwd(Some(file.clone()))
        .spawn()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadWorkingDirectory);
    assert_eq!(err.raw_os_error(), Some(libc::ENOTDIR));
    assert!(
        err.message().starts_with("working directory"),
        "{}",
        err.message()
    );
    assert_eq!(err.path(), Some(file.as_path()));
}
