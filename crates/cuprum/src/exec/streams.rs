//! The supervisor's stream work: reading output (capture, echo, line
//! events) and feeding stdin, one non-blocking step at a time.

use std::io;
use std::os::fd::{AsFd, IntoRawFd, OwnedFd};

use super::event::{Event, EventKind, StdinOp, Stream};
use super::outcome::Captured;
use super::spec::Decode;
use super::supervisor::Supervisor;
use super::sys;
use crate::stream::{LineSplitter, Utf8Decoder};
use crate::Error;

/// Bytes read per system call from an output pipe.
const READ_CHUNK: usize = 1 << 16;
/// Reads per stream per poll round, so one chatty stream cannot starve the
/// others.
const READS_PER_ROUND: usize = 16;

/// Where a stream's bytes are echoed.
pub(crate) enum EchoTo {
    Fd(OwnedFd),
    Events,
}

/// One piped output stream.
pub(crate) struct Reader {
    /// `None` once the stream reached end of file (and was closed).
    pub(crate) fd: Option<OwnedFd>,
    pub(crate) stage: usize,
    pub(crate) stream: Stream,
    pub(crate) capture: Option<Vec<u8>>,
    pub(crate) echo: Option<EchoTo>,
    pub(crate) lines: Option<(Utf8Decoder, LineSplitter)>,
}

/// The stdin payload still to write.
pub(crate) struct Feeder {
    pub(crate) fd: OwnedFd,
    pub(crate) data: Vec<u8>,
    pub(crate) written: usize,
}

impl Supervisor {
    pub(super) fn read_stream(&mut self, index: usize) {
        for _ in 0..READS_PER_ROUND {
            let reader = &mut self.readers[index];
            let Some(fd) = reader.fd.as_ref() else { return };
            let result = match reader.capture.as_mut() {
                Some(buffer) => {
                    let before = buffer.len();
                    sys::read_append(fd.as_fd(), buffer, READ_CHUNK).map(|n| (before, n))
                }
                None => {
                    self.scratch.resize(READ_CHUNK, 0);
                    sys::read(fd.as_fd(), &mut self.scratch).map(|n| (0, n))
                }
            };
            match result {
                Ok((_, 0)) => {
                    self.finish_stream(index);
                    return;
                }
                Ok((start, n)) => self.deliver(index, start, n),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) => {
                    self.error
                        .get_or_insert(Error::io(err, "read child output"));
                    self.finish_stream(index);
                    return;
                }
            }
        }
    }

    /// Echoes and splits the `n` bytes just read (at `start` in the capture
    /// buffer, or at the start of the scratch buffer).
    pub(super) fn deliver(&mut self, index: usize, start: usize, n: usize) {
        let reader = &mut self.readers[index];
        let data = match &reader.capture {
            Some(buffer) => &buffer[start..start + n],
            None => &self.scratch[..n],
        };
        match &reader.echo {
            // A sink that fails is gone: keep capturing, stop echoing.
            Some(EchoTo::Fd(fd)) if sys::write_all(fd.as_fd(), data).is_err() => reader.echo = None,
            Some(EchoTo::Fd(_)) | None => {}
            Some(EchoTo::Events) => self.events.push(Event {
                stage: reader.stage,
                kind: EventKind::Output {
                    stream: reader.stream,
                    data: data.to_vec(),
                },
            }),
        }
        if let Some((decoder, splitter)) = &mut reader.lines {
            let mut text = String::new();
            decoder.decode(data, &mut text);
            let mut lines = Vec::new();
            splitter.feed(&text, &mut lines);
            let (stage, stream) = (reader.stage, reader.stream);
            self.events.extend(lines.into_iter().map(|text| Event {
                stage,
                kind: EventKind::Line { stream, text },
            }));
        }
    }

    pub(super) fn finish_stream(&mut self, index: usize) {
        let reader = &mut self.readers[index];
        // Close the descriptor now: a finished stream is never polled again.
        reader.fd = None;
        if let Some((decoder, splitter)) = &mut reader.lines {
            let mut text = String::new();
            decoder.finish(&mut text);
            let mut lines = Vec::new();
            splitter.feed(&text, &mut lines);
            splitter.finish(&mut lines);
            let (stage, stream) = (reader.stage, reader.stream);
            self.events.extend(lines.into_iter().map(|text| Event {
                stage,
                kind: EventKind::Line { stream, text },
            }));
        }
    }

    pub(super) fn feed_stdin(&mut self) {
        let Some(feeder) = self.feeder.as_mut() else {
            return;
        };
        while feeder.written < feeder.data.len() {
            match sys::write(feeder.fd.as_fd(), &feeder.data[feeder.written..]) {
                Ok(0) => {
                    self.stdin_failed(StdinOp::Write, io::ErrorKind::WriteZero.into());
                    return;
                }
                Ok(n) => feeder.written += n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) => {
                    self.stdin_failed(StdinOp::Write, err);
                    return;
                }
            }
        }
        let Some(feeder) = self.feeder.take() else {
            return;
        };
        let bytes = feeder.data.len();
        let raw = feeder.fd.into_raw_fd();
        // SAFETY: `raw` came from an OwnedFd we just gave up, so it is open
        // and closed exactly once here.
        if unsafe { libc::close(raw) } != 0 {
            let err = io::Error::last_os_error();
            self.events.push(Event {
                stage: 0,
                kind: EventKind::StdinError {
                    op: StdinOp::Close,
                    error: err,
                },
            });
        } else {
            self.events.push(Event {
                stage: 0,
                kind: EventKind::Stdin { bytes },
            });
        }
    }

    fn stdin_failed(&mut self, op: StdinOp, error: io::Error) {
        self.feeder = None;
        self.events.push(Event {
            stage: 0,
            kind: EventKind::StdinError { op, error },
        });
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
