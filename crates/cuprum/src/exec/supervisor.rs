//! The supervisor: the state machine of one execution.
//!
//! It owns every descriptor of the run — output readers (capture, echo,
//! line events), the stdin feeder, the relays between stages, one pidfd per
//! stage — and says, each round, which of them it waits on
//! ([`Supervisor::interests`]) and until when ([`Supervisor::next_wakeup`]).
//! A driver waits (`poll` on the thread of a blocking run, the shared
//! reactor for awaited runs) and hands back what became ready
//! ([`Supervisor::on_ready`]). Nothing it does blocks.
//!
//! The lifecycle, each sentence tested:
//!
//! - **Timeout**: once the deadline passes while anything of the run is
//!   still going (a stage, or a pipe held open by a descendant), every
//!   stage's process group gets SIGTERM; after `cancel_grace`, SIGKILL.
//! - **Cancel**: the same teardown, on request from any thread; a second
//!   request with a shorter grace brings the SIGKILL forward.
//! - **Fail-fast**: the first stage that exits outside its ok codes (and is
//!   not excused as an early exit) sets the failure index; unless it is the
//!   last stage, every other stage is torn down the same way.
//! - **Early exit**: when a stage's stdin reader is gone (it exited or
//!   closed its stdin), the relay feeding it closes the upstream pipe at
//!   once; the upstream stage, if it then fails (SIGPIPE or an error exit),
//!   is excused: listed as an early exit, not a failure.
//! - **After the kill**, the engine stops waiting for end of file on pipes
//!   that escaped descendants may hold: it reads what is already there,
//!   closes its ends and finishes. Without a teardown, a run waits for end
//!   of file on its captured pipes, as `subprocess.run` does.
//! - **Reaping**: a stage's exit is noticed without reaping it, so its
//!   process group id stays reserved while the group may still be
//!   signalled; every leader is reaped last, just before the outcome is
//!   published.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};
use rustix::process::Signal;

use super::event::{Event, EventKind, Stream};
use super::live::LiveFeeder;
use super::outcome::{Captured, Outcome, StageOutcome};
use super::relay::{Relay, Wait};
use super::shared::Shared;
use super::spec::Decode;
use super::stage::StageProc;
use super::streams::{self, Feeder, Reader};
use crate::{fd, Error, ErrorKind, Result};

/// How often child exits are checked where no pidfd is available.
const WAITPID_TICK: Duration = Duration::from_millis(5);
/// Pending events above which output reading pauses until the caller takes
/// them (backpressure for line events).
pub(crate) const EVENT_BACKLOG: usize = 1 << 16;

/// What one descriptor of the run is to the supervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    Control,
    Reader(usize),
    Sink(usize),
    Feeder,
    Stage(usize),
    RelayFrom(usize),
    RelayTo(usize),
}

/// One descriptor to wait on, and for what. Neither `read` nor `write`
/// still reports errors and hang-ups.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Interest {
    pub(crate) fd: RawFd,
    pub(crate) read: bool,
    pub(crate) write: bool,
    pub(crate) slot: Slot,
}

/// What a driver saw on one descriptor, beyond what was asked for.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ready {
    /// An error or hang-up condition.
    pub(crate) error: bool,
}

/// Everything one execution owns while it runs.
pub(crate) struct Supervisor {
    pub(crate) shared: Arc<Shared>,
    /// The run's control descriptor (owned by `shared`, open until
    /// `publish`).
    control: RawFd,
    stages: Vec<StageProc>,
    readers: Vec<Reader>,
    feeder: Option<Feeder>,
    live_feeder: Option<LiveFeeder>,
    relays: Vec<Relay>,
    deadline: Option<Instant>,
    grace: Duration,
    decode: Decode,
    /// Live data moved this round: wake an event loop waiting on it.
    live_moved: bool,
    /// Success codes per stage (empty: `{0}`).
    ok_codes: Vec<Vec<i32>>,
    kill_at: Option<Instant>,
    /// SIGKILL has been sent: stop waiting for pipes to reach end of file.
    killed: bool,
    timed_out: bool,
    cancelled: bool,
    failure_index: Option<usize>,
    error: Option<Error>,
    events: Vec<Event>,
    scratch: Vec<u8>,
    interests: Vec<Interest>,
    published: bool,
}

