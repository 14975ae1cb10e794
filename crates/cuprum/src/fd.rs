//! The engine's one descriptor helper module, over `rustix`.
//!
//! Two families, named for their rule on `EAGAIN`:
//!
//! - `*_once` calls make one attempt and report "would block" as
//!   `Ok(None)`: the supervisor's readiness-driven state machines use them
//!   and never wait inside an I/O call;
//! - [`read`], [`read_append`] and [`write`] wait for readiness with
//!   `poll(2)` on `EAGAIN` and try again, so the standalone pump behaves the
//!   same on blocking and non-blocking descriptors.
//!
//! Every call retries `EINTR` and keeps the OS error's `errno`.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;

/// Retries `op` while it fails with `EINTR`.
fn retry<T>(mut op: impl FnMut() -> rustix::io::Result<T>) -> rustix::io::Result<T> {
    loop {
        match op() {
            Err(Errno::INTR) => {}
            other => return other,
        }
    }
}

/// `Ok(None)` for "would block", the error otherwise.
fn unless_would_block<T>(result: rustix::io::Result<T>) -> io::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Errno::AGAIN) => Ok(None),
        Err(errno) => Err(errno.into()),
    }
}

/// A pipe whose both ends are close-on-exec: `(read end, write end)`.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?)
}

/// Grows a pipe's kernel buffer (best effort: a smaller buffer only costs
/// throughput, so errors are ignored).
pub(crate) fn grow_pipe(fd: BorrowedFd<'_>, size: usize) {
    let _ = rustix::pipe::fcntl_setpipe_size(fd, size);
}

/// Puts an end of a pipe made by [`pipe`] in non-blocking mode. Such an end
/// has no other file status flag to keep, so one `F_SETFL` does it (no
/// `F_GETFL` first); not for descriptors from elsewhere, whose flags (say
/// `O_APPEND`) it would clear.
pub(crate) fn set_pipe_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    Ok(rustix::fs::fcntl_setfl(fd, rustix::fs::OFlags::NONBLOCK)?)
}

/// Duplicates `fd` (close-on-exec).
pub(crate) fn dup(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    fd.try_clone_to_owned()
}

/// One read: `Ok(Some(0))` is end of input, `Ok(None)` "would block".
pub(crate) fn read_once(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Option<usize>> {
    unless_would_block(retry(|| rustix::io::read(fd, &mut *buf)))
}

/// One read onto the end of `data`, straight into its spare capacity (no
/// zeroing), which is first grown to at least `min_room` bytes:
/// `Ok(Some(0))` is end of input, `Ok(None)` "would block".
pub(crate) fn read_append_once(
    fd: BorrowedFd<'_>,
    data: &mut Vec<u8>,
    min_room: usize,
) -> io::Result<Option<usize>> {
    if data.capacity() - data.len() < min_room {
        data.reserve(min_room.max(data.len() / 2));
    }
    unless_would_block(retry(|| {
        rustix::io::read(fd, rustix::buffer::spare_capacity(&mut *data))
    }))
}

/// One write: `Ok(None)` "would block".
pub(crate) fn write_once(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<Option<usize>> {
    unless_would_block(retry(|| rustix::io::write(fd, buf)))
}

/// Reads at most `buf.len()` bytes, waiting while a non-blocking `fd` has
/// nothing yet; `Ok(0)` means end of input.
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        if let Some(n) = read_once(fd, buf)? {
            return Ok(n);
        }
        wait(fd, PollFlags::IN, None)?;
    }
}

/// Reads onto the end of `data` (see [`read_append_once`]), waiting while
/// a non-blocking `fd` has nothing yet; `Ok(0)` means end of input.
pub(crate) fn read_append(
    fd: BorrowedFd<'_>,
    data: &mut Vec<u8>,
    min_room: usize,
) -> io::Result<usize> {
    loop {
        if let Some(n) = read_append_once(fd, data, min_room)? {
            return Ok(n);
        }
        wait(fd, PollFlags::IN, None)?;
    }
}

/// Writes some of `buf` (at least one byte unless the kernel reports zero
/// progress, which the caller must treat as an error), waiting while a
/// non-blocking `fd` is full.
pub(crate) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    loop {
        if let Some(n) = write_once(fd, buf)? {
            return Ok(n);
        }
        wait(fd, PollFlags::OUT, None)?;
    }
}

/// Waits until `fd` reports one of `events` (or an error or hang-up, which
/// the next I/O call turns into a result).
///
/// With a `timeout`, returns `Ok(false)` if it expired first; without one,
/// waits as long as needed and returns `Ok(true)`.
pub(crate) fn wait(
    fd: BorrowedFd<'_>,
    events: PollFlags,
    timeout: Option<Duration>,
) -> io::Result<bool> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let mut fds = [PollFd::from_borrowed_fd(fd, events)];
        match poll(&mut fds, left)? {
            0 if left.is_some_and(|l| l.is_zero()) => return Ok(false),
            0 => {}
            _ => {
                if fds[0].revents().contains(PollFlags::NVAL) {
                    return Err(io::Error::from_raw_os_error(libc::EBADF));
                }
                return Ok(true);
            }
        }
    }
}

/// `poll(2)` over `fds` for at most `timeout` (`None`: no limit), rounded
/// up to whole milliseconds so a sub-millisecond remainder waits instead of
/// spinning; retries `EINTR`.
pub(crate) fn poll(fds: &mut [PollFd<'_>], timeout: Option<Duration>) -> io::Result<usize> {
    let timeout = timeout.map(rounded_up);
    Ok(retry(|| rustix::event::poll(fds, timeout.as_ref()))?)
}

/// A duration as a `Timespec` rounded up to whole milliseconds (the
/// kernel's poll granularity) and capped at one day.
fn rounded_up(d: Duration) -> Timespec {
    let millis = d.as_nanos().div_ceil(1_000_000).min(86_400_000);
    let millis = i64::try_from(millis).unwrap_or(86_400_000);
    Timespec {
        tv_sec: millis / 1000,
        tv_nsec: (millis % 1000) * 1_000_000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_whole_milliseconds() {
        let ts = rounded_up(Duration::ZERO);
        assert_eq!((ts.tv_sec, ts.tv_nsec), (0, 0));
        let ts = rounded_up(Duration::from_nanos(1));
        assert_eq!((ts.tv_sec, ts.tv_nsec), (0, 1_000_000));
        let ts = rounded_up(Duration::from_micros(1500));
        assert_eq!((ts.tv_sec, ts.tv_nsec), (0, 2_000_000));
        let ts = rounded_up(Duration::from_secs(u64::MAX));
        assert_eq!((ts.tv_sec, ts.tv_nsec), (86_400, 0));
    }
}
