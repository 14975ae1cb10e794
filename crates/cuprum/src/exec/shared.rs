//! State shared between the supervisor thread and the [`Execution`] handle.
//!
//! [`Execution`]: super::Execution

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use super::event::{Event, EventKind};
use super::hub::{Hub, WeakHub};
use super::live::{InBuf, OutBuf};
use super::notify::Notifier;
use super::outcome::Outcome;
use super::spec::Wake;
use super::streams::Chunk;

/// A batch of events taken from an execution.
#[derive(Debug, Default)]
pub struct Batch {
    /// The events, in the order they happened.
    pub events: Vec<Event>,
    /// `true` once the execution has ended and this batch holds its last
    /// events; the outcome is then ready.
    pub finished: bool,
}

#[derive(Default)]
struct State {
    events: Vec<Event>,
    /// Whether a waiting event needs the caller's answer (a streamed
    /// stdin asking for its next chunk): it wakes the caller whatever the
    /// [`Wake`] setting.
    asks: bool,
    outcome: Option<Outcome>,
    done: bool,
    /// Threads blocked in [`Shared::wait`]: the condition variable is
    /// notified only when there are some (a notification is a system call).
    waiters: usize,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    cond: Condvar,
    /// Readable while events or the outcome wait for the caller; made on
    /// first use. Until it or `hub` is asked for (a blocking caller waits on
    /// the condition variable, or supervises inline) no system call is made
    /// per batch.
    notifier: OnceLock<Notifier>,
    /// The hub that learns (with this run's token) whenever events or the
    /// outcome wait, once the run is watched; held weakly, so the hub closes
    /// when its owner drops it.
    hub: Mutex<Option<(WeakHub, u64)>>,
    /// Wakes the supervisor (cancel requests, stdin chunks, consumed live
    /// data). The supervisor opens it when it starts (on the engine's thread
    /// for a submitted run) and closes it before it publishes the outcome,
    /// so a finished run holds no descriptor of its own here.
    control: Mutex<Option<Notifier>>,
    /// When a requested cancel sends SIGKILL (the earliest asked for).
    cancel: Mutex<Option<Instant>>,
    /// Every stage's pid, once the stages are running.
    pids: Mutex<Vec<u32>>,
    /// The caller's answer to the last `StdinWanted`, until the supervisor
    /// takes it.
    stdin: Mutex<Option<Chunk>>,
    /// The live streams of the run (set when it starts).
    live: Mutex<LiveEnds>,
    /// `false` under [`Wake::Finish`]: events wait for the finishing batch
    /// without waking anyone.
    wake_on_events: bool,
}

/// The consumer ends of a run's live streams.
#[derive(Default, Clone)]
pub(crate) struct LiveEnds {
    pub(crate) stdin: Option<Arc<InBuf>>,
    pub(crate) stdout: Option<Arc<OutBuf>>,
    pub(crate) stderr: Option<Arc<OutBuf>>,
}

