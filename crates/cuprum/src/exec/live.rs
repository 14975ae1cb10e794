//! Live streams: a running process's output handed to a consumer as it
//! arrives, and its stdin fed interactively.
//!
//! - [`LiveOutput`]: the supervisor appends what it reads from the child's
//!   pipe to a bounded buffer (default [`DEFAULT_LIVE_BUFFER`], 1 MiB). Once
//!   the buffer is full the supervisor stops reading that pipe, so the child
//!   blocks on its next write (backpressure); taking data wakes the
//!   supervisor again. A consumer takes everything waiting in one call (a
//!   batch), never a byte at a time.
//! - [`LiveInput`]: a write hands its bytes to the supervisor, which writes
//!   them to the child's stdin without blocking as the pipe has room; the
//!   writer waits until they are written (or fails with
//!   [`io::ErrorKind::BrokenPipe`] once the child has closed its stdin).
//!
//! Both are cheap handles that can be cloned and used from any thread.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::shared::Shared;
use crate::fd;
use crate::stream::Utf8Decoder;

/// The default bound of a live output buffer: 1 MiB.
pub const DEFAULT_LIVE_BUFFER: usize = 1 << 20;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update is a single push or assignment: the state stays
    // consistent even if a holder panicked.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits on `cond` until `ready` holds or `deadline` passes; returns the
/// guard and whether `ready` holds.
fn wait_until<'a, T>(
    cond: &Condvar,
    mut guard: MutexGuard<'a, T>,
    deadline: Option<Instant>,
    ready: impl Fn(&T) -> bool,
) -> (MutexGuard<'a, T>, bool) {
    while !ready(&guard) {
        guard = match deadline {
            None => cond.wait(guard).unwrap_or_else(PoisonError::into_inner),
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return (guard, false);
                }
                cond.wait_timeout(guard, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
    }
    (guard, true)
}

// -- output -------------------------------------------------------------------

#[derive(Default)]
struct OutState {
    chunks: VecDeque<Vec<u8>>,
    bytes: usize,
    /// Readers (one per stage for a pipeline's stderr) still feeding it.
    writers: usize,
    /// The consumer will take everything at the end: no bound any more.
    unbounded: bool,
}

/// The buffer between the supervisor and the consumer of one stream.
pub(crate) struct OutBuf {
    state: Mutex<OutState>,
    cond: Condvar,
    limit: usize,
}

impl OutBuf {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::default(),
            cond: Condvar::new(),
            limit: limit.max(1),
        })
    }

    /// A reader starts feeding this buffer.
    pub(crate) fn add_writer(&self) {
        lock(&self.state).writers += 1;
    }

    /// A reader reached end of file.
    pub(crate) fn close_writer(&self) {
        let mut state = lock(&self.state);
        state.writers = state.writers.saturating_sub(1);
        drop(state);
        self.cond.notify_all();
    }

    /// Appends what was just read.
    pub(crate) fn push(&self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut state = lock(&self.state);
        state.bytes += data.len();
        state.chunks.push_back(data.to_vec());
        drop(state);
        self.cond.notify_all();
    }

    /// Whether the supervisor must stop reading the child's pipe.
    pub(crate) fn is_full(&self) -> bool {
        let state = lock(&self.state);
        !state.unbounded && state.bytes >= self.limit
    }
}

/// The consumer's end of a live output stream, from
/// [`Execution::live_stdout`](crate::exec::Execution::live_stdout) or
/// [`Execution::live_stderr`](crate::exec::Execution::live_stderr).
///
/// # Example
///
/// ```
/// use cuprum::Command;
/// use cuprum::exec::{ExecSpec, Output};
/// let run = ExecSpec::command(Command::new("printf").arg("a\nb\n"))
///     .stdout(Output::live())
///     .spawn()?;
/// let stdout = run.live_stdout().unwrap();
/// let mut text = Vec::new();
/// while let Some(chunk) = stdout.read(None) {
///     text.extend(chunk);
/// }
/// assert_eq!(text, b"a\nb\n");
/// assert!(run.wait().success());
/// # Ok::<(), cuprum::Error>(())
/// ```
#[derive(Clone)]
pub struct LiveOutput {
    buf: Arc<OutBuf>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LiveOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveOutput").finish_non_exhaustive()
    }
}

