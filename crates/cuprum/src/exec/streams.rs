//! The supervisor's stream work: reading output (capture, echo, line
//! events) and feeding stdin, one non-blocking step at a time.
//!
//! Each piece owns its state and reports what happened as [`Event`]s pushed
//! onto the caller's list; the supervisor only decides when to call them.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::sync::Arc;

use super::echo::{EchoSink, ECHO_BACKLOG};
use super::event::{Event, EventKind, StdinOp, Stream};
use super::live::OutBuf;
use super::outcome::Captured;
use super::spec::Decode;
use crate::stream::{LineSplitter, Utf8Decoder};
use crate::{fd, Error};

/// Bytes read per system call from an output pipe.
const READ_CHUNK: usize = 1 << 16;
/// The kernel buffer an output pipe grows to once it has filled up.
const GROWN_PIPE: usize = 1 << 20;
/// Reads per stream per poll round, so one chatty stream cannot starve the
/// others.
const READS_PER_ROUND: usize = 16;

/// Where a stream's bytes are echoed.
pub(crate) enum EchoTo {
    /// A descriptor, written without blocking.
    Fd(EchoSink),
    /// [`EventKind::Output`] events of whole lines; `partial` holds the
    /// unterminated tail until its newline (or end of file) arrives.
    Events { partial: Vec<u8> },
}

/// One piped output stream.
pub(crate) struct Reader {
    /// `None` once the stream reached end of file (or was abandoned).
    pub(crate) fd: Option<OwnedFd>,
    pub(crate) stage: usize,
    pub(crate) stream: Stream,
    pub(crate) capture: Option<Vec<u8>>,
    pub(crate) echo: Option<EchoTo>,
    pub(crate) lines: Option<(Utf8Decoder, LineSplitter)>,
    /// Whether the pipe's kernel buffer was grown (once it first filled up).
    pub(crate) grown: bool,
    /// The consumer's bounded buffer of a live stream.
    pub(crate) live: Option<Arc<OutBuf>>,
}

/// The stdin payload still to write. The payload is shared, never copied:
/// the caller's buffer is borrowed for as long as the feed lasts.
///
/// A streamed feed ([`Stdin::Stream`](super::Stdin::Stream)) holds one chunk
/// at a time: once it is written, the feeder asks for the next with one
/// [`EventKind::StdinWanted`] and waits; `None` from the caller ends it.
pub(crate) struct Feeder {
    pub(crate) fd: OwnedFd,
    pub(crate) data: Arc<dyn AsRef<[u8]> + Send + Sync>,
    pub(crate) written: usize,
    /// Bytes of earlier chunks, for the final byte count.
    pub(crate) before: usize,
    /// More chunks may follow (a streamed feed not yet ended).
    pub(crate) streamed: bool,
    /// A [`EventKind::StdinWanted`] is out and unanswered.
    pub(crate) asked: bool,
}

/// The next piece of a streamed stdin.
pub(crate) enum Chunk {
    Data(Arc<dyn AsRef<[u8]> + Send + Sync>),
    End,
}

impl Reader {
    /// Whether output may be read now: not at end of file, and the echo
    /// sink is not too far behind.
    pub(crate) fn wants_read(&self) -> bool {
        self.fd.is_some()
            && !matches!(&self.echo, Some(EchoTo::Fd(sink)) if sink.backlog() > ECHO_BACKLOG)
            && !self.live.as_ref().is_some_and(|live| live.is_full())
    }

