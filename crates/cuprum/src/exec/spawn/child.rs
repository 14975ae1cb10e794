//! A spawned child, reaped by pid.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use rustix::process::{Pid, WaitOptions};

/// A spawned process, reaped by pid (what a stage holds of its leader).
#[derive(Debug)]
pub(crate) struct Child {
    pid: u32,
    status: Option<ExitStatus>,
}

impl Child {
    pub(super) fn new(pid: u32) -> Self {
        Self { pid, status: None }
    }

    /// The process id.
    pub(crate) fn id(&self) -> u32 {
        self.pid
    }

    /// Blocks until the process exits, then reaps it (once; later calls
    /// return the same status).
    pub(crate) fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let pid = i32::try_from(self.pid)
            .ok()
            .and_then(Pid::from_raw)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ECHILD))?;
        let waited = rustix::io::retry_on_intr(|| {
            rustix::process::waitpid(Some(pid), WaitOptions::empty())
        })?;
        // Without WNOHANG, waitpid reports the exit (or fails).
        let (_, raw) = waited.ok_or_else(|| io::Error::from_raw_os_error(libc::ECHILD))?;
        let status = ExitStatus::from_raw(raw.as_raw());
        self.status = Some(status);
        Ok(status)
    }
}
