//! What the pump paths share: byte accounting, what counts as "the
//! downstream end went away", and the drain policy applied after it.

use std::io;
use std::os::fd::BorrowedFd;
use std::time::Instant;

use rustix::event::PollFlags;

use super::options::Drain;
use crate::{fd, Error, ErrorKind, Result};

/// Whether a write error means the downstream end has gone away.
pub(super) fn is_downstream_closed(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EPIPE | libc::ECONNRESET))
}

/// Discards the reader's data as `drain` says, using `buf` for the reads.
///
/// # Errors
///
/// A read that fails for a reason other than `EINTR`/`EAGAIN`.
pub(super) fn drain_reader(reader: BorrowedFd<'_>, buf: &mut [u8], drain: Drain) -> Result<()> {
    let read_error = |e| Error::io(e, "read from the source descriptor while draining");
    match drain {
        Drain::ToEof => {
            while fd::read(reader, buf).map_err(read_error)? != 0 {}
            Ok(())
        }
        Drain::For(grace) => {
            let deadline = Instant::now().checked_add(grace);
            loop {
                let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                if !fd::wait(reader, PollFlags::IN, remaining).map_err(read_error)? {
                    return Ok(());
                }
                if fd::read_once(reader, buf).map_err(read_error)? == Some(0) {
                    return Ok(());
                }
            }
        }
    }
}

/// Adds `n` freshly moved bytes to the running total.
pub(super) fn add_bytes(total: u64, n: usize) -> Result<u64> {
    u64::try_from(n)
        .ok()
        .and_then(|n| total.checked_add(n))
        .ok_or_else(|| Error::new(ErrorKind::Overflow, "integer length conversion overflowed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_are_checked() {
        assert_eq!(add_bytes(1, 2).ok(), Some(3));
        let err = add_bytes(u64::MAX, 1).expect_err("overflow");
        assert_eq!(err.kind(), ErrorKind::Overflow);
        assert!(err.raw_os_error().is_none());
    }

    #[test]
    fn downstream_closure_errors() {
        for code in [libc::EPIPE, libc::ECONNRESET] {
            assert!(is_downstream_closed(&io::Error::from_raw_os_error(code)));
        }
        assert!(!is_downstream_closed(&io::Error::from_raw_os_error(
            libc::EBADF
        )));
    }
}