    /// The echo sink, while it has complete lines (or, at end of file,
    /// anything) waiting to be written.
    pub(crate) fn sink_waiting(&self) -> Option<BorrowedFd<'_>> {
        match &self.echo {
            Some(EchoTo::Fd(sink)) if sink.wants_write(self.fd.is_none()) => Some(sink.fd()),
            _ => None,
        }
    }

    /// Writes pending echo output the sink now has room for.
    pub(crate) fn sink_ready(&mut self) {
        let at_eof = self.fd.is_none();
        if let Some(EchoTo::Fd(sink)) = &mut self.echo {
            sink.write_ready(at_eof);
        }
    }

    /// Whether the stream is finished: end of file and nothing left to echo.
    pub(crate) fn is_done(&self) -> bool {
        self.fd.is_none() && !matches!(&self.echo, Some(EchoTo::Fd(sink)) if !sink.is_flushed())
    }

    /// Reads what is available (a bounded number of times).
    pub(crate) fn read(&mut self, scratch: &mut Vec<u8>, events: &mut Vec<Event>) -> Option<Error> {
        for _ in 0..READS_PER_ROUND {
            let pipe = self.fd.as_ref()?;
            let result = match self.capture.as_mut() {
                Some(buffer) => {
                    let before = buffer.len();
                    fd::read_append_once(pipe.as_fd(), buffer, READ_CHUNK)
                        .map(|n| n.map(|n| (before, n)))
                }
                None => {
                    scratch.resize(READ_CHUNK, 0);
                    fd::read_once(pipe.as_fd(), scratch).map(|n| n.map(|n| (0, n)))
                }
            };
            match result {
                Ok(Some((_, 0))) => {
                    self.finish(events);
                    return None;
                }
                Ok(Some((start, n))) => {
                    if n >= READ_CHUNK && !self.grown {
                        // A chatty child: fewer, larger transfers from now
                        // on. Quiet ones never pay for the bigger buffer.
                        self.grown = true;
                        fd::grow_pipe(pipe.as_fd(), GROWN_PIPE);
                    }
                    self.deliver(scratch, start, n, events);
                }
                Ok(None) => return None,
                Err(err) => {
                    self.finish(events);
                    return Some(Error::io(err, "read child output"));
                }
            }
            if !self.wants_read() {
                return None;
            }
        }
        None
    }

    /// Reads whatever is already waiting in the pipe, then closes it even
    /// without end of file (a descendant that escaped the teardown may hold
    /// the write end forever).
    pub(crate) fn abandon(&mut self, scratch: &mut Vec<u8>, events: &mut Vec<Event>) {
        if let Some(EchoTo::Fd(sink)) = &mut self.echo {
            sink.abandon();
        }
        while self.fd.is_some() {
            if self.read(scratch, events).is_some() || !self.has_more() {
                break;
            }
        }
        if self.fd.is_some() {
            self.finish(events);
        }
    }

    /// Whether the pipe still has bytes waiting (without blocking).
    fn has_more(&self) -> bool {
        self.fd
            .as_ref()
            .is_some_and(|fd| rustix::io::ioctl_fionread(fd).is_ok_and(|n| n > 0))
    }

    /// Echoes and splits the `n` bytes just read (at `start` in the capture
    /// buffer, or at the start of the scratch buffer).
    fn deliver(&mut self, scratch: &[u8], start: usize, n: usize, events: &mut Vec<Event>) {
        let data = match &self.capture {
            Some(buffer) => &buffer[start..start + n],
            None => &scratch[..n],
        };
        if let Some(live) = &self.live {
            live.push(data);
        }
        match &mut self.echo {
            Some(EchoTo::Fd(sink)) => sink.push(data),
            Some(EchoTo::Events { partial }) => {
                if let Some(at) = memchr::memrchr(b'\n', data) {
                    let mut chunk = std::mem::take(partial);
                    chunk.extend_from_slice(&data[..=at]);
                    partial.extend_from_slice(&data[at + 1..]);
                    events.push(Event {
                        stage: self.stage,
                        kind: EventKind::Output {
                            stream: self.stream,
                            data: chunk,
                        },
                    });
                } else {
                    partial.extend_from_slice(data);
                }
            }
            None => {}
        }
        if let Some((decoder, splitter)) = &mut self.lines {
            let mut text = String::new();
            decoder.decode(data, &mut text);
            let mut lines = Vec::new();
            splitter.feed(&text, &mut lines);
            let (stage, stream) = (self.stage, self.stream);
            events.extend(lines.into_iter().map(|text| Event {
                stage,
                kind: EventKind::Line { stream, text },
            }));
        }
    }

    /// End of file: close the pipe, flush partial lines.
    fn finish(&mut self, events: &mut Vec<Event>) {
        // Close the descriptor now: a finished stream is never polled again.
        self.fd = None;
        if let Some(live) = self.live.take() {
            live.close_writer();
        }
        match &mut self.echo {
            Some(EchoTo::Events { partial }) if !partial.is_empty() => events.push(Event {
                stage: self.stage,
                kind: EventKind::Output {
                    stream: self.stream,
                    data: std::mem::take(partial),
                },
            }),
            Some(EchoTo::Fd(sink)) => sink.write_ready(true),
            _ => {}
        }
        if let Some((decoder, splitter)) = &mut self.lines {
            let mut text = String::new();
            decoder.finish(&mut text);
            let mut lines = Vec::new();
            splitter.feed(&text, &mut lines);
            splitter.finish(&mut lines);
            let (stage, stream) = (self.stage, self.stream);
            events.extend(lines.into_iter().map(|text| Event {
                stage,
                kind: EventKind::Line { stream, text },
            }));
        }
    }
}