impl LiveOutput {
    pub(crate) fn new(buf: Arc<OutBuf>, shared: Arc<Shared>) -> Self {
        Self { buf, shared }
    }

    /// Takes everything waiting, without blocking: `None` when nothing is.
    #[must_use]
    pub fn take(&self) -> Option<Vec<u8>> {
        let mut state = lock(&self.buf.state);
        self.take_locked(&mut state)
    }

    fn take_locked(&self, state: &mut OutState) -> Option<Vec<u8>> {
        if state.chunks.is_empty() {
            return None;
        }
        let was_full = !state.unbounded && state.bytes >= self.buf.limit;
        let data = if state.chunks.len() == 1 {
            state.chunks.pop_front().unwrap_or_default()
        } else {
            let mut data = Vec::with_capacity(state.bytes);
            for chunk in state.chunks.drain(..) {
                data.extend_from_slice(&chunk);
            }
            data
        };
        state.bytes = 0;
        if was_full {
            // The supervisor paused this pipe: let it read again.
            self.shared.wake_supervisor();
        }
        Some(data)
    }

    /// Blocks until data waits or the stream ends, at most `timeout`
    /// (`None`: no limit), then takes it. `None` at end of stream (or when
    /// the time ran out: see [`is_finished`](Self::is_finished)).
    #[must_use]
    pub fn read(&self, timeout: Option<Duration>) -> Option<Vec<u8>> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let state = lock(&self.buf.state);
        let (mut state, _) = wait_until(&self.buf.cond, state, deadline, |s| {
            !s.chunks.is_empty() || s.writers == 0
        });
        self.take_locked(&mut state)
    }

    /// Whether the stream has ended and everything was taken.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        let state = lock(&self.buf.state);
        state.writers == 0 && state.chunks.is_empty()
    }

    /// Lifts the bound: the supervisor reads the pipe to its end whatever
    /// the consumer does (used to drain unread output when waiting for the
    /// process).
    pub fn unbound(&self) {
        lock(&self.buf.state).unbounded = true;
        self.shared.wake_supervisor();
    }
}

/// Decodes a live stream (UTF-8 with replacement) and cuts it into lines
/// that keep their ending (`\n`, `\r\n` or `\r`), whatever the read
/// boundaries were.
///
/// # Example
///
/// ```
/// use cuprum::exec::LineCutter;
/// let mut cutter = LineCutter::new();
/// let mut lines = Vec::new();
/// cutter.feed(b"a\r", false, |line| lines.push(line.to_owned()));
/// cutter.feed(b"\nb", false, |line| lines.push(line.to_owned()));
/// cutter.feed(b"", true, |line| lines.push(line.to_owned()));
/// assert_eq!(lines, ["a\r\n", "b"]);
/// ```
#[derive(Debug, Default)]
pub struct LineCutter {
    decoder: Utf8Decoder,
    text: String,
}

impl LineCutter {
    /// A cutter with nothing pending.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds `bytes`; calls `line` with every complete line. At end of
    /// stream (`eof`) the unterminated tail is a line too.
    pub fn feed(&mut self, bytes: &[u8], eof: bool, mut line: impl FnMut(&str)) {
        self.feed_batch(bytes, eof, |batch| cut_lines(batch, &mut line));
    }

    /// Feeds `bytes`; calls `batch` once with the complete lines as one
    /// string (nothing when no line is complete), for callers that cut it
    /// themselves (see [`cut_lines`]).
    pub fn feed_batch(&mut self, bytes: &[u8], eof: bool, batch: impl FnOnce(&str)) {
        self.decoder.decode(bytes, &mut self.text);
        if eof {
            self.decoder.finish(&mut self.text);
        }
        let data = self.text.as_bytes();
        let end = if eof {
            data.len()
        } else {
            match memchr::memrchr2(b'\n', b'\r', data) {
                // A `\r` at the end may be the first half of `\r\n`.
                Some(at) if data[at] == b'\r' && at + 1 == data.len() => {
                    memchr::memrchr2(b'\n', b'\r', &data[..at]).map_or(0, |p| p + 1)
                }
                Some(at) => at + 1,
                None => 0,
            }
        };
        if end > 0 {
            batch(&self.text[..end]);
        }
        self.text.drain(..end);
    }

