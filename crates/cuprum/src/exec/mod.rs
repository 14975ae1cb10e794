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

mod checked;
mod echo;
mod event;
mod fault;
mod hub;
mod live;
mod notify;
mod outcome;
mod reactor;
mod redirect;
mod relay;
mod shared;
mod spawn;
mod spec;
mod stage;
mod start;
mod streams;
mod supervisor;

use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub use event::{Event, EventKind, StdinOp, Stream};
pub use hub::Hub;
pub use live::{cut_lines, LineCutter, LiveInput, LiveOutput, DEFAULT_LIVE_BUFFER};
pub use outcome::{Captured, Outcome, StageOutcome};
pub use redirect::Redirect;
pub use shared::Batch;
pub use spec::{Decode, Echo, ExecSpec, Output, RelayMethod, Stdin, Wake};

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
        let grace = self.cancel_grace;
        let shared = shared::Shared::new(self.wake);
        let supervisor = start::start(&shared, self)?;
        // If the reactor cannot start, the supervisor is dropped, which kills
        // and reaps the stages: nothing is left running.
        reactor::adopt(supervisor)?;
        Ok(Execution::new(shared, grace, None))
    }

    /// Like [`spawn`](Self::spawn), but without a supervisor thread: the
    /// thread that waits on the handle ([`Execution::wait_events`],
    /// [`Execution::wait`]) supervises the run while it waits. This saves a
    /// wake-up per run for callers that block anyway; a handle driven this
    /// way must be waited on (or dropped, which cancels it and finishes the
    /// teardown on the engine's reactor thread).
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn).
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::Command;
    /// use cuprum::exec::{ExecSpec, Output};
    /// let outcome = ExecSpec::command(Command::new("echo").arg("inline"))
    ///     .stdout(Output::capture())
    ///     .spawn_inline()?
    ///     .wait();
    /// assert_eq!(outcome.stages[0].stdout.as_ref().unwrap().as_text(), Some("inline\n"));
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    pub fn spawn_inline(self) -> Result<Execution> {
        let grace = self.cancel_grace;
        let shared = shared::Shared::new(self.wake);
        let supervisor = start::start(&shared, self)?;
        Ok(Execution::new(shared, grace, Some(supervisor)))
    }

    /// Validates the spec and returns at once; the stages are spawned on the
    /// engine's spawner thread, so the caller (an event loop, say) never
    /// waits for `fork`/`exec`. Start events carry the pids; a stage that
    /// cannot be spawned is reported as the [`Outcome::error`] (nothing is
    /// left running then).
    ///
    /// # Errors
    ///
    /// Whatever can be checked before spawning:
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) (a
    /// NUL byte, an illegal variable name, an empty pipeline, a bad
    /// `pass_fds`),
    /// [`ErrorKind::BadWorkingDirectory`](crate::ErrorKind::BadWorkingDirectory),
    /// and [`ErrorKind::ProgramNotFound`](crate::ErrorKind::ProgramNotFound)
    /// or [`ErrorKind::PermissionDenied`](crate::ErrorKind::PermissionDenied)
    /// when a stage's program cannot be bound to an executable file;
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the engine's threads
    /// cannot be started.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::{Command, ErrorKind};
    /// use cuprum::exec::ExecSpec;
    /// let outcome = ExecSpec::command(Command::new("true")).submit()?.wait();
    /// assert_eq!(outcome.stages[0].exit_code, 0);
    /// let missing = ExecSpec::command(Command::new("no-such-program-here")).submit();
    /// assert_eq!(missing.unwrap_err().kind(), ErrorKind::ProgramNotFound);
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    pub fn submit(mut self) -> Result<Execution> {
        start::validate(&mut self)?;
        let grace = self.cancel_grace;
        let shared = shared::Shared::new(self.wake);
        reactor::submit(std::sync::Arc::clone(&shared), self)?;
        Ok(Execution::new(shared, grace, None))
    }
}

