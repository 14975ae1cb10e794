//! One readiness descriptor for many executions.
//!
//! An event loop that drives many runs at once waits on a single [`Hub`]
//! instead of one notify descriptor per run: each run is
//! [watched](super::Execution::watch) with a token of the caller's choosing,
//! and the hub's descriptor is readable while any watched run has something
//! for its caller. [`Hub::take_ready`] says which.
//!
//! Compared with [`Execution::notify_fd`](super::Execution::notify_fd), a run
//! watched by a hub costs its caller no descriptor of its own (nothing to
//! create, register with the loop's poller, deregister and close per run),
//! and a burst of runs finishing together wakes the loop once.

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::notify::Notifier;
use crate::{Error, Result};

/// A readiness descriptor shared by many executions: each run is
/// [watched](super::Execution::watch) with a token of the caller's choosing,
/// the descriptor is readable while any watched run has something for its
/// caller, and [`take_ready`](Self::take_ready) says which. A run watched by
/// a hub costs its caller no descriptor of its own, and runs finishing
/// together wake the caller once.
///
/// Cloning a hub gives another handle to the same descriptor and token
/// list. Runs hold their hub weakly: the descriptor is closed when the last
/// clone is dropped, on the dropping thread, even while runs watched through
/// it go on (they then signal nobody). A finished run has let go of it by the
/// time its caller can see that it finished.
///
/// # Example
///
/// ```
/// use cuprum::Command;
/// use cuprum::exec::{ExecSpec, Hub};
///
/// let hub = Hub::new()?;
/// let run = ExecSpec::command(Command::new("true")).submit()?;
/// run.watch(&hub, 7);
/// // An event loop waits for `hub.fd()` to be readable, then takes the
/// // events of each run whose token is ready; this asks in a loop instead.
/// let mut finished = false;
/// while !finished {
///     if hub.take_ready().contains(&7) {
///         finished = run.take_events().finished;
///     } else {
///         std::thread::yield_now();
///     }
/// }
/// assert_eq!(run.take_outcome().unwrap().stages[0].exit_code, 0);
/// # Ok::<(), cuprum::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Set while `ready` holds a token (both change under its lock).
    notifier: Notifier,
    ready: Mutex<Vec<u64>>,
}

impl Hub {
    /// Creates a hub with nothing ready.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the descriptor cannot be
    /// created (the process is out of descriptors, say).
    pub fn new() -> Result<Self> {
        let notifier = Notifier::new().map_err(|e| Error::io(e, "create the hub's descriptor"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                notifier,
                ready: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The descriptor that is readable while a watched run has something
    /// for its caller (events to take, or its outcome).
    #[must_use]
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.inner.notifier.fd()
    }

    /// The tokens of the runs that have something for their caller since
    /// the last call, in the order they asked; clears the descriptor. A
    /// token may appear more than once; a run's caller then takes its
    /// events ([`Execution::take_events`](super::Execution::take_events)),
    /// which never blocks.
    #[must_use]
    pub fn take_ready(&self) -> Vec<u64> {
        let mut ready = self.lock();
        self.inner.notifier.clear();
        std::mem::take(&mut *ready)
    }

    /// Marks `token` ready and sets the descriptor.
    pub(crate) fn post(&self, token: u64) {
        let mut ready = self.lock();
        if ready.is_empty() {
            // Readable exactly while a token waits: set under the lock that
            // `take_ready` clears it under.
            self.inner.notifier.set();
        }
        ready.push(token);
    }

    /// A handle that does not keep the hub open.
    pub(crate) fn downgrade(&self) -> WeakHub {
        WeakHub(Arc::downgrade(&self.inner))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u64>> {
        // A push or a take leaves the list consistent even if a holder
        // panicked.
        self.inner
            .ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A run's hold on its hub: it posts while the hub is open.
#[derive(Debug)]
pub(crate) struct WeakHub(Weak<Inner>);

impl WeakHub {
    /// Posts `token` if the hub is still open. The strong reference taken
    /// for the post is dropped before this returns.
    pub(crate) fn post(&self, token: u64) {
        if let Some(inner) = self.0.upgrade() {
            Hub { inner }.post(token);
        }
    }
}

impl AsFd for Hub {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd()
    }
}
