//! A spawned child, reaped by pid.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use crate::exec::sys;

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
        let pid = libc::pid_t::try_from(self.pid)
            .map_err(|_| io::Error::from_raw_os_error(libc::ECHILD))?;
        let mut raw: libc::c_int = 0;
        sys::retry(|| {
            // SAFETY: `raw` is a valid place for waitpid to store a status.
            if unsafe { libc::waitpid(pid, &mut raw, 0) } == -1 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        })?;
        let status = ExitStatus::from_raw(raw);
        self.status = Some(status);
        Ok(status)
    }
}
