//! Echo sinks: where a stream's bytes are forwarded as they arrive, whole
//! lines at a time and without ever blocking the supervisor.
//!
//! The sink descriptor belongs to the caller (often the terminal, or a pipe
//! that other code writes to as well), so its file status flags are left
//! alone: instead of `O_NONBLOCK`, a write is made only when it cannot block.
//! Regular files and `/dev/null` never block; a pipe takes as many bytes as
//! it has free room (its capacity less the bytes waiting in it); any other
//! sink takes `PIPE_BUF` bytes once `poll` reports it writable.
//!
//! Every write holds whole lines (a final partial line goes out at end of
//! file, or when one line outgrows a write), so runs echoing to one sink at
//! the same time never interleave inside a line.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::FileType;

/// Bytes written at most per readiness report to a sink of unknown room.
const PIPE_BUF: usize = 4096;
/// Pending bytes above which the stream feeding the sink is not read until
/// the sink catches up (backpressure towards the child).
pub(crate) const ECHO_BACKLOG: usize = 1 << 20;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Writes never block (regular files, `/dev/null`).
    Direct,
    /// A pipe: free room = capacity - unread bytes.
    Pipe,
    /// Anything else (terminals, sockets, character devices).
    Other,
}

/// A descriptor sink with its pending, not yet written bytes.
pub(crate) struct EchoSink {
    fd: OwnedFd,
    kind: Kind,
    pending: Vec<u8>,
    /// Bytes of `pending` already written.
    written: usize,
    /// The sink failed (closed, full disk, …): echo stops, capture goes on.
    broken: bool,
}

impl EchoSink {
    pub(crate) fn new(fd: OwnedFd) -> Self {
        let kind = match rustix::fs::fstat(&fd) {
            Ok(stat) => match FileType::from_raw_mode(stat.st_mode) {
                FileType::RegularFile => Kind::Direct,
                FileType::Fifo => Kind::Pipe,
                FileType::CharacterDevice if is_dev_null(stat.st_rdev) => Kind::Direct,
                _ => Kind::Other,
            },
            Err(_) => Kind::Other,
        };
        Self {
            fd,
            kind,
            pending: Vec::new(),
            written: 0,
            broken: false,
        }
    }

    /// Queues `data` and writes what can be written without blocking.
    pub(crate) fn push(&mut self, data: &[u8]) {
        if self.broken {
            return;
        }
        self.pending.extend_from_slice(data);
        // Only a sink of unknown room waits for a readiness report.
        if self.kind != Kind::Other {
            self.write_ready(false);
        }
    }

    /// Bytes waiting for the sink.
    pub(crate) fn backlog(&self) -> usize {
        self.pending.len() - self.written
    }

    /// Whether the supervisor should wait for the sink to become writable.
    pub(crate) fn wants_write(&self, at_eof: bool) -> bool {
        !self.broken && self.kind != Kind::Direct && self.writable_len(at_eof) > 0
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Whether everything queued has been written (or the sink is broken).
    pub(crate) fn is_flushed(&self) -> bool {
        self.broken || self.backlog() == 0
    }

    /// The length of the pending prefix that may be written: up to the last
    /// complete line, or everything at end of file.
    fn writable_len(&self, at_eof: bool) -> usize {
        let rest = &self.pending[self.written..];
        if at_eof {
            return rest.len();
        }
        memchr::memrchr(b'\n', rest).map_or(0, |at| at + 1)
    }

    /// Writes what the sink takes now (the caller saw it writable, or it
    /// never blocks). With `at_eof`, a final partial line goes too.
    pub(crate) fn write_ready(&mut self, at_eof: bool) {
        while !self.broken {
            let mut len = self.writable_len(at_eof);
            if len == 0 {
                break;
            }
            let room = match self.kind {
                Kind::Direct => len,
                Kind::Pipe => pipe_room(self.fd.as_fd()),
                Kind::Other => PIPE_BUF,
            };
            if room == 0 {
                break;
            }
            if len > room {
                // Whole lines that fit; a single line longer than the room
                // is written in pieces.
                let rest = &self.pending[self.written..self.written + room];
                len = memchr::memrchr(b'\n', rest).map_or(room, |at| at + 1);
            }
            let chunk = &self.pending[self.written..self.written + len];
            match rustix::io::write(&self.fd, chunk) {
                Ok(0) => self.broken = true,
                Ok(n) => self.written += n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::AGAIN) => break,
                Err(_) => self.broken = true,
            }
            if self.kind == Kind::Other {
                // One write per readiness report: the next needs a new one.
                break;
            }
        }
        if self.broken || self.written == self.pending.len() {
            self.pending.clear();
            self.written = 0;
        } else if self.written > (1 << 16) && self.written * 2 > self.pending.len() {
            self.pending.drain(..self.written);
            self.written = 0;
        }
    }