/// A running execution (see the [module documentation](self)).
#[derive(Debug)]
pub struct Execution {
    shared: Arc<shared::Shared>,
    /// The process that started the run. A forked child inherits the handle
    /// but not the run: there, dropping it must not touch the children.
    owner: u32,
    grace: Duration,
    /// The supervisor of an inline execution, driven by waiting threads;
    /// `None` once finished, and always for a threaded execution.
    inline: Option<Mutex<Option<supervisor::Supervisor>>>,
}

impl std::fmt::Debug for supervisor::Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for shared::Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Execution {
    fn new(
        shared: Arc<shared::Shared>,
        grace: Duration,
        inline: Option<supervisor::Supervisor>,
    ) -> Self {
        let inline = inline.map(|supervisor| Mutex::new(Some(supervisor)));
        Self {
            shared,
            owner: std::process::id(),
            grace,
            inline,
        }
    }

    /// Supervises an inline execution on this thread until events wait, it
    /// finishes, or `deadline` passes. Returns `false` when there is nothing
    /// to drive here (a threaded run, a finished one, or another thread is
    /// already supervising): the caller then waits as for a threaded run.
    fn drive(&self, deadline: Option<Instant>) -> bool {
        let Some(cell) = &self.inline else {
            return false;
        };
        let Ok(mut guard) = cell.try_lock() else {
            return false;
        };
        let mut first = true;
        loop {
            let Some(supervisor) = guard.as_mut() else {
                return false;
            };
            if self.shared.has_pending() {
                return true;
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            // At least one round, so a zero deadline still makes progress.
            if !first && left.is_some_and(|left| left.is_zero()) {
                return true;
            }
            first = false;
            if supervisor.advance(left) {
                *guard = None;
                return true;
            }
        }
    }

    /// The process id of every stage, in stage order (empty until the stages
    /// of a [submitted](ExecSpec::submit) run are running).
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
    pub fn pids(&self) -> Vec<u32> {
        self.shared.pids()
    }

    /// The consumer's end of the final stage's stdout, when it was spawned
    /// with [`Output::live`].
    #[must_use]
    pub fn live_stdout(&self) -> Option<LiveOutput> {
        let buf = self.shared.live().stdout?;
        Some(LiveOutput::new(buf, Arc::clone(&self.shared)))
    }

    /// The consumer's end of stderr (every stage's, for a pipeline), when it
    /// was spawned with [`Output::live`].
    #[must_use]
    pub fn live_stderr(&self) -> Option<LiveOutput> {
        let buf = self.shared.live().stderr?;
        Some(LiveOutput::new(buf, Arc::clone(&self.shared)))
    }

    /// The writer's end of the first stage's stdin, when it was spawned
    /// with [`Stdin::Live`].
    #[must_use]
    pub fn live_stdin(&self) -> Option<LiveInput> {
        let buf = self.shared.live().stdin?;
        Some(LiveInput::new(buf, Arc::clone(&self.shared)))
    }

    /// A descriptor that is readable whenever events or the outcome wait
    /// (an `eventfd` on Linux). Taking events clears it. It is made on the
    /// first call: a run that is only waited on never needs one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the descriptor cannot be
    /// created (the process is out of descriptors). A run may have both a
    /// notify descriptor and a [hub](Self::watch): each is signalled.
    ///
    /// # Example
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use cuprum::Command;
    /// use cuprum::exec::ExecSpec;
    /// let run = ExecSpec::command(Command::new("true")).spawn()?;
    /// assert!(run.notify_fd()?.as_raw_fd() >= 0);
    /// run.wait();
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    pub fn notify_fd(&self) -> Result<BorrowedFd<'_>> {
        self.shared
            .notify_fd()
            .map_err(|e| crate::Error::io(e, "create the notify descriptor"))
    }

