//! Inter-stage relays, driven by readiness inside the supervisor: no thread
//! per hop, and nothing that can block.
//!
//! A relay moves bytes from one stage's stdout pipe to the next stage's
//! stdin pipe, with non-blocking `splice(2)` on Linux (the first `EINVAL`
//! selects the portable read/write copy for the hop; after a successful
//! splice `EINVAL` is an error like any other).
//!
//! Early exit behaves like a shell (`spec/beyond.md` §12.3): as soon as the
//! downstream stage's stdin reader is gone — the write end reports an error
//! (`POLLERR`) or a transfer fails with `EPIPE` — the relay closes the
//! upstream pipe at once, so an endless producer gets `SIGPIPE` on its next
//! write. There is no grace period.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::io::Errno;
use rustix::pipe::SpliceFlags;

use crate::{Error, Result};

/// Bytes moved per system call at most.
const CHUNK: usize = 1 << 20;
/// Transfers per readiness report, so one busy hop cannot starve the rest.
const TRANSFERS_PER_ROUND: usize = 16;
/// The copy buffer of the portable method.
const COPY_BUFFER: usize = 1 << 16;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    /// Not yet known: the first splice decides.
    Probe,
    Splice,
    Portable,
}

/// What a relay waits for next.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Wait {
    /// The upstream pipe to become readable (the write end is watched for
    /// errors only).
    Read,
    /// The downstream pipe to have room.
    Write,
}

/// One hop between stage `upstream` and stage `upstream + 1`.
pub(crate) struct Relay {
    pub(crate) upstream: usize,
    from: Option<OwnedFd>,
    to: Option<OwnedFd>,
    method: Method,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    wait: Wait,
    /// The downstream stage stopped reading before the upstream finished.
    pub(crate) reader_gone: bool,
}

impl Relay {
    /// A relay between two non-blocking pipe ends the supervisor owns.
    pub(crate) fn new(upstream: usize, from: OwnedFd, to: OwnedFd, portable: bool) -> Result<Self> {
        for end in [&from, &to] {
            crate::fd::set_pipe_nonblocking(end.as_fd())
                .map_err(|e| Error::io(e, "set relay pipe non-blocking"))?;
        }
        Ok(Self {
            upstream,
            from: Some(from),
            to: Some(to),
            method: if portable {
                Method::Portable
            } else {
                Method::Probe
            },
            buf: Vec::new(),
            start: 0,
            end: 0,
            wait: Wait::Read,
            reader_gone: false,
        })
    }

    /// Whether both ends are closed.
    pub(crate) fn is_done(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// The upstream read end and the downstream write end, while open.
    pub(crate) fn ends(&self) -> (Option<BorrowedFd<'_>>, Option<BorrowedFd<'_>>) {
        (
            self.from.as_ref().map(AsFd::as_fd),
            self.to.as_ref().map(AsFd::as_fd),
        )
    }

    pub(crate) fn wait(&self) -> Wait {
        self.wait
    }

    /// Closes both ends: the upstream stage gets `SIGPIPE` on its next
    /// write, the downstream stage end of file.
    pub(crate) fn close(&mut self) {
        self.from = None;
        self.to = None;
    }

    /// The downstream write end reported an error: its reader is gone.
    pub(crate) fn on_reader_gone(&mut self) {
        self.reader_gone = true;
        self.close();
    }

    /// Moves what can be moved now. Errors close the relay.
    pub(crate) fn advance(&mut self) -> Result<()> {
        for _ in 0..TRANSFERS_PER_ROUND {
            let (Some(from), Some(to)) = (self.from.as_ref(), self.to.as_ref()) else {
                return Ok(());
            };
            let step = match self.method {
                Method::Probe | Method::Splice => splice_step(from.as_fd(), to.as_fd()),
                Method::Portable => self.copy_step(),
            };
            match step {
                Ok(Step::Moved) => {
                    if self.method == Method::Probe {
                        self.method = Method::Splice;
                    }
                    self.wait = Wait::Read;
                }
                Ok(Step::Eof) => {
                    self.close();
                    return Ok(());
                }
                Ok(Step::Blocked(wait)) => {
                    self.wait = wait;
                    return Ok(());
                }
                Err(Errno::INVAL) if self.method == Method::Probe => self.method = Method::Portable,
                Err(Errno::PIPE | Errno::CONNRESET) => {
                    self.on_reader_gone();
                    return Ok(());
                }
                Err(errno) => {
                    self.close();
                    let context = match self.method {
                        Method::Portable => "relay between stages",
                        _ => "splice between stages",
                    };
                    return Err(Error::io(errno.into(), context));
                }
            }
        }
        Ok(())
    }

    fn copy_step(&mut self) -> rustix::io::Result<Step> {
        let (Some(from), Some(to)) = (self.from.as_ref(), self.to.as_ref()) else {
            return Ok(Step::Eof);
        };
        if self.start < self.end {
            return match retry(|| rustix::io::write(to, &self.buf[self.start..self.end])) {
                Ok(n) => {
                    self.start += n;
                    Ok(Step::Moved)
                }
                Err(Errno::AGAIN) => Ok(Step::Blocked(Wait::Write)),
                Err(errno) => Err(errno),
            };
        }
        if self.buf.is_empty() {
            self.buf.resize(COPY_BUFFER, 0);
        }
        match retry(|| rustix::io::read(from, &mut self.buf[..])) {
            Ok(0) => Ok(Step::Eof),
            Ok(n) => {
                self.start = 0;
                self.end = n;
                Ok(Step::Moved)
            }
            Err(Errno::AGAIN) => Ok(Step::Blocked(Wait::Read)),
            Err(errno) => Err(errno),
        }
    }
}

enum Step {
    Moved,
    Eof,
    Blocked(Wait),
}

fn splice_step(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> rustix::io::Result<Step> {
    let flags = SpliceFlags::NONBLOCK | SpliceFlags::MOVE | SpliceFlags::MORE;
    match retry(|| rustix::pipe::splice(from, None, to, None, CHUNK, flags)) {
        Ok(0) => Ok(Step::Eof),
        Ok(_) => Ok(Step::Moved),
        // Either end may be the one that would block: ask the write end.
        Err(Errno::AGAIN) => Ok(Step::Blocked(if has_room(to) {
            Wait::Read
        } else {
            Wait::Write
        })),
        Err(errno) => Err(errno),
    }
}

/// Whether a write to `fd` would make progress now.
fn has_room(fd: BorrowedFd<'_>) -> bool {
    use rustix::event::{PollFd, PollFlags};
    let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::OUT)];
    let zero = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(1))
        && fds[0].revents().contains(PollFlags::OUT)
}