impl Feeder {
    /// Writes as much of the payload as the pipe takes. Returns `true` if
    /// the feed failed (the events say how); see [`Feeder::is_complete`].
    pub(crate) fn feed(&mut self, events: &mut Vec<Event>) -> bool {
        let data = (*self.data).as_ref();
        while self.written < data.len() {
            match fd::write_once(self.fd.as_fd(), &data[self.written..]) {
                Ok(Some(0)) => {
                    events.push(stdin_failed(
                        StdinOp::Write,
                        io::ErrorKind::WriteZero.into(),
                    ));
                    return true;
                }
                Ok(Some(n)) => self.written += n,
                Ok(None) => return false,
                Err(err) => {
                    events.push(stdin_failed(StdinOp::Write, err));
                    return true;
                }
            }
        }
        false
    }

    /// Whether the current chunk still has bytes to write.
    pub(crate) fn wants_write(&self) -> bool {
        self.written < (*self.data).as_ref().len()
    }

    /// After the current chunk: asks for the next one (once), or reports
    /// that the feed is over. Returns `true` when the pipe is to be closed.
    pub(crate) fn drained(&mut self, events: &mut Vec<Event>) -> bool {
        if !self.streamed {
            return true;
        }
        if !self.asked {
            self.asked = true;
            events.push(Event {
                stage: 0,
                kind: EventKind::StdinWanted,
            });
        }
        false
    }

    /// Takes the caller's answer to a [`EventKind::StdinWanted`].
    pub(crate) fn refill(&mut self, chunk: Chunk) {
        self.asked = false;
        self.before += self.written;
        self.written = 0;
        match chunk {
            Chunk::Data(data) => self.data = data,
            Chunk::End => {
                self.streamed = false;
                self.data = Arc::new(Vec::new());
            }
        }
    }

    /// Closes the pipe after a complete feed, reporting the byte count (or
    /// the close error).
    pub(crate) fn close(self, events: &mut Vec<Event>) {
        let bytes = self.before + self.written;
        let raw = self.fd.into_raw_fd();
        // SAFETY: `raw` came from an OwnedFd we just gave up, so it is open
        // and closed exactly once here.
        if unsafe { libc::close(raw) } != 0 {
            events.push(stdin_failed(StdinOp::Close, io::Error::last_os_error()));
        } else {
            events.push(Event {
                stage: 0,
                kind: EventKind::Stdin { bytes },
            });
        }
    }
}

/// The reader of a streamed stdin went away while the feeder waited for the
/// next chunk: reported like a write into a closed pipe.
pub(crate) fn stdin_gone() -> Event {
    stdin_failed(StdinOp::Write, io::Error::from_raw_os_error(libc::EPIPE))
}

fn stdin_failed(op: StdinOp, error: io::Error) -> Event {
    Event {
        stage: 0,
        kind: EventKind::StdinError { op, error },
    }
}

pub(super) fn to_captured(buffer: Vec<u8>, decode: Decode) -> Captured {
    match decode {
        Decode::Bytes => Captured::Bytes(buffer),
        Decode::Utf8Lossy => Captured::Text(match String::from_utf8(buffer) {
            Ok(text) => text,
            Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
        }),
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        // A live consumer must see the end of the stream, however the
        // reader ends (end of file, teardown, a failed spawn).
        if let Some(live) = self.live.take() {
            live.close_writer();
        }
    }
}