/// The parts a run is assembled from (see `start`).
pub(crate) struct Parts {
    pub(crate) control: RawFd,
    pub(crate) stages: Vec<StageProc>,
    pub(crate) readers: Vec<Reader>,
    pub(crate) feeder: Option<Feeder>,
    pub(crate) live_feeder: Option<LiveFeeder>,
    pub(crate) relays: Vec<Relay>,
    pub(crate) deadline: Option<Instant>,
    pub(crate) grace: Duration,
    pub(crate) decode: Decode,
    pub(crate) ok_codes: Vec<Vec<i32>>,
}

impl Supervisor {
    pub(crate) fn new(shared: Arc<Shared>, parts: Parts) -> Self {
        Self {
            shared,
            control: parts.control,
            stages: parts.stages,
            readers: parts.readers,
            feeder: parts.feeder,
            live_feeder: parts.live_feeder,
            live_moved: false,
            relays: parts.relays,
            deadline: parts.deadline,
            grace: parts.grace,
            decode: parts.decode,
            ok_codes: parts.ok_codes,
            kill_at: None,
            killed: false,
            timed_out: false,
            cancelled: false,
            failure_index: None,
            error: None,
            events: Vec::new(),
            scratch: Vec::new(),
            interests: Vec::new(),
            published: false,
        }
    }

    /// Tears every stage down at once and reports `error` as the outcome's
    /// error (a later stage of the pipeline could not be spawned).
    pub(crate) fn abort(&mut self, error: Error) {
        self.error = Some(error);
        self.terminate_all(self.grace);
    }

    /// Does one round of supervision with `poll(2)`, waiting at most
    /// `max_wait` (`None`: until something happens). Returns `true` once the
    /// outcome is published. A panic inside the round tears the run down
    /// (every child killed and reaped) and is reported as the outcome's
    /// error, never propagated.
    pub(crate) fn advance(&mut self, max_wait: Option<Duration>) -> bool {
        let round = catch_unwind(AssertUnwindSafe(|| self.poll_round(max_wait)));
        match round {
            Ok(Ok(false)) => {
                self.flush_events();
                false
            }
            Ok(Ok(true)) => {
                self.publish();
                true
            }
            Ok(Err(err)) => {
                self.fail(err);
                self.publish();
                true
            }
            Err(_) => {
                self.fail_internal();
                self.publish();
                true
            }
        }
    }

    fn poll_round(&mut self, max_wait: Option<Duration>) -> Result<bool> {
        let now = Instant::now();
        if self.tick(now) {
            return Ok(true);
        }
        // Events the round's bookkeeping published (a streamed stdin asking
        // for its next chunk) go to the waiting caller first.
        let max_wait = if self.shared.has_pending() {
            Some(Duration::ZERO)
        } else {
            max_wait
        };
        let mut interests = std::mem::take(&mut self.interests);
        interests.clear();
        self.interests_into(&mut interests);
        let wait = match (self.next_wakeup(now), max_wait) {
            (Some(at), Some(b)) => Some(at.saturating_duration_since(now).min(b)),
            (Some(at), None) => Some(at.saturating_duration_since(now)),
            (None, b) => b,
        };
        let mut pollfds: Vec<PollFd<'_>> = interests
            .iter()
            .map(|i| {
                // SAFETY: every descriptor in `interests` is owned by this
                // supervisor (the control descriptor by its shared state,
                // closed only by `publish`) and stays open until after the
                // poll returns.
                let fd = unsafe { BorrowedFd::borrow_raw(i.fd) };
                let mut flags = PollFlags::empty();
                flags.set(PollFlags::IN, i.read);
                flags.set(PollFlags::OUT, i.write);
                PollFd::from_borrowed_fd(fd, flags)
            })
            .collect();
        let polled = fd::poll(&mut pollfds, wait).map_err(|err| Error::io(err, "poll"));
        let ready: Vec<(Slot, Ready)> = pollfds
            .iter()
            .zip(&interests)
            .filter(|(p, _)| !p.revents().is_empty())
            .map(|(p, i)| {
                let error = p
                    .revents()
                    .intersects(PollFlags::ERR | PollFlags::HUP | PollFlags::NVAL);
                (i.slot, Ready { error })
            })
            .collect();
        drop(pollfds);
        if polled.is_ok() {
            self.on_ready(&ready);
        }
        self.interests = interests;
        polled.map(|_| false)
    }