    /// Takes the text decoded but not yet returned as a line.
    pub fn take_rest(&mut self) -> String {
        self.decoder.finish(&mut self.text);
        std::mem::take(&mut self.text)
    }
}

/// Cuts `text` into lines that keep their ending (`\n`, `\r\n` or `\r`);
/// an unterminated tail is a line too.
///
/// # Example
///
/// ```
/// let mut lines = Vec::new();
/// cuprum::exec::cut_lines("a\r\nb\rc", |line| lines.push(line.to_owned()));
/// assert_eq!(lines, ["a\r\n", "b\r", "c"]);
/// ```
pub fn cut_lines(text: &str, mut line: impl FnMut(&str)) {
    let data = text.as_bytes();
    let mut start = 0;
    for at in memchr::memchr2_iter(b'\n', b'\r', data) {
        if at < start {
            continue;
        }
        let end = if data[at] == b'\r' && data.get(at + 1) == Some(&b'\n') {
            at + 2
        } else {
            at + 1
        };
        line(&text[start..end]);
        start = end;
    }
    if start < data.len() {
        line(&text[start..]);
    }
}

// -- input --------------------------------------------------------------------

#[derive(Default)]
struct InState {
    pending: Vec<u8>,
    offset: usize,
    accepted: u64,
    written: u64,
    close: bool,
    closed: bool,
    /// Why writing stopped (the child closed its stdin, or it exited).
    broken: Option<io::ErrorKind>,
    errno: Option<i32>,
}

/// The buffer between a writer and the supervisor's stdin feed.
pub(crate) struct InBuf {
    state: Mutex<InState>,
    cond: Condvar,
}

impl InBuf {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::default(),
            cond: Condvar::new(),
        })
    }
}

/// The writer's end of a live stdin, from
/// [`Execution::live_stdin`](crate::exec::Execution::live_stdin).
///
/// # Example
///
/// ```
/// use cuprum::Command;
/// use cuprum::exec::{ExecSpec, Output, Stdin};
/// let run = ExecSpec::command(Command::new("cat"))
///     .stdin(Stdin::Live)
///     .stdout(Output::capture())
///     .spawn()?;
/// let stdin = run.live_stdin().unwrap();
/// stdin.write(b"hello", None)?;
/// stdin.close();
/// let outcome = run.wait();
/// assert_eq!(outcome.stages[0].stdout.as_ref().unwrap().as_text(), Some("hello"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct LiveInput {
    buf: Arc<InBuf>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LiveInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveInput").finish_non_exhaustive()
    }
}

fn broken(state: &InState) -> io::Error {
    match state.errno {
        Some(errno) => io::Error::from_raw_os_error(errno),
        None => io::Error::from(state.broken.unwrap_or(io::ErrorKind::BrokenPipe)),
    }
}

impl LiveInput {
    pub(crate) fn new(buf: Arc<InBuf>, shared: Arc<Shared>) -> Self {
        Self { buf, shared }
    }

    /// Hands `data` to the supervisor without waiting; returns a ticket for
    /// [`is_written`](Self::is_written) / [`wait_written`](Self::wait_written).
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::BrokenPipe`] once the child closed its stdin (or
    /// exited); [`io::ErrorKind::InvalidInput`] after [`close`](Self::close).
    pub fn submit(&self, data: &[u8]) -> io::Result<u64> {
        let mut state = lock(&self.buf.state);
        if state.broken.is_some() {
            return Err(broken(&state));
        }
        if state.close {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "write to a closed stdin",
            ));
        }
        state.pending.extend_from_slice(data);
        state.accepted += data.len() as u64;
        let ticket = state.accepted;
        drop(state);
        self.shared.wake_supervisor();
        Ok(ticket)
    }

    /// Whether every byte up to `ticket` has been written to the pipe.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::BrokenPipe`] when the child closed its stdin first.
    pub fn is_written(&self, ticket: u64) -> io::Result<bool> {
        let state = lock(&self.buf.state);
        if state.written >= ticket {
            return Ok(true);
        }
        if state.broken.is_some() {
            return Err(broken(&state));
        }
        Ok(false)
    }

    /// Blocks until every byte up to `ticket` is written, at most `timeout`
    /// (`None`: no limit); returns whether it was.
    ///
    /// # Errors
    ///
    /// As [`is_written`](Self::is_written).
    pub fn wait_written(&self, ticket: u64, timeout: Option<Duration>) -> io::Result<bool> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let state = lock(&self.buf.state);
        let (state, _) = wait_until(&self.buf.cond, state, deadline, |s| {
            s.written >= ticket || s.broken.is_some()
        });
        drop(state);
        self.is_written(ticket)
    }

    /// Writes `data`, waiting (at most `timeout`) until the pipe took it;
    /// returns whether it did in time.
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn write(&self, data: &[u8], timeout: Option<Duration>) -> io::Result<bool> {
        let ticket = self.submit(data)?;
        self.wait_written(ticket, timeout)
    }

    /// Closes the child's stdin once everything submitted is written.
    /// Idempotent.
    pub fn close(&self) {
        lock(&self.buf.state).close = true;
        self.shared.wake_supervisor();
    }

    /// Whether the pipe is closed (after [`close`](Self::close), a broken
    /// pipe, or the end of the run).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        lock(&self.buf.state).closed
    }
}

