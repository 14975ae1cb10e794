//! The Linux fast path: move bytes with `splice(2)`, inside the kernel.
//!
//! `splice(2)` needs a pipe at one end at least, so pipe→pipe, file→pipe,
//! pipe→socket and socket→pipe are spliced, while file→file and
//! socket→socket are not. Rather than guess from the descriptor types, the
//! first call is the probe: `EINVAL` there means "cannot splice this pair"
//! and the caller falls back to the read/write loop for the whole transfer.
//! Once bytes have been spliced, `EINVAL` is an error like any other.

use std::io;
use std::os::fd::BorrowedFd;

use rustix::event::PollFlags;
use rustix::io::Errno;
use rustix::pipe::SpliceFlags;

use super::drain::{add_bytes, drain_reader, is_downstream_closed};
use super::options::{Drain, Method, PumpReport};
use crate::{fd, Error, Result};

/// Move pages instead of copying where the kernel can, and hint that more
/// data follows.
const FLAGS: SpliceFlags = SpliceFlags::MOVE.union(SpliceFlags::MORE);

const CONTEXT: &str = "splice from the source to the sink descriptor";

/// Splices `reader` into `writer` until end of input, `chunk` bytes per call
/// at most.
///
/// Returns `Ok(None)` if the kernel refused the first call with `EINVAL`
/// (nothing was moved; the caller must use the read/write loop).
pub(super) fn pump(
    reader: BorrowedFd<'_>,
    writer: BorrowedFd<'_>,
    chunk: usize,
    drain: Drain,
) -> Result<Option<PumpReport>> {
    let mut total = 0_u64;
    let mut spliced = false;
    loop {
        match splice_once(reader, writer, chunk) {
            Ok(0) => return Ok(Some(PumpReport::new(total, Method::Splice, false))),
            Ok(n) => {
                total = add_bytes(total, n)?;
                spliced = true;
            }
            Err(Errno::INVAL) if !spliced => return Ok(None),
            Err(Errno::AGAIN) => {
                wait_both(reader, writer).map_err(|e| Error::io(e, CONTEXT))?;
            }
            Err(errno) => match io::Error::from(errno) {
                err if is_downstream_closed(&err) => {
                    let mut buf = vec![0_u8; chunk];
                    drain_reader(reader, &mut buf, drain)?;
                    return Ok(Some(PumpReport::new(total, Method::Splice, true)));
                }
                err => return Err(Error::io(err, CONTEXT)),
            },
        }
    }
}

/// One `splice(2)` call, retried on `EINTR`; null offsets: each file's
/// own position is used and advanced.
fn splice_once(
    reader: BorrowedFd<'_>,
    writer: BorrowedFd<'_>,
    len: usize,
) -> rustix::io::Result<usize> {
    loop {
        match rustix::pipe::splice(reader, None, writer, None, len, FLAGS) {
            Err(Errno::INTR) => {}
            other => return other,
        }
    }
}

/// Waits until a non-blocking splice can progress: data (or end of input) on
/// the reader, then room (or an error) on the writer. Waiting for each in
/// turn, rather than for either, avoids spinning when only one is ready.
fn wait_both(reader: BorrowedFd<'_>, writer: BorrowedFd<'_>) -> io::Result<()> {
    fd::wait(reader, PollFlags::IN, None)?;
    fd::wait(writer, PollFlags::OUT, None)?;
    Ok(())
}