    /// Gives up on what is still pending (the run is being torn down).
    pub(crate) fn abandon(&mut self) {
        self.pending.clear();
        self.written = 0;
        self.broken = true;
    }
}

/// Free room in a pipe: its capacity less the bytes waiting in it.
fn pipe_room(fd: BorrowedFd<'_>) -> usize {
    let capacity = rustix::pipe::fcntl_getpipe_size(fd).unwrap_or(PIPE_BUF);
    let queued = rustix::io::ioctl_fionread(fd).map_or(capacity as u64, |n| n);
    capacity.saturating_sub(usize::try_from(queued).unwrap_or(usize::MAX))
}

fn is_dev_null(rdev: u64) -> bool {
    rustix::fs::major(rdev) == 1 && rustix::fs::minor(rdev) == 3
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn pipe_sink() -> (EchoSink, std::io::PipeReader) {
        let (reader, writer) = std::io::pipe().expect("pipe");
        (EchoSink::new(OwnedFd::from(writer)), reader)
    }

    fn drain(reader: &mut std::io::PipeReader, sink: EchoSink) -> Vec<u8> {
        drop(sink);
        let mut out = Vec::new();
        reader.read_to_end(&mut out).expect("read");
        out
    }

    #[test]
    fn only_whole_lines_are_written_until_end_of_file() {
        let (mut sink, mut reader) = pipe_sink();
        sink.push(b"ab");
        assert_eq!(sink.backlog(), 2, "a partial line waits");
        sink.push(b"c\nd");
        assert_eq!(sink.backlog(), 1, "the complete line went out");
        assert!(!sink.wants_write(false), "no complete line is pending");
        assert!(sink.wants_write(true) || sink.is_flushed());
        sink.write_ready(true);
        assert!(sink.is_flushed());
        assert_eq!(drain(&mut reader, sink), b"abc\nd");
    }

    #[test]
    fn a_full_pipe_is_never_written_into_beyond_its_room() {
        let (mut sink, mut reader) = pipe_sink();
        let capacity = rustix::pipe::fcntl_getpipe_size(sink.fd()).expect("size");
        let line = b"0123456789abcde\n";
        let total = capacity * 2;
        let data: Vec<u8> = line.iter().copied().cycle().take(total).collect();
        // Returns without blocking although the data is twice the pipe size.
        sink.push(&data);
        assert!(sink.backlog() >= capacity);
        assert!(
            sink.backlog() % line.len() == 0,
            "only whole lines were written"
        );
        let mut first = vec![0; capacity];
        reader.read_exact(&mut first).expect("read");
        sink.write_ready(false);
        assert!(sink.is_flushed());
        let mut out = first;
        out.extend(drain(&mut reader, sink));
        assert_eq!(out, data);
    }

    #[test]
    fn an_abandoned_sink_drops_what_is_pending() {
        let (mut sink, mut reader) = pipe_sink();
        sink.push(b"partial");
        sink.abandon();
        sink.push(b"more\n");
        assert!(sink.is_flushed());
        assert_eq!(drain(&mut reader, sink), b"");
    }
}
