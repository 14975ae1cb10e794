//! The Linux fast path: move bytes with `splice(2)`, inside the kernel.
//!
//! `splice(2)` needs a pipe at one end at least, so pipe→pipe, file→pipe,
//! pipe→socket and socket→pipe are spliced, while file→file and
//! socket→socket are not. Rather than guess from the descriptor types, the
//! first call is the probe: `EINVAL` there means "cannot splice this pair"
//! and the caller falls back to the read/write loop for the whole transfer.
//! Once bytes have been spliced, `EINVAL` is an error like any other.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use super::fd;
use super::options::{Drain, Method, PumpReport};
use super::pump::{add_bytes, drain_reader, is_downstream_closed};
use crate::{Error, Result};

/// Move pages instead of copying where the kernel can, and hint that more
/// data follows.
const FLAGS: libc::c_uint = libc::SPLICE_F_MOVE | libc::SPLICE_F_MORE;

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
            Err(err) => match err.raw_os_error() {
                Some(libc::EINVAL) if !spliced => return Ok(None),
                Some(code) if fd::is_would_block(code) => {
                    wait_both(reader, writer).map_err(|e| Error::io(e, CONTEXT))?;
                }
                _ if is_downstream_closed(&err) => {
                    let mut buf = vec![0_u8; chunk];
                    drain_reader(reader, &mut buf, drain)?;
                    return Ok(Some(PumpReport::new(total, Method::Splice, true)));
                }
                _ => return Err(Error::io(err, CONTEXT)),
            },
        }
    }
}

/// One `splice(2)` call, retried on `EINTR`.
fn splice_once(reader: BorrowedFd<'_>, writer: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
    loop {
        // SAFETY: both descriptors are live for the duration of their
        // borrows; null offsets tell the kernel to use (and advance) each
        // file's own position, so no memory is passed in.
        let n = unsafe {
            libc::splice(
                reader.as_raw_fd(),
                std::ptr::null_mut(),
                writer.as_raw_fd(),
                std::ptr::null_mut(),
                len,
                FLAGS,
            )
        };
        if let Ok(n) = usize::try_from(n) {
            return Ok(n);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// Waits until a non-blocking splice can progress: data (or end of input) on
/// the reader, then room (or an error) on the writer. Waiting for each in
/// turn, rather than for either, avoids spinning when only one is ready.
fn wait_both(reader: BorrowedFd<'_>, writer: BorrowedFd<'_>) -> io::Result<()> {
    fd::wait(reader, libc::POLLIN, None)?;
    fd::wait(writer, libc::POLLOUT, None)?;
    Ok(())
}