impl Shared {
    pub(crate) fn new(wake: Wake) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::default(),
            cond: Condvar::new(),
            notifier: OnceLock::new(),
            hub: Mutex::new(None),
            control: Mutex::new(None),
            cancel: Mutex::new(None),
            pids: Mutex::new(Vec::new()),
            stdin: Mutex::new(None),
            live: Mutex::default(),
            wake_on_events: wake == Wake::Events,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update
        // is a single push or assignment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn push(&self, events: Vec<Event>) {
        let (woke, wakes, waiting) = {
            let mut state = self.lock();
            let woke = self.wakes(&state);
            state.asks |= events
                .iter()
                .any(|event| matches!(event.kind, EventKind::StdinWanted));
            state.events.extend(events);
            (woke, self.wakes(&state), state.waiters > 0)
        };
        if wakes {
            // The descriptor is set once per batch the caller has to take.
            if !woke {
                self.signal();
            }
            self.notify_waiters(waiting);
        }
    }

    fn notify_waiters(&self, waiting: bool) {
        if waiting {
            self.cond.notify_all();
        }
    }

    /// The stages are running: record their pids and publish the start
    /// events.
    pub(crate) fn started(&self, events: Vec<Event>, pids: Vec<u32>) {
        *self.pids.lock().unwrap_or_else(PoisonError::into_inner) = pids;
        self.push(events);
    }

    pub(crate) fn set_live(&self, live: LiveEnds) {
        *self.live.lock().unwrap_or_else(PoisonError::into_inner) = live;
    }

    pub(crate) fn live(&self) -> LiveEnds {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Wakes the supervisor for another round (a consumer made room, or a
    /// writer handed over data).
    pub(crate) fn wake_supervisor(&self) {
        self.set_control();
    }

    /// Tells an event loop that live data moved (the notify descriptor
    /// becomes readable).
    pub(crate) fn signal_live(&self) {
        self.signal();
        let waiting = self.lock().waiters > 0;
        self.notify_waiters(waiting);
    }

    pub(crate) fn pids(&self) -> Vec<u32> {
        self.pids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Publishes the outcome. The control descriptor is closed first: once
    /// a caller sees the run finished, nothing of it holds a descriptor here
    /// but its own notify descriptor.
    pub(crate) fn finish(&self, events: Vec<Event>, outcome: Outcome) {
        self.close_control();
        let waiting = {
            let mut state = self.lock();
            state.events.extend(events);
            state.outcome = Some(outcome);
            state.done = true;
            // Signalled under the lock: whoever sees the run finished sees
            // it after this run last touched its hub.
            self.signal();
            state.waiters > 0
        };
        self.notify_waiters(waiting);
    }

    /// Whether events (that wake the caller) or the outcome wait to be
    /// taken.
    pub(crate) fn has_pending(&self) -> bool {
        let state = self.lock();
        self.wakes(&state)
    }

    fn wakes(&self, state: &State) -> bool {
        // Under `Wake::Finish` a backlog the supervisor would stop reading
        // at still wakes the caller, so unconsumed events never stall a run.
        state.done
            || state.asks
            || (!state.events.is_empty()
                && (self.wake_on_events || state.events.len() > super::supervisor::EVENT_BACKLOG))
    }

    pub(crate) fn backlog(&self) -> usize {
        self.lock().events.len()
    }

    fn signal(&self) {
        if let Some(notifier) = self.notifier.get() {
            notifier.set();
        }
        if let Some((hub, token)) = self.hub().as_ref() {
            hub.post(*token);
        }
    }

    pub(crate) fn notify_fd(&self) -> io::Result<BorrowedFd<'_>> {
        if let Some(notifier) = self.notifier.get() {
            return Ok(notifier.fd());
        }
        let installed = self.notifier.set(Notifier::new()?).is_ok();
        let notifier = self
            .notifier
            .get()
            .ok_or_else(|| io::Error::other("notifier unset"))?;
        // Set at once if something already waits: a push that found no
        // notifier took the state lock before `has_pending` did, which then
        // sees what it pushed.
        if installed && self.has_pending() {
            notifier.set();
        }
        Ok(notifier.fd())
    }

    /// Has `hub` learn of this run (with `token`) from now on, instead of
    /// any hub before; posts at once if something already waits.
    pub(crate) fn watch(&self, hub: &Hub, token: u64) {
        *self.hub() = Some((hub.downgrade(), token));
        // As for the notifier: a push that missed the new hub is seen here.
        if self.has_pending() {
            hub.post(token);
        }
    }

    fn hub(&self) -> MutexGuard<'_, Option<(WeakHub, u64)>> {
        self.hub.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the run's own notify descriptor exists: it is closed with
    /// the last holder of this state.
    pub(crate) fn has_notify_fd(&self) -> bool {
        self.notifier.get().is_some()
    }

    fn control(&self) -> MutexGuard<'_, Option<Notifier>> {
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens the supervisor's control descriptor; returns its number (valid
    /// until the outcome is published: [`finish`](Self::finish) closes it).
    pub(crate) fn open_control(&self) -> io::Result<RawFd> {
        let notifier = Notifier::new()?;
        let fd = notifier.fd().as_raw_fd();
        *self.control() = Some(notifier);
        Ok(fd)
    }

    fn close_control(&self) {
        drop(self.control().take());
    }

    fn set_control(&self) {
        // Before the supervisor opened it, a request is seen at its first
        // round; after it closed it, the run is over.
        if let Some(control) = self.control().as_ref() {
            control.set();
        }
    }

    pub(crate) fn clear_control(&self) {
        if let Some(control) = self.control().as_ref() {
            control.clear();
        }
    }

    /// Asks for a teardown with SIGKILL `grace` from now. A later request
    /// may only bring the SIGKILL forward (a second Ctrl-C skips the rest of
    /// the grace).
    pub(crate) fn request_cancel(&self, grace: Duration) {
        let kill = super::supervisor::later(Instant::now(), grace);
        let mut cancel = self.cancel.lock().unwrap_or_else(PoisonError::into_inner);
        if cancel.is_none_or(|at| kill < at) {
            *cancel = Some(kill);
            drop(cancel);
            self.set_control();
        }
    }

    /// Hands the next chunk of a streamed stdin to the supervisor and wakes
    /// it.
    pub(crate) fn feed_stdin(&self, chunk: Chunk) {
        *self.stdin.lock().unwrap_or_else(PoisonError::into_inner) = Some(chunk);
        self.set_control();
    }

    pub(crate) fn take_stdin(&self) -> Option<Chunk> {
        self.stdin
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    pub(crate) fn cancel_requested(&self) -> Option<Instant> {
        *self.cancel.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn is_done(&self) -> bool {
        self.lock().done
    }

    fn take_locked(&self, state: &mut State) -> Batch {
        if let Some(notifier) = self.notifier.get() {
            notifier.clear();
        }
        if state.events.len() > super::supervisor::EVENT_BACKLOG {
            // The supervisor stopped reading at this backlog: it resumes
            // now, not whenever it next looks.
            self.set_control();
        }
        state.asks = false;
        Batch {
            events: std::mem::take(&mut state.events),
            finished: state.done,
        }
    }

    pub(crate) fn take(&self) -> Batch {
        let mut state = self.lock();
        let batch = self.take_locked(&mut state);
        let waiting = state.waiters > 0;
        drop(state);
        self.notify_waiters(waiting);
        batch
    }

    pub(crate) fn wait(&self, timeout: Option<Duration>) -> Batch {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.lock();
        state.waiters += 1;
        while !self.wakes(&state) {
            state = match deadline {
                None => self
                    .cond
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    self.cond
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        state.waiters -= 1;
        let batch = self.take_locked(&mut state);
        let waiting = state.waiters > 0;
        drop(state);
        self.notify_waiters(waiting);
        batch
    }

    pub(crate) fn take_outcome(&self) -> Option<Outcome> {
        self.lock().outcome.take()
    }
}
