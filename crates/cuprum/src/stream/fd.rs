//! Thin, retrying wrappers over `read(2)`, `write(2)` and `poll(2)`.
//!
//! Every wrapper retries `EINTR`. `read` and `write` also accept
//! non-blocking descriptors: on `EAGAIN` they wait for readiness with
//! `poll(2)` (never spinning) and try again, so callers see the same results
//! as with blocking descriptors.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

/// Reads at most `buf.len()` bytes; `Ok(0)` means end of input.
pub(super) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        if let Some(n) = read_once(fd, buf)? {
            return Ok(n);
        }
        wait(fd, libc::POLLIN, None)?;
    }
}

/// Makes one read attempt: `Ok(None)` if a non-blocking `fd` has nothing to
/// read yet, `Ok(Some(0))` at end of input.
pub(super) fn read_once(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        // SAFETY: `fd` is a live descriptor for the lifetime of the borrow and
        // `buf` is a writable region of exactly `buf.len()` bytes.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if let Ok(n) = usize::try_from(n) {
            return Ok(Some(n));
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => {}
            Some(code) if is_would_block(code) => return Ok(None),
            _ => return Err(err),
        }
    }
}

/// Reads at most `max` bytes onto the end of `data`; `Ok(0)` means end of
/// input. The bytes go straight into `data`'s spare capacity, so a large
/// `max` costs address space, not zeroed memory.
pub(super) fn read_append(fd: BorrowedFd<'_>, data: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    data.reserve(max);
    loop {
        let spare = &mut data.spare_capacity_mut()[..max];
        // SAFETY: `fd` is a live descriptor for the lifetime of the borrow and
        // `spare` is `max` writable bytes owned by `data`; `read(2)` only
        // stores into them, so their being uninitialised does not matter.
        let n = unsafe { libc::read(fd.as_raw_fd(), spare.as_mut_ptr().cast(), max) };
        if let Ok(n) = usize::try_from(n) {
            assert!(n <= max, "read(2) reported more bytes than requested");
            // SAFETY: the kernel initialised the first `n` bytes of the spare
            // capacity, and `n <= max <= capacity - len`.
            unsafe { data.set_len(data.len() + n) };
            return Ok(n);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => {}
            Some(code) if is_would_block(code) => {
                wait(fd, libc::POLLIN, None)?;
            }
            _ => return Err(err),
        }
    }
}

/// Writes some of `buf` (at least one byte unless the kernel reports zero
/// progress, which the caller must treat as an error).
pub(super) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `fd` is a live descriptor for the lifetime of the borrow and
        // `buf` is a readable region of exactly `buf.len()` bytes.
        let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
        if let Ok(n) = usize::try_from(n) {
            return Ok(n);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => {}
            Some(code) if is_would_block(code) => {
                wait(fd, libc::POLLOUT, None)?;
            }
            _ => return Err(err),
        }
    }
}

/// Whether `code` means "try again later" on a non-blocking descriptor.
pub(super) fn is_would_block(code: i32) -> bool {
    code == libc::EAGAIN || code == libc::EWOULDBLOCK
}

/// Waits until `fd` reports one of `events` (or an error or hang-up, which
/// the next I/O call turns into a result).
///
/// With a `timeout`, returns `Ok(false)` if it expired first; without one,
/// waits as long as needed and returns `Ok(true)`.
pub(super) fn wait(
    fd: BorrowedFd<'_>,
    events: libc::c_short,
    timeout: Option<Duration>,
) -> io::Result<bool> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let millis = match deadline {
            None => -1,
            Some(deadline) => poll_millis(deadline.saturating_duration_since(Instant::now())),
        };
        let mut pollfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events,
            revents: 0,
        };
        // SAFETY: `pollfd` is one valid, initialised `pollfd` that outlives the
        // call, and we pass a count of exactly one.
        let ready = unsafe { libc::poll(&mut pollfd, 1, millis) };
        match ready {
            n if n > 0 => {
                if pollfd.revents & libc::POLLNVAL != 0 {
                    return Err(io::Error::from_raw_os_error(libc::EBADF));
                }
                return Ok(true);
            }
            0 if millis == 0 => return Ok(false),
            0 => {}
            _ => {
                let err = io::Error::last_os_error();
                if err.raw_os_error() != Some(libc::EINTR) {
                    return Err(err);
                }
            }
        }
    }
}

/// Converts a remaining duration to a `poll(2)` timeout, rounding up so a
/// sub-millisecond remainder waits instead of spinning.
fn poll_millis(remaining: Duration) -> libc::c_int {
    if remaining.is_zero() {
        return 0;
    }
    let millis = remaining.as_nanos().div_ceil(1_000_000);
    libc::c_int::try_from(millis).unwrap_or(libc::c_int::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_millis_rounds_up() {
        assert_eq!(poll_millis(Duration::ZERO), 0);
        assert_eq!(poll_millis(Duration::from_nanos(1)), 1);
        assert_eq!(poll_millis(Duration::from_micros(1500)), 2);
        assert_eq!(poll_millis(Duration::from_secs(u64::MAX)), libc::c_int::MAX);
    }
}
