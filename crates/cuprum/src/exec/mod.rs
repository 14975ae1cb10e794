//! Running commands and pipelines: spawn, supervise, observe, collect.
//!
//! Describe a run with an [`ExecSpec`], start it with [`ExecSpec::spawn`],
//! and drive the returned [`Execution`] handle:
//!
//! - [`Execution::notify_fd`] is readable whenever events or the outcome are
//!   waiting, so any event loop that can wait on a descriptor can drive a run
//!   without a thread of its own;
//! - [`Execution::take_events`] (non-blocking) and
//!   [`Execution::wait_events`] (blocking) return [`Batch`]es of [`Event`]s;
//! - [`Execution::cancel`] tears the run down (SIGTERM to every stage's
//!   process group, SIGKILL after the grace period) from any thread;
//! - [`Execution::take_outcome`] returns the [`Outcome`] once the batch that
//!   says `finished` has been taken; [`Execution::wait`] does all of this in
//!   one blocking call.
//!
//! # Lifecycle guarantees
//!
//! Every stage runs in its own process group. On timeout, cancel or
//! fail-fast, each live group receives SIGTERM, then SIGKILL once the grace
//! period has passed, so grandchildren are stopped too. Every child is
//! reaped; every pipe the engine created is closed by the time the outcome is
//! published. Dropping an unfinished [`Execution`] cancels it; the
//! supervisor still reaps the children in the background.
//!
//! # Example
//!
//! ```
//! use cuprum::Command;
//! use cuprum::exec::{ExecSpec, Output};
//!
//! let spec = ExecSpec::pipeline(Command::new("printf").arg("b\na\n") | Command::new("sort"))
//!     .stdout(Output::capture());
//! let outcome = spec.spawn()?.wait();
//! assert!(outcome.success());
//! assert_eq!(outcome.stages[1].stdout.as_ref().unwrap().as_text(), Some("a\nb\n"));
//! # Ok::<(), cuprum::Error>(())
//! ```

mod event;
mod notify;
mod outcome;
mod shared;
mod spawn;
mod spec;
mod start;
mod supervisor;
mod sys;

use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::Duration;

pub use event::{Event, EventKind, StdinOp, Stream};
pub use outcome::{Captured, Outcome, StageOutcome};
pub use shared::Batch;
pub use spec::{Decode, Echo, ExecSpec, Output, RelayMethod, Stdin};

use crate::Result;

impl ExecSpec {
    /// Spawns every stage, wires its pipes and starts supervising it.
    ///
    /// Returns as soon as every stage is running (their pids are known).
    ///
    /// # Errors
    ///
    /// Nothing is left running when this fails:
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    /// NUL byte in argv or the environment, or an illegal variable name;
    /// [`ErrorKind::BadWorkingDirectory`](crate::ErrorKind::BadWorkingDirectory)
    /// when `cwd` is not a directory;
    /// [`ErrorKind::ProgramNotFound`](crate::ErrorKind::ProgramNotFound) /
    /// [`ErrorKind::PermissionDenied`](crate::ErrorKind::PermissionDenied)
    /// when a stage cannot be executed (stages spawned before it are killed
    /// and reaped); [`ErrorKind::Io`](crate::ErrorKind::Io) when a pipe or
    /// thread cannot be created.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::{Command, ErrorKind};
    /// use cuprum::exec::ExecSpec;
    /// let err = ExecSpec::command(Command::new("no-such-program-here")).spawn().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::ProgramNotFound);
    /// ```
    pub fn spawn(self) -> Result<Execution> {
        start::start(self)
    }
}

/// A running execution (see the [module documentation](self)).
#[derive(Debug)]
pub struct Execution {
    shared: Arc<shared::Shared>,
    pids: Vec<u32>,
    grace: Duration,
}

impl std::fmt::Debug for shared::Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Execution {
    fn new(shared: Arc<shared::Shared>, pids: Vec<u32>, grace: Duration) -> Self {
        Self {
            shared,
            pids,
            grace,
        }
    }

    /// The process id of every stage, in stage order.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::Command;
    /// use cuprum::exec::ExecSpec;
    /// let run = ExecSpec::command(Command::new("true")).spawn()?;
    /// assert_eq!(run.pids().len(), 1);
    /// run.wait();
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    #[must_use]
    pub fn pids(&self) -> &[u32] {
        &self.pids
    }

    /// A descriptor that is readable whenever events or the outcome wait
    /// (an `eventfd` on Linux). Taking events clears it.
    ///
    /// # Example
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use cuprum::Command;
    /// use cuprum::exec::ExecSpec;
    /// let run = ExecSpec::command(Command::new("true")).spawn()?;
    /// assert!(run.notify_fd().as_raw_fd() >= 0);
    /// run.wait();
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    #[must_use]
    pub fn notify_fd(&self) -> BorrowedFd<'_> {
        self.shared.notify_fd()
    }

    /// Takes the events that are waiting, without blocking.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::Command;
    /// use cuprum::exec::{EventKind, ExecSpec};
    /// let run = ExecSpec::command(Command::new("true")).spawn()?;
    /// let batch = run.take_events();
    /// assert!(matches!(batch.events[0].kind, EventKind::Start { .. }));
    /// run.wait();
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    #[must_use]
    pub fn take_events(&self) -> Batch {
        self.shared.take()
    }

    /// Blocks until events are waiting, the execution finishes, or `timeout`
    /// passes (`None`: no limit), then takes the events.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::Command;
    /// use cuprum::exec::ExecSpec;
    /// let run = ExecSpec::command(Command::new("true")).spawn()?;
    /// while !run.wait_events(None).finished {}
    /// assert_eq!(run.take_outcome().unwrap().stages[0].exit_code, 0);
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    #[must_use]
    pub fn wait_events(&self, timeout: Option<Duration>) -> Batch {
        self.shared.wait(timeout)
    }

    /// Tears the execution down: SIGTERM to every live stage's process
    /// group, SIGKILL after `grace`. Idempotent (the first grace wins) and
    /// safe from any thread; the outcome then reports `cancelled`.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use cuprum::Command;
    /// use cuprum::exec::ExecSpec;
    /// let run = ExecSpec::command(Command::new("sleep").arg("30")).spawn()?;
    /// run.cancel(Duration::from_millis(100));
    /// let outcome = run.wait();
    /// assert!(outcome.cancelled);
    /// assert_eq!(outcome.stages[0].exit_code, -15);
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    pub fn cancel(&self, grace: Duration) {
        self.shared.request_cancel(grace);
    }

    /// Whether the outcome has been published.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.shared.is_done()
    }

    /// The outcome, once published; `None` before, or if already taken.
    #[must_use]
    pub fn take_outcome(&self) -> Option<Outcome> {
        self.shared.take_outcome()
    }

    /// Waits for the end of the execution, discarding events, and returns
    /// its outcome.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::Command;
    /// use cuprum::exec::ExecSpec;
    /// let outcome = ExecSpec::command(Command::new("false")).spawn()?.wait();
    /// assert_eq!(outcome.stages[0].exit_code, 1);
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    #[must_use]
    pub fn wait(self) -> Outcome {
        loop {
            if self.wait_events(None).finished {
                if let Some(outcome) = self.take_outcome() {
                    return outcome;
                }
            }
        }
    }
}

impl Drop for Execution {
    fn drop(&mut self) {
        if !self.shared.is_done() {
            self.shared.request_cancel(self.grace);
        }
    }
}
