//! The reactor: two engine threads that run every awaited execution of the
//! process, however many there are.
//!
//! - The **spawner** thread starts submitted runs ([`submit`]): spawning,
//!   pipe set-up and the start events happen there, never on the caller's
//!   thread (an event loop stays responsive while hundreds of runs start).
//! - The **reactor** thread supervises every started run with one
//!   readiness poller (`epoll` through the `polling` crate, level
//!   triggered): each run's [`Supervisor`] says which descriptors it waits
//!   on and until when; the reactor registers them, waits, and hands back
//!   what became ready. Nothing a supervisor does blocks (echo writes, stdin
//!   and relays are all non-blocking), so one slow run never stalls another.
//!
//! A panic while stepping one run tears that run down (its children are
//! killed and reaped) and reports it as the run's error; the reactor goes
//! on with the others.
//!
//! The engine state is per process: a child made by `fork()` inherits the
//! parent's memory but not its threads, so it starts a reactor of its own
//! on first use and leaves the parent's (and the parent's children) alone.

use std::collections::BTreeSet;
use std::os::fd::{BorrowedFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

use polling::{Event, Events, PollMode, Poller};

use super::outcome::Outcome;
use super::shared::Shared;
use super::spec::ExecSpec;
use super::start;
use super::supervisor::{Interest, Ready, Slot, Supervisor};
use crate::{Error, ErrorKind, Result};

/// The engine threads of this process.
struct Engine {
    poller: Poller,
    /// Started runs waiting to be adopted by the reactor thread.
    adopted: Mutex<Vec<Supervisor>>,
    /// Submitted runs waiting to be spawned.
    queued: Mutex<Queue>,
    queued_ready: Condvar,
}

/// The spawner's queue, and whether the spawner sleeps on it: a submission
/// wakes it only then (a notification is a system call even with nobody
/// waiting, and a burst of starts queues many runs while it is busy).
#[derive(Default)]
struct Queue {
    runs: Vec<(Arc<Shared>, ExecSpec)>,
    sleeping: bool,
}

static ENGINE: AtomicPtr<Engine> = AtomicPtr::new(std::ptr::null_mut());
static OWNER: AtomicU32 = AtomicU32::new(0);

/// This process's engine, started on first use (and anew after `fork()`).
fn engine() -> Result<&'static Engine> {
    let pid = std::process::id();
    let current = ENGINE.load(Ordering::Acquire);
    if !current.is_null() && OWNER.load(Ordering::Acquire) == pid {
        // SAFETY: engines are leaked on creation and never freed.
        return Ok(unsafe { &*current });
    }
    static START: Mutex<()> = Mutex::new(());
    let _guard = START.lock().unwrap_or_else(PoisonError::into_inner);
    let current = ENGINE.load(Ordering::Acquire);
    if !current.is_null() && OWNER.load(Ordering::Acquire) == pid {
        // SAFETY: as above.
        return Ok(unsafe { &*current });
    }
    let poller = Poller::new().map_err(|e| Error::io(e, "create the engine's poller"))?;
    // Leaked on purpose: one per process, alive as long as the process. A
    // parent's engine inherited through fork() is leaked too, never dropped:
    // dropping it would tear down the parent's runs from the child.
    let engine: &'static Engine = Box::leak(Box::new(Engine {
        poller,
        adopted: Mutex::new(Vec::new()),
        queued: Mutex::new(Queue::default()),
        queued_ready: Condvar::new(),
    }));
    std::thread::Builder::new()
        .name("cuprum-reactor".into())
        .spawn(move || react(engine))
        .map_err(|e| Error::io(e, "start the engine's reactor thread"))?;
    std::thread::Builder::new()
        .name("cuprum-spawner".into())
        .spawn(move || spawn_queued(engine))
        .map_err(|e| Error::io(e, "start the engine's spawner thread"))?;
    ENGINE.store(std::ptr::from_ref(engine).cast_mut(), Ordering::Release);
    OWNER.store(pid, Ordering::Release);
    Ok(engine)
}

/// Hands a started run to the reactor thread.
pub(crate) fn adopt(supervisor: Supervisor) -> Result<()> {
    let engine = engine()?;
    engine
        .adopted
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(supervisor);
    engine
        .poller
        .notify()
        .map_err(|e| Error::io(e, "wake the engine's reactor"))
}

