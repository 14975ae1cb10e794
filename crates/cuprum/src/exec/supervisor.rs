//! The supervisor: one thread per execution that multiplexes every
//! descriptor of the run with `poll(2)`.
//!
//! It reads the piped output streams (capture, echo, line events), feeds
//! stdin, notices child exits (a pidfd per stage on Linux, `waitpid`
//! polling elsewhere), watches relay threads, and enforces the lifecycle:
//!
//! - **Timeout**: once the deadline passes while a stage is still running,
//!   every live stage's process group gets SIGTERM; after `cancel_grace`
//!   every terminated group gets SIGKILL (grandchildren included); children
//!   are reaped and output drained to end of file.
//! - **Cancel**: the same teardown, on request from any thread.
//! - **Fail-fast**: the first stage observed to exit non-zero (and not
//!   excused as an early exit) sets the failure index; unless it is the last
//!   stage, every other live stage is torn down the same way.
//! - **Early exit**: a stage that dies of SIGPIPE, or fails after its relay
//!   saw a broken pipe, once its downstream stage has exited, keeps its exit
//!   code but is not a failure.
//!
//! The supervisor ends only when every child is reaped, every stream is at
//! end of file, stdin is closed and every relay has returned; it then
//! publishes the [`Outcome`].

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::event::{Event, EventKind, Stream};
use super::outcome::{Captured, Outcome, StageOutcome};
use super::shared::Shared;
use super::spawn::Child;
use super::spec::Decode;
use super::streams::{self, Feeder, Reader};
use super::sys;
use crate::stream::PumpReport;
use crate::{Error, Result};

/// How often child exits are checked where no pidfd is available.
const WAITPID_TICK: Duration = Duration::from_millis(5);
/// Pending events above which output reading pauses until the caller takes
/// them (backpressure for line events).
const EVENT_BACKLOG: usize = 1 << 16;

/// One spawned stage.
pub(crate) struct StageProc {
    pub(crate) child: Child,
    pub(crate) pid: u32,
    pub(crate) pidfd: Option<OwnedFd>,
    pub(crate) started: Instant,
    exit: Option<(i32, Instant)>,
    terminated: bool,
    early_exit: bool,
}

impl StageProc {
    pub(crate) fn new(child: Child, started: Instant) -> Self {
        let pid = child.id();
        Self {
            pidfd: sys::pidfd_open(pid),
            pid,
            child,
            started,
            exit: None,
            terminated: false,
            early_exit: false,
        }
    }

    fn running(&self) -> bool {
        self.exit.is_none()
    }
}

/// A relay thread between two stages.
pub(crate) struct Relay {
    pub(crate) upstream: usize,
    pub(crate) handle: Option<JoinHandle<Result<PumpReport>>>,
    pub(crate) downstream_closed: Arc<AtomicBool>,
    /// Set by the relay thread just before it wakes the supervisor and
    /// returns. `JoinHandle::is_finished` turns true only a moment later, so
    /// the supervisor must not rely on it alone: a wake-up that found the
    /// thread still returning would be lost and the run would wait forever.
    pub(crate) done: Arc<AtomicBool>,
}

/// Everything the supervisor thread owns.
pub(crate) struct Supervisor {
    pub(crate) shared: Arc<Shared>,
    pub(crate) stages: Vec<StageProc>,
    pub(crate) readers: Vec<Reader>,
    pub(crate) feeder: Option<Feeder>,
    pub(crate) relays: Vec<Relay>,
    pub(crate) deadline: Option<Instant>,
    pub(crate) grace: Duration,
    pub(crate) decode: Decode,
    kill_at: Option<Instant>,
    timed_out: bool,
    cancelled: bool,
    failure_index: Option<usize>,
    pub(super) error: Option<Error>,
    pub(super) events: Vec<Event>,
    pub(super) scratch: Vec<u8>,
    pollfds: Vec<libc::pollfd>,
    slots: Vec<Slot>,
}

/// What the supervisor waits on in one round.
#[derive(Clone, Copy)]
enum Slot {
    Control,
    Reader(usize),
    Feeder,
    Stage(usize),
}

