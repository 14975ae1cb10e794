//! One spawned stage: its process, how its exit is noticed, and how it is
//! signalled and reaped.
//!
//! A stage is the leader of its own process group. Its exit is observed
//! without reaping it (`waitid` with `WNOWAIT`): the zombie keeps the group
//! id reserved, so signalling the group stays safe until the run is over
//! (a reaped leader's id could be given to an unrelated process). The leader
//! is reaped last, by [`StageProc::reap`] or when the stage is dropped —
//! which also kills the group first, so even an unwinding panic leaves no
//! child behind.

use super::spawn::Child;
use std::os::fd::OwnedFd;
use std::time::Instant;

use rustix::process::{Pid, PidfdFlags, Signal, WaitIdOptions, WaitIdStatus};

/// One spawned stage.
pub(crate) struct StageProc {
    child: Child,
    pub(crate) pid: u32,
    /// Readable once the process has exited (Linux); `None` elsewhere, where
    /// exits are found by polling.
    pub(crate) pidfd: Option<OwnedFd>,
    pub(crate) started: Instant,
    /// The exit code (`-N` for signal N) and when it was noticed.
    pub(crate) exit: Option<(i32, Instant)>,
    /// Whether the leader has been reaped (its group id released).
    reaped: bool,
    /// Signalled by the supervisor (timeout, cancel, fail-fast) while it ran.
    pub(crate) terminated: bool,
    /// Excused: it failed only because its downstream stopped reading first.
    pub(crate) early_exit: bool,
}

impl StageProc {
    pub(crate) fn new(child: Child, started: Instant) -> Self {
        let pid = child.id();
        let pidfd =
            pid_of(pid).and_then(|p| rustix::process::pidfd_open(p, PidfdFlags::empty()).ok());
        Self {
            child,
            pid,
            pidfd,
            started,
            exit: None,
            reaped: false,
            terminated: false,
            early_exit: false,
        }
    }

    pub(crate) fn running(&self) -> bool {
        self.exit.is_none()
    }

    /// Notices the stage's exit without reaping it. Returns the exit code the
    /// first time the exit is seen.
    pub(crate) fn poll_exit(&mut self) -> Option<i32> {
        if !self.running() {
            return None;
        }
        let pid = pid_of(self.pid)?;
        let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
        let code = match rustix::process::waitid(rustix::process::WaitId::Pid(pid), options) {
            Ok(Some(status)) => exit_code(&status),
            Ok(None) => return None,
            // Someone else reaped our child: its status is lost.
            Err(_) => {
                self.reaped = true;
                -1
            }
        };
        self.exit = Some((code, Instant::now()));
        self.pidfd = None;
        Some(code)
    }

    /// Sends `signal` to the stage's process group, unless its leader was
    /// already reaped.
    pub(crate) fn signal_group(&self, signal: Signal) {
        if self.reaped {
            return;
        }
        if let Some(pid) = pid_of(self.pid) {
            // A group whose members are all gone is not an error.
            let _ = rustix::process::kill_process_group(pid, signal);
        }
    }

    /// Reaps the leader (blocking until it has exited). Its group id is free
    /// from here on, so nothing signals the group after this.
    pub(crate) fn reap(&mut self) {
        if self.reaped {
            return;
        }
        let status = self.child.wait();
        self.reaped = true;
        if self.exit.is_none() {
            let code = status.map_or(-1, super::supervisor::exit_code);
            self.exit = Some((code, Instant::now()));
        }
    }
}

impl Drop for StageProc {
    fn drop(&mut self) {
        if !self.reaped {
            self.signal_group(Signal::KILL);
            self.reap();
        }
    }
}

fn pid_of(pid: u32) -> Option<Pid> {
    i32::try_from(pid).ok().and_then(Pid::from_raw)
}

/// Python's convention: the exit status, or `-N` for death by signal N.
fn exit_code(status: &WaitIdStatus) -> i32 {
    status
        .exit_status()
        .or_else(|| status.terminating_signal().map(|s| -s))
        .unwrap_or(-1)
}