/// The supervisor's end of a live stdin.
pub(crate) struct LiveFeeder {
    pub(crate) fd: Option<OwnedFd>,
    buf: Arc<InBuf>,
}

impl LiveFeeder {
    pub(crate) fn new(fd: OwnedFd, buf: Arc<InBuf>) -> Self {
        Self { fd: Some(fd), buf }
    }

    /// The descriptor to watch, and whether for writing (it is always
    /// watched for errors: a reader that goes away breaks the pipe).
    pub(crate) fn interest(&self) -> Option<(RawFd, bool)> {
        let fd = self.fd.as_ref()?;
        let state = lock(&self.buf.state);
        Some((fd.as_raw_fd(), state.offset < state.pending.len()))
    }

    /// Writes what the pipe takes; closes it when asked and done. `error`:
    /// the poller saw an error condition on the pipe.
    pub(crate) fn step(&mut self, error: bool) {
        let Some(fd) = self.fd.as_ref() else {
            return;
        };
        let mut state = lock(&self.buf.state);
        let mut failure = None;
        while state.offset < state.pending.len() {
            let offset = state.offset;
            match fd::write_once(fd.as_fd(), &state.pending[offset..]) {
                Ok(Some(0)) | Ok(None) => break,
                Ok(Some(n)) => {
                    state.offset += n;
                    state.written += n as u64;
                }
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            }
        }
        if state.offset >= state.pending.len() {
            state.pending.clear();
            state.offset = 0;
        }
        if failure.is_none() && error && state.offset < state.pending.len() {
            failure = Some(io::ErrorKind::BrokenPipe.into());
        }
        if let Some(err) = failure {
            state.broken = Some(err.kind());
            state.errno = err.raw_os_error();
            state.closed = true;
            self.fd = None;
        } else if error || (state.close && state.pending.is_empty()) {
            if error {
                state.broken = Some(io::ErrorKind::BrokenPipe);
            }
            state.closed = true;
            self.fd = None;
        }
        drop(state);
        self.buf.cond.notify_all();
    }

    /// The run is over (every stage exited, or it was torn down): the pipe
    /// is closed and later writes fail as on a broken pipe.
    pub(crate) fn abandon(&mut self) {
        self.fd = None;
        let mut state = lock(&self.buf.state);
        if !state.closed {
            state.closed = true;
            if state.broken.is_none() && !(state.close && state.pending.is_empty()) {
                state.broken = Some(io::ErrorKind::BrokenPipe);
            }
        }
        drop(state);
        self.buf.cond.notify_all();
    }
}

impl Drop for LiveFeeder {
    fn drop(&mut self) {
        self.abandon();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(chunks: &[&[u8]]) -> Vec<String> {
        let mut cutter = LineCutter::new();
        let mut lines = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            cutter.feed(chunk, i + 1 == chunks.len(), |l| lines.push(l.to_owned()));
        }
        lines
    }

    #[test]
    fn line_cutter_keeps_endings_across_boundaries() {
        assert_eq!(
            cut(&[b"a\nb\r", b"\nc\rd", b""]),
            ["a\n", "b\r\n", "c\r", "d"]
        );
        assert_eq!(cut(&[b"\xc3", b"\xa9\n"]), ["é\n"]);
        assert_eq!(cut(&[b"x\r"]), ["x\r"]);
        assert!(cut(&[b""]).is_empty());
    }
}