impl Supervisor {
    #[expect(
        clippy::too_many_arguments,
        reason = "assembled once by `spawn`; each part is distinct"
    )]
    pub(crate) fn new(
        shared: Arc<Shared>,
        stages: Vec<StageProc>,
        readers: Vec<Reader>,
        feeder: Option<Feeder>,
        relays: Vec<Relay>,
        deadline: Option<Instant>,
        grace: Duration,
        decode: Decode,
    ) -> Self {
        Self {
            shared,
            stages,
            readers,
            feeder,
            relays,
            deadline,
            grace,
            decode,
            kill_at: None,
            timed_out: false,
            cancelled: false,
            failure_index: None,
            error: None,
            events: Vec::new(),
            scratch: Vec::new(),
            pollfds: Vec::new(),
            slots: Vec::new(),
        }
    }

    /// Tears every stage down at once and reports `error` as the outcome's
    /// error (a later stage of the pipeline could not be spawned).
    pub(crate) fn abort(&mut self, error: Error) {
        self.error = Some(error);
        self.terminate_all(self.grace);
    }

    /// Runs the execution to completion and publishes its outcome.
    pub(crate) fn run(mut self) {
        while !self.advance(None) {}
    }

    /// Does one round of supervision, waiting at most `max_wait` (`None`:
    /// until something happens). Returns `true` once the outcome is
    /// published.
    pub(crate) fn advance(&mut self, max_wait: Option<Duration>) -> bool {
        match self.round(max_wait) {
            Ok(false) => {
                self.flush_events();
                false
            }
            Ok(true) => {
                self.publish();
                true
            }
            Err(err) => {
                self.fail(err);
                self.publish();
                true
            }
        }
    }

    /// The loop only fails if poll itself fails: tear everything down so no
    /// child is left behind, and report the error.
    fn fail(&mut self, err: Error) {
        self.terminate_all(Duration::ZERO);
        for stage in &mut self.stages {
            sys::kill_group(stage.pid, libc::SIGKILL);
            if stage.running() {
                let status = stage.child.wait().ok();
                let code = status.map_or(-1, exit_code);
                stage.exit = Some((code, Instant::now()));
            }
        }
        self.error.get_or_insert(err);
        self.readers.clear();
        self.feeder = None;
        self.join_relays(true);
    }

    fn publish(&mut self) {
        let outcome = self.outcome();
        self.shared
            .finish(std::mem::take(&mut self.events), outcome);
    }

    fn round(&mut self, max_wait: Option<Duration>) -> Result<bool> {
        let now = Instant::now();
        if let Some(grace) = self.shared.cancel_requested() {
            if !self.cancelled && self.stages.iter().any(StageProc::running) {
                self.cancelled = true;
                self.terminate_all(grace);
            }
        }
        if let Some(deadline) = self.deadline {
            if now >= deadline && self.stages.iter().any(StageProc::running) {
                self.deadline = None;
                self.timed_out = true;
                self.terminate_all(self.grace);
            }
        }
        if self.kill_at.is_some_and(|at| now >= at) {
            self.kill_at = None;
            for stage in self.stages.iter().filter(|s| s.terminated) {
                sys::kill_group(stage.pid, libc::SIGKILL);
            }
        }
        self.reap_without_pidfd();
        self.collect_relays();
        self.flush_events();
        if self.finished() {
            return Ok(true);
        }

        let mut pollfds = std::mem::take(&mut self.pollfds);
        let mut slots = std::mem::take(&mut self.slots);
        pollfds.clear();
        slots.clear();
        let mut push = |fd: i32, events: i16, slot: Slot| {
            pollfds.push(libc::pollfd {
                fd,
                events,
                revents: 0,
            });
            slots.push(slot);
        };
        push(
            self.shared.control_fd().as_raw_fd(),
            libc::POLLIN,
            Slot::Control,
        );
        let backlogged = self.shared.backlog() > EVENT_BACKLOG;
        if !backlogged {
            for (index, reader) in self.readers.iter().enumerate() {
                if let Some(fd) = &reader.fd {
                    push(fd.as_raw_fd(), libc::POLLIN, Slot::Reader(index));
                }
            }
        }
        if let Some(feeder) = &self.feeder {
            push(feeder.fd.as_raw_fd(), libc::POLLOUT, Slot::Feeder);
        }
        for (index, stage) in self.stages.iter().enumerate() {
            if let (true, Some(pidfd)) = (stage.running(), &stage.pidfd) {
                push(pidfd.as_raw_fd(), libc::POLLIN, Slot::Stage(index));
            }
        }
        let wait = match (self.next_wakeup(now, backlogged), max_wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let polled = sys::poll(&mut pollfds, wait).map_err(|err| Error::io(err, "poll"));
        if polled.is_ok() {
            // Downstream stages first, so an upstream stage that dies of a
            // broken pipe in the same round sees its reader already gone.
            for (pollfd, slot) in pollfds.iter().zip(&slots).rev() {
                if pollfd.revents == 0 {
                    continue;
                }
                match *slot {
                    Slot::Control => self.shared.clear_control(),
                    Slot::Reader(index) => self.read_stream(index),
                    Slot::Feeder => self.feed_stdin(),
                    Slot::Stage(index) => self.try_reap(index),
                }
            }
        }
        self.pollfds = pollfds;
        self.slots = slots;
        polled.map(|_| false)
    }

    fn next_wakeup(&self, now: Instant, backlogged: bool) -> Option<Duration> {
        let mut wait: Option<Duration> = None;
        let mut consider = |d: Duration| wait = Some(wait.map_or(d, |w| w.min(d)));
        if let Some(deadline) = self.deadline {
            consider(deadline.saturating_duration_since(now));
        }
        if let Some(kill_at) = self.kill_at {
            consider(kill_at.saturating_duration_since(now));
        }
        if backlogged || self.stages.iter().any(|s| s.running() && s.pidfd.is_none()) {
            consider(WAITPID_TICK);
        }
        wait
    }

    fn finished(&self) -> bool {
        self.stages.iter().all(|s| !s.running())
            && self.readers.iter().all(|r| r.fd.is_none())
            && self.feeder.is_none()
            && self.relays.iter().all(|r| r.handle.is_none())
    }

    /// SIGTERM to every live stage's group; SIGKILL to all terminated groups
    /// once `grace` has passed. Stops feeding stdin.
    fn terminate_all(&mut self, grace: Duration) {
        self.feeder = None;
        for stage in self
            .stages
            .iter_mut()
            .filter(|s| s.running() && !s.terminated)
        {
            stage.terminated = true;
            sys::kill_group(stage.pid, libc::SIGTERM);
        }
        let at = Instant::now() + grace;
        self.kill_at = Some(self.kill_at.map_or(at, |k| k.min(at)));
    }

    fn reap_without_pidfd(&mut self) {
        for index in 0..self.stages.len() {
            if self.stages[index].running() && self.stages[index].pidfd.is_none() {
                self.try_reap(index);
            }
        }
    }

    fn try_reap(&mut self, index: usize) {
        let stage = &mut self.stages[index];
        if !stage.running() {
            return;
        }
        let status = match stage.child.try_wait() {
            Ok(Some(status)) => status,
            Ok(None) => return,
            Err(err) => {
                // The child is gone from under us (someone else reaped it).
                self.error.get_or_insert(Error::io(err, "waitpid"));
                stage.exit = Some((-1, Instant::now()));
                stage.pidfd = None;
                return;
            }
        };
        let now = Instant::now();
        let code = exit_code(status);
        stage.exit = Some((code, now));
        stage.pidfd = None;
        let duration = now.saturating_duration_since(stage.started);
        self.events.push(Event {
            stage: index,
            kind: EventKind::Exit {
                exit_code: code,
                duration,
            },
        });
        if code == 0 {
            return;
        }
        if self.excused(index, code) {
            self.stages[index].early_exit = true;
            return;
        }
        if self.failure_index.is_none() && !self.timed_out && !self.cancelled {
            self.failure_index = Some(index);
            if index + 1 < self.stages.len() {
                self.terminate_all(self.grace);
            }
        }
    }

    /// Whether stage `index` failed only because its downstream stage
    /// stopped reading first. A stage this supervisor terminated (fail-fast,
    /// timeout, cancel) died of that signal, not of the early exit.
    fn excused(&self, index: usize, code: i32) -> bool {
        if self.stages[index].terminated {
            return false;
        }
        let Some(downstream) = self.stages.get(index + 1) else {
            return false;
        };
        if downstream.running() {
            return false;
        }
        code == -libc::SIGPIPE
            || self
                .relays
                .iter()
                .any(|r| r.upstream == index && r.downstream_closed.load(Ordering::Acquire))
    }

    fn collect_relays(&mut self) {
        self.join_relays(false);
    }

    fn join_relays(&mut self, block: bool) {
        for relay in &mut self.relays {
            let done = relay
                .handle
                .as_ref()
                .is_some_and(|h| block || h.is_finished() || relay.done.load(Ordering::Acquire));
            if !done {
                continue;
            }
            let Some(handle) = relay.handle.take() else {
                continue;
            };
            match handle.join() {
                Ok(Ok(_)) => {}
                Ok(Err(err)) => {
                    self.error.get_or_insert(err);
                }
                Err(_) => {
                    self.error
                        .get_or_insert(Error::new(crate::ErrorKind::Io, "relay thread panicked"));
                }
            }
        }
    }

    fn flush_events(&mut self) {
        if !self.events.is_empty() {
            self.shared.push(std::mem::take(&mut self.events));
        }
    }

    fn outcome(&mut self) -> Outcome {
        let decode = self.decode;
        let mut captured: Vec<(usize, Stream, Captured)> = Vec::new();
        for reader in &mut self.readers {
            if let Some(buffer) = reader.capture.take() {
                captured.push((
                    reader.stage,
                    reader.stream,
                    streams::to_captured(buffer, decode),
                ));
            }
        }
        let stages = self
            .stages
            .iter()
            .enumerate()
            .map(|(index, stage)| {
                let (exit_code, ended) = stage.exit.unwrap_or((-1, Instant::now()));
                let mut take = |stream: Stream| {
                    captured
                        .iter()
                        .position(|(s, k, _)| *s == index && *k == stream)
                        .map(|at| captured.swap_remove(at).2)
                };
                StageOutcome {
                    pid: stage.pid,
                    exit_code,
                    duration: ended.saturating_duration_since(stage.started),
                    stdout: take(Stream::Stdout),
                    stderr: take(Stream::Stderr),
                    early_exit: stage.early_exit,
                }
            })
            .collect();
        Outcome {
            stages,
            timed_out: self.timed_out,
            cancelled: self.cancelled,
            failure_index: self.failure_index,
            error: self.error.take(),
        }
    }
}

/// Python's convention: the exit status, or `-N` for death by signal N.
pub(crate) fn exit_code(status: std::process::ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| -s))
        .unwrap_or(-1)
}