    /// Has `hub` signal this run's caller: from now on `token` shows up in
    /// [`Hub::take_ready`] whenever events or the outcome wait (at once if
    /// they already do). Watching again replaces the hub and token; a
    /// notify descriptor, if the run has one, is signalled as well.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::Command;
    /// use cuprum::exec::{ExecSpec, Hub};
    /// let hub = Hub::new()?;
    /// let run = ExecSpec::command(Command::new("true")).spawn()?;
    /// run.watch(&hub, 1);
    /// assert_eq!(run.wait().stages[0].exit_code, 0);
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    pub fn watch(&self, hub: &Hub, token: u64) {
        self.shared.watch(hub, token);
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
        self.drive(Some(Instant::now()));
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
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        if self.drive(deadline) {
            return self.shared.take();
        }
        self.shared
            .wait(deadline.map(|d| d.saturating_duration_since(Instant::now())))
    }

    /// Tears the execution down: SIGTERM to every stage's process group,
    /// SIGKILL after `grace`. Safe from any thread and idempotent; a later
    /// call can only bring the SIGKILL forward (a shorter grace), so a
    /// second interrupt can skip the rest of the grace period. The outcome
    /// then reports `cancelled`.
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

    /// Answers an [`EventKind::StdinWanted`] of a run whose stdin is
    /// [`Stdin::Stream`]: `Some(chunk)` is written next (the buffer is
    /// borrowed, never copied), `None` ends the input (the pipe is closed).
    /// The run holds one chunk at a time; a chunk fed after the feed
    /// stopped (the child closed its stdin, the run was cancelled) is
    /// dropped.
    ///
    /// # Example
    ///
    /// ```
    /// use std::sync::Arc;
    /// use cuprum::Command;
    /// use cuprum::exec::{EventKind, ExecSpec, Output, Stdin};
    ///
    /// let run = ExecSpec::command(Command::new("cat"))
    ///     .stdin(Stdin::Stream)
    ///     .stdout(Output::capture())
    ///     .spawn()?;
    /// let mut chunks = vec![b"one ".to_vec(), b"two".to_vec()].into_iter();
    /// loop {
    ///     let batch = run.wait_events(None);
    ///     for event in &batch.events {
    ///         if matches!(event.kind, EventKind::StdinWanted) {
    ///             let next = chunks.next().map(|c| Arc::new(c) as Arc<dyn AsRef<[u8]> + Send + Sync>);
    ///             run.feed_stdin(next);
    ///         }
    ///     }
    ///     if batch.finished {
    ///         break;
    ///     }
    /// }
    /// let outcome = run.take_outcome().unwrap();
    /// assert_eq!(outcome.stages[0].stdout.as_ref().unwrap().as_text(), Some("one two"));
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    pub fn feed_stdin(&self, chunk: Option<Arc<dyn AsRef<[u8]> + Send + Sync>>) {
        self.shared.feed_stdin(match chunk {
            Some(data) => streams::Chunk::Data(data),
            None => streams::Chunk::End,
        });
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
        if self.owner != std::process::id() {
            // Inherited through fork(): the run belongs to the parent.
            if let Some(cell) = self.inline.take() {
                std::mem::forget(cell);
            }
            return;
        }
        if self.shared.is_done() {
            drop(self.inline.take());
            // Every descriptor of a finished run is closed before its
            // outcome is published, except its own notify descriptor, which
            // goes with the run's shared state. The reactor thread lets go
            // of that state right after publishing; wait for that moment,
            // so the descriptor is closed when this handle is. (A run
            // watched by a hub has none: nothing to wait for.)
            if !self.shared.has_notify_fd() {
                return;
            }
            let began = Instant::now();
            while Arc::strong_count(&self.shared) > 1 && began.elapsed() < Duration::from_secs(1) {
                std::thread::yield_now();
            }
            return;
        }
        self.shared.request_cancel(self.grace);
        // An inline run nobody waits on any more is finished in the
        // background, so its children are still terminated and reaped.
        let supervisor = self
            .inline
            .take()
            .and_then(|cell| cell.into_inner().unwrap_or_else(PoisonError::into_inner));
        if let Some(supervisor) = supervisor {
            // If the reactor cannot take it, the supervisor is dropped, which
            // kills and reaps the stages.
            let _ = reactor::adopt(supervisor);
        }
    }
}