    /// The descriptors to wait on this round.
    pub(crate) fn interests_into(&self, out: &mut Vec<Interest>) {
        let mut push = |fd: RawFd, read: bool, write: bool, slot: Slot| {
            out.push(Interest {
                fd,
                read,
                write,
                slot,
            });
        };
        if !self.published {
            push(self.control, true, false, Slot::Control);
        }
        let backlogged = self.shared.backlog() > EVENT_BACKLOG;
        for (index, reader) in self.readers.iter().enumerate() {
            if let (false, true, Some(fd)) = (backlogged, reader.wants_read(), &reader.fd) {
                push(fd.as_raw_fd(), true, false, Slot::Reader(index));
            }
            if let Some(sink) = reader.sink_waiting() {
                push(sink.as_raw_fd(), false, true, Slot::Sink(index));
            }
        }
        if let Some(feeder) = &self.feeder {
            // Between chunks of a streamed stdin it is watched for errors
            // only: a reader that goes away ends the feed at once.
            push(
                feeder.fd.as_raw_fd(),
                false,
                feeder.wants_write(),
                Slot::Feeder,
            );
        }
        if let Some((fd, write)) = self.live_feeder.as_ref().and_then(LiveFeeder::interest) {
            push(fd, false, write, Slot::Feeder);
        }
        for (index, relay) in self.relays.iter().enumerate() {
            let (from, to) = relay.ends();
            let wait = relay.wait();
            if let (Some(from), Wait::Read) = (from, wait) {
                push(from.as_raw_fd(), true, false, Slot::RelayFrom(index));
            }
            if let Some(to) = to {
                // Watched for errors even while reading: a reader that goes
                // away must close the upstream pipe at once.
                push(
                    to.as_raw_fd(),
                    false,
                    wait == Wait::Write,
                    Slot::RelayTo(index),
                );
            }
        }
        for (index, stage) in self.stages.iter().enumerate() {
            if let (true, Some(pidfd)) = (stage.running(), &stage.pidfd) {
                push(pidfd.as_raw_fd(), true, false, Slot::Stage(index));
            }
        }
    }

    /// When the supervisor must run again even if nothing becomes ready.
    pub(crate) fn next_wakeup(&self, now: Instant) -> Option<Instant> {
        let mut at = [self.deadline, self.kill_at].into_iter().flatten().min();
        let backlogged = self.shared.backlog() > EVENT_BACKLOG;
        if backlogged || self.stages.iter().any(|s| s.running() && s.pidfd.is_none()) {
            let tick = now + WAITPID_TICK;
            at = Some(at.map_or(tick, |a| a.min(tick)));
        }
        at
    }

    /// Handles what became ready: I/O first, then exits downstream-first,
    /// so a stage that died of a broken pipe sees its reader already gone.
    pub(crate) fn on_ready(&mut self, ready: &[(Slot, Ready)]) {
        for &(slot, flags) in ready {
            match slot {
                Slot::Control => self.shared.clear_control(),
                Slot::Reader(index) => {
                    if let Some(err) = self.readers[index].read(&mut self.scratch, &mut self.events)
                    {
                        self.error.get_or_insert(err);
                    }
                    self.live_moved |= self.readers[index].live.is_some();
                }
                Slot::Sink(index) => self.readers[index].sink_ready(),
                Slot::Feeder => match self.live_feeder.as_mut() {
                    Some(live) => {
                        live.step(flags.error);
                        self.live_moved = true;
                    }
                    None => {
                        if flags.error && self.feeder.as_ref().is_some_and(|f| !f.wants_write()) {
                            self.feeder = None;
                            self.events.push(streams::stdin_gone());
                        } else {
                            self.feed_stdin();
                        }
                    }
                },
                Slot::RelayFrom(index) => self.advance_relay(index),
                Slot::RelayTo(index) => {
                    if flags.error && self.relays[index].wait() == Wait::Read {
                        self.relays[index].on_reader_gone();
                    } else {
                        self.advance_relay(index);
                    }
                }
                Slot::Stage(_) => {}
            }
        }
        for &(slot, _) in ready.iter().rev() {
            if let Slot::Stage(index) = slot {
                self.check_exit(index);
            }
        }
    }