/// Queues `spec` to be spawned on the spawner thread; its start events (or
/// its spawn error, as the outcome) arrive through `shared`.
pub(crate) fn submit(shared: Arc<Shared>, spec: ExecSpec) -> Result<()> {
    let engine = engine()?;
    let sleeping = {
        let mut queue = engine.queued.lock().unwrap_or_else(PoisonError::into_inner);
        queue.runs.push((shared, spec));
        std::mem::take(&mut queue.sleeping)
    };
    if sleeping {
        engine.queued_ready.notify_one();
    }
    Ok(())
}

fn spawn_queued(engine: &'static Engine) {
    loop {
        let batch = {
            let mut queue = engine.queued.lock().unwrap_or_else(PoisonError::into_inner);
            while queue.runs.is_empty() {
                // Cleared by the submission that wakes us (under this lock,
                // so no submission is missed between the check and the wait).
                queue.sleeping = true;
                queue = engine
                    .queued_ready
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            queue.sleeping = false;
            std::mem::take(&mut queue.runs)
        };
        for (shared, spec) in batch {
            let started = catch_unwind(AssertUnwindSafe(|| start::start(&shared, spec)))
                .unwrap_or_else(|_| {
                    Err(Error::new(
                        ErrorKind::Internal,
                        "the engine panicked while starting the run; nothing was left running",
                    ))
                });
            let failed = match started {
                Ok(supervisor) => adopt(supervisor).err(),
                Err(err) => Some(err),
            };
            if let Some(err) = failed {
                shared.finish(
                    Vec::new(),
                    Outcome {
                        stages: Vec::new(),
                        timed_out: false,
                        cancelled: false,
                        failure_index: None,
                        error: Some(err),
                    },
                );
            }
        }
    }
}

/// One run on the reactor thread, with what is registered for it.
struct Run {
    supervisor: Supervisor,
    registered: Vec<Interest>,
    wake_at: Option<Instant>,
}

/// Keys carry the run's slot in the upper bits and the descriptor's role
/// in the lower 16.
const SLOT_BITS: u32 = 16;

fn key(run: usize, slot: Slot) -> usize {
    let (kind, index) = match slot {
        Slot::Control => (0, 0),
        Slot::Reader(i) => (1, i),
        Slot::Sink(i) => (2, i),
        Slot::Feeder => (3, 0),
        Slot::Stage(i) => (4, i),
        Slot::RelayFrom(i) => (5, i),
        Slot::RelayTo(i) => (6, i),
    };
    (run << SLOT_BITS) | (kind << 13) | (index & 0x1fff)
}

fn slot_of(key: usize) -> Slot {
    let index = key & 0x1fff;
    match (key >> 13) & 0x7 {
        1 => Slot::Reader(index),
        2 => Slot::Sink(index),
        3 => Slot::Feeder,
        4 => Slot::Stage(index),
        5 => Slot::RelayFrom(index),
        6 => Slot::RelayTo(index),
        _ => Slot::Control,
    }
}

struct Reactor {
    engine: &'static Engine,
    runs: Vec<Option<Run>>,
    free: Vec<usize>,
    timers: BTreeSet<(Instant, usize)>,
    scratch: Vec<Interest>,
}

fn react(engine: &'static Engine) {
    let mut reactor = Reactor {
        engine,
        runs: Vec::new(),
        free: Vec::new(),
        timers: BTreeSet::new(),
        scratch: Vec::new(),
    };
    let mut events = Events::new();
    let mut ready: Vec<(usize, Slot, Ready)> = Vec::new();
    loop {
        let adopted = std::mem::take(
            &mut *engine
                .adopted
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for supervisor in adopted {
            reactor.insert(supervisor);
        }
        let now = Instant::now();
        let timeout = reactor
            .timers
            .first()
            .map(|(at, _)| at.saturating_duration_since(now));
        events.clear();
        if engine.poller.wait(&mut events, timeout).is_err() {
            // Only EINTR-like transient failures are expected; the loop
            // retries (polling already restarts interrupted waits).
            continue;
        }
        ready.clear();
        ready.extend(events.iter().map(|event| {
            let error = event.readable || event.is_err() == Some(true);
            (event.key >> SLOT_BITS, slot_of(event.key), Ready { error })
        }));
        ready.sort_by_key(|(run, _, _)| *run);
        let mut at = 0;
        while at < ready.len() {
            let run = ready[at].0;
            let end = ready[at..]
                .iter()
                .position(|(r, _, _)| *r != run)
                .map_or(ready.len(), |n| at + n);
            let slots: Vec<(Slot, Ready)> =
                ready[at..end].iter().map(|(_, s, r)| (*s, *r)).collect();
            reactor.step(run, &slots);
            at = end;
        }
        let now = Instant::now();
        while let Some(&(when, run)) = reactor.timers.first() {
            if when > now {
                break;
            }
            reactor.timers.pop_first();
            if reactor
                .runs
                .get(run)
                .is_some_and(|r| r.as_ref().is_some_and(|r| r.wake_at == Some(when)))
            {
                if let Some(Some(r)) = reactor.runs.get_mut(run) {
                    r.wake_at = None;
                }
                reactor.step(run, &[]);
            }
        }
    }
}

impl Reactor {
    fn insert(&mut self, supervisor: Supervisor) {
        let run = Run {
            supervisor,
            registered: Vec::new(),
            wake_at: None,
        };
        let slot = if let Some(slot) = self.free.pop() {
            self.runs[slot] = Some(run);
            slot
        } else {
            self.runs.push(Some(run));
            self.runs.len() - 1
        };
        self.step(slot, &[]);
    }

    /// Hands `ready` to run `slot`, then brings its registrations and timer
    /// up to date, or retires it once it is over.
    fn step(&mut self, slot: usize, ready: &[(Slot, Ready)]) {
        let Some(Some(run)) = self.runs.get_mut(slot) else {
            return;
        };
        let stepped = catch_unwind(AssertUnwindSafe(|| {
            if !ready.is_empty() {
                run.supervisor.on_ready(ready);
            }
            run.supervisor.tick(Instant::now())
        }));
        let finished = match stepped {
            Ok(finished) => finished,
            Err(_) => {
                run.supervisor.fail_internal();
                true
            }
        };
        if finished {
            self.retire(slot);
            return;
        }
        let mut wanted = std::mem::take(&mut self.scratch);
        wanted.clear();
        run.supervisor.interests_into(&mut wanted);
        let poller = &self.engine.poller;
        // Deregister what is no longer wanted. A descriptor the supervisor
        // already closed left the poller by itself; its error is ignored.
        for old in &run.registered {
            if !wanted.iter().any(|w| w.fd == old.fd) {
                let _ = poller.delete(borrow(old.fd));
            }
        }
        for want in &wanted {
            let interest = Event::new(key(slot, want.slot), want.read, want.write);
            match run.registered.iter().find(|r| r.fd == want.fd) {
                Some(old)
                    if old.read == want.read
                        && old.write == want.write
                        && old.slot == want.slot => {}
                Some(_) => {
                    let _ = poller.modify_with_mode(borrow(want.fd), interest, PollMode::Level);
                }
                None => {
                    // SAFETY: the supervisor owns `want.fd` and keeps it open
                    // until it either closes it (which removes it from the
                    // poller) or the run is retired, when it is deleted
                    // before the supervisor is dropped.
                    let _ = unsafe { poller.add_with_mode(want.fd, interest, PollMode::Level) };
                }
            }
        }
        std::mem::swap(&mut run.registered, &mut wanted);
        self.scratch = wanted;
        let wake_at = run.supervisor.next_wakeup(Instant::now());
        if wake_at != run.wake_at {
            if let Some(old) = run.wake_at {
                self.timers.remove(&(old, slot));
            }
            if let Some(at) = wake_at {
                self.timers.insert((at, slot));
            }
            run.wake_at = wake_at;
        }
    }

    /// Deregisters a finished run, then publishes its outcome.
    fn retire(&mut self, slot: usize) {
        let Some(Some(mut run)) = self.runs.get_mut(slot).map(Option::take) else {
            return;
        };
        for old in &run.registered {
            let _ = self.engine.poller.delete(borrow(old.fd));
        }
        if let Some(at) = run.wake_at {
            self.timers.remove(&(at, slot));
        }
        run.supervisor.publish();
        self.free.push(slot);
    }
}

fn borrow(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: only used for `modify`/`delete` of a registration the reactor
    // made; the kernel looks the number up and fails harmlessly if it is no
    // longer open.
    unsafe { BorrowedFd::borrow_raw(fd) }
}