fn retry<T>(mut op: impl FnMut() -> rustix::io::Result<T>) -> rustix::io::Result<T> {
    loop {
        match op() {
            Err(Errno::INTR) => {}
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    use super::*;

    /// A relay between two fresh pipes: (relay, upstream writer, downstream
    /// reader).
    fn relay(portable: bool) -> (Relay, std::io::PipeWriter, std::io::PipeReader) {
        let (from, upstream) = std::io::pipe().expect("pipe");
        let (downstream, to) = std::io::pipe().expect("pipe");
        let relay = Relay::new(0, OwnedFd::from(from), OwnedFd::from(to), portable).expect("relay");
        (relay, upstream, downstream)
    }

    #[test]
    fn bytes_move_and_end_of_file_closes_both_ends() {
        for portable in [false, true] {
            let (mut relay, mut upstream, mut downstream) = relay(portable);
            upstream.write_all(b"hello").expect("write");
            drop(upstream);
            relay.advance().expect("advance");
            relay.advance().expect("advance");
            assert!(relay.is_done());
            let mut out = Vec::new();
            downstream.read_to_end(&mut out).expect("read");
            assert_eq!(out, b"hello");
            assert!(!relay.reader_gone);
        }
    }

    #[test]
    fn a_gone_reader_closes_the_upstream_pipe_at_once() {
        for portable in [false, true] {
            let (mut relay, mut upstream, downstream) = relay(portable);
            drop(downstream);
            upstream.write_all(b"data").expect("write");
            relay.advance().expect("a broken pipe is not an error");
            assert!(relay.reader_gone);
            assert!(relay.is_done());
            // The producer's next write fails: its reader is closed.
            let err = upstream.write_all(b"more").expect_err("broken pipe");
            assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
        }
    }

    /// Writes to a non-blocking `writer` until the pipe is full.
    fn fill(writer: &std::io::PipeWriter) {
        let chunk = [7_u8; 4096];
        while crate::fd::write_once(writer.as_fd(), &chunk)
            .expect("write")
            .is_some()
        {}
    }

    #[test]
    fn an_idle_upstream_waits_for_reading_and_a_full_downstream_for_room() {
        let (mut relay, upstream, mut downstream) = relay(false);
        crate::fd::set_pipe_nonblocking(upstream.as_fd()).expect("non-blocking");
        relay.advance().expect("advance");
        assert_eq!(relay.wait(), Wait::Read, "nothing to move yet");
        for _ in 0..8 {
            fill(&upstream);
            relay.advance().expect("advance");
            if relay.wait() == Wait::Write {
                break;
            }
        }
        assert_eq!(relay.wait(), Wait::Write, "the downstream pipe is full");
        let mut taken = vec![0_u8; 4096];
        downstream.read_exact(&mut taken).expect("read");
        relay.advance().expect("advance");
        assert!(!relay.reader_gone);
        assert!(!relay.is_done());
    }
}