    fn advance_relay(&mut self, index: usize) {
        if let Err(err) = self.relays[index].advance() {
            self.error.get_or_insert(err);
        }
    }

    /// Timers, requests and bookkeeping due at `now`. Returns `true` when
    /// the run is over (every leader then reaped).
    pub(crate) fn tick(&mut self, now: Instant) -> bool {
        super::fault::hit("supervise");
        if let Some(kill) = self.shared.cancel_requested() {
            if !self.cancelled && !self.finished() {
                self.cancelled = true;
                self.terminate_all(kill.saturating_duration_since(now));
            } else if self.cancelled {
                self.kill_at = self.kill_at.map(|at| at.min(kill));
            }
        }
        if let Some(deadline) = self.deadline {
            if now >= deadline && !self.finished() {
                self.deadline = None;
                self.timed_out = true;
                self.terminate_all(self.grace);
            }
        }
        if self.kill_at.is_some_and(|at| now >= at) {
            self.kill_at = None;
            self.killed = true;
            for stage in &self.stages {
                stage.signal_group(Signal::KILL);
            }
        }
        for index in 0..self.stages.len() {
            if self.stages[index].pidfd.is_none() {
                self.check_exit(index);
            }
        }
        if let Some(live) = self.live_feeder.as_mut() {
            // A close request needs no writable pipe; after the last exit
            // nobody reads the pipe any more.
            if self.stages.iter().all(|s| !s.running()) {
                live.abandon();
            } else {
                live.step(false);
            }
            if live.fd.is_none() {
                self.live_feeder = None;
                self.live_moved = true;
            }
        }
        if self.killed && self.stages.iter().all(|s| !s.running()) {
            self.abandon_io();
        }
        self.refill_stdin();
        self.flush_events();
        if !self.finished() {
            return false;
        }
        // Every leader is reaped last: nothing signals a group after this.
        for stage in &mut self.stages {
            stage.reap();
        }
        true
    }

    /// After the kill: read what is already in the pipes, then close every
    /// end the engine holds, end of file or not.
    fn abandon_io(&mut self) {
        for reader in &mut self.readers {
            reader.abandon(&mut self.scratch, &mut self.events);
        }
        for relay in &mut self.relays {
            relay.close();
        }
        self.feeder = None;
        self.live_feeder = None;
        self.live_moved = true;
    }

    fn finished(&self) -> bool {
        self.stages.iter().all(|s| !s.running())
            && self.readers.iter().all(Reader::is_done)
            && self.feeder.is_none()
            && self.live_feeder.is_none()
            && self.relays.iter().all(Relay::is_done)
    }

    /// SIGTERM to every stage's process group (a finished leader's group may
    /// still hold its descendants); SIGKILL once `grace` has passed. Stops
    /// feeding stdin.
    fn terminate_all(&mut self, grace: Duration) {
        self.feeder = None;
        self.live_feeder = None;
        for stage in &mut self.stages {
            if stage.running() {
                stage.terminated = true;
            }
            stage.signal_group(Signal::TERM);
        }
        let at = later(Instant::now(), grace);
        self.kill_at = Some(self.kill_at.map_or(at, |k| k.min(at)));
    }

    fn feed_stdin(&mut self) {
        let Some(feeder) = self.feeder.as_mut() else {
            return;
        };
        let failed = feeder.feed(&mut self.events);
        if failed {
            self.feeder = None;
        } else if !feeder.wants_write() && feeder.drained(&mut self.events) {
            if let Some(feeder) = self.feeder.take() {
                feeder.close(&mut self.events);
            }
        }
    }

    /// A feeder between chunks takes the caller's next chunk (a streamed
    /// stdin), or asks for it, or closes once the input is over.
    fn refill_stdin(&mut self) {
        let Some(feeder) = self.feeder.as_mut() else {
            return;
        };
        if feeder.wants_write() {
            return;
        }
        if feeder.asked {
            match self.shared.take_stdin() {
                Some(chunk) => feeder.refill(chunk),
                None => return,
            }
        }
        self.feed_stdin();
    }

    fn check_exit(&mut self, index: usize) {
        let Some(code) = self.stages[index].poll_exit() else {
            return;
        };
        let stage = &self.stages[index];
        let duration = Instant::now().saturating_duration_since(stage.started);
        self.events.push(Event {
            stage: index,
            kind: EventKind::Exit {
                exit_code: code,
                duration,
            },
        });
        if self.is_ok(index, code) {
            return;
        }
        if self.excused(index) {
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

    fn is_ok(&self, index: usize, code: i32) -> bool {
        match self.ok_codes.get(index) {
            Some(codes) if !codes.is_empty() => codes.contains(&code),
            _ => code == 0,
        }
    }

    /// Whether stage `index` failed only because its downstream stage
    /// stopped reading first. A stage this supervisor terminated (fail-fast,
    /// timeout, cancel) died of that signal, not of the early exit.
    fn excused(&self, index: usize) -> bool {
        !self.stages[index].terminated
            && self
                .relays
                .iter()
                .any(|r| r.upstream == index && r.reader_gone)
    }

    /// Tears the run down after a panic while it was being stepped.
    pub(crate) fn fail_internal(&mut self) {
        self.fail(Error::new(
            ErrorKind::Internal,
            "the engine panicked while supervising the run; every child was stopped",
        ));
    }

    /// Tears everything down at once after an internal failure, so no child
    /// is left behind, and reports `err`.
    fn fail(&mut self, err: Error) {
        for stage in &mut self.stages {
            stage.signal_group(Signal::KILL);
            stage.reap();
        }
        self.error.get_or_insert(err);
        self.readers.clear();
        self.feeder = None;
        self.live_feeder = None;
        self.relays.clear();
    }

    fn flush_events(&mut self) {
        if !self.events.is_empty() {
            self.shared.push(std::mem::take(&mut self.events));
        }
        if std::mem::take(&mut self.live_moved) {
            self.shared.signal_live();
        }
    }

    pub(crate) fn publish(&mut self) {
        if self.published {
            return;
        }
        self.published = true;
        let outcome = self.outcome();
        // Every descriptor of the run is closed before the outcome is
        // visible (the control descriptor by `finish`): a caller that sees
        // the outcome sees no leftover.
        self.readers.clear();
        self.relays.clear();
        self.feeder = None;
        // A chunk fed after the feed stopped is released with the run.
        drop(self.shared.take_stdin());
        self.live_feeder = None;
        for stage in &mut self.stages {
            stage.pidfd = None;
        }
        self.shared
            .finish(std::mem::take(&mut self.events), outcome);
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
                    ok_codes: match self.ok_codes.get(index) {
                        Some(codes) if !codes.is_empty() => codes.clone(),
                        _ => vec![0],
                    },
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

/// `now + d`, saturating far in the future instead of overflowing the clock.
pub(crate) fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(1 << 30)))
        .unwrap_or(now)
}

/// Python's convention: the exit status, or `-N` for death by signal N.
pub(crate) fn exit_code(status: std::process::ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| -s))
        .unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_saturates_instead_of_overflowing_the_clock() {
        let now = Instant::now();
        assert_eq!(
            later(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
        let far = later(now, Duration::MAX);
        assert!(far > now + Duration::from_secs(60 * 60 * 24 * 365));
    }
}
