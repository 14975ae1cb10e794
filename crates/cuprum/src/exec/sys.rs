//! Thin, errno-preserving wrappers over the system calls the supervisor uses.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Retries `op` while it fails with `EINTR`.
pub(crate) fn retry<T>(mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match op() {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// A pipe whose both ends are close-on-exec: `(read end, write end)`.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` is a valid array of two descriptors for pipe2 to fill.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by us.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Grows a pipe's kernel buffer (best effort: errors are ignored, since a
/// smaller buffer only costs throughput).
pub(crate) fn grow_pipe(fd: BorrowedFd<'_>, size: libc::c_int) {
    // SAFETY: F_SETPIPE_SZ takes an int argument and has no memory effects.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, size) };
}

/// Puts `fd` in non-blocking mode.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on a borrowed, open descriptor.
    let flags = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
    Ok(())
}

/// Duplicates `fd` (close-on-exec).
pub(crate) fn dup(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    fd.try_clone_to_owned()
}

/// Reads into `buf`, retrying `EINTR`. `Ok(0)` is end of file.
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    retry(|| {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        usize::try_from(n).map_err(|_| io::Error::last_os_error())
    })
}

/// Reads into the spare capacity of `buf`, growing it by at least `chunk`.
pub(crate) fn read_append(
    fd: BorrowedFd<'_>,
    buf: &mut Vec<u8>,
    chunk: usize,
) -> io::Result<usize> {
    if buf.capacity() - buf.len() < chunk {
        buf.reserve(chunk.max(buf.len() / 2));
    }
    let spare = buf.spare_capacity_mut();
    let n = retry(|| {
        // SAFETY: `spare` is valid for writes of `spare.len()` bytes; read
        // initialises the first `n` of them.
        let n = unsafe { libc::read(fd.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len()) };
        usize::try_from(n).map_err(|_| io::Error::last_os_error())
    })?;
    // SAFETY: the kernel initialised `n <= spare.len()` bytes past `len`.
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}

/// Writes once, retrying `EINTR`; returns how much was accepted.
pub(crate) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    retry(|| {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
        let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
        usize::try_from(n).map_err(|_| io::Error::last_os_error())
    })
}

/// `poll(2)` with an optional timeout (rounded up to whole milliseconds),
/// retrying `EINTR`.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let millis = timeout.map_or(-1, |t| {
        let ms = t.as_micros().div_ceil(1000);
        libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
    });
    let count = libc::nfds_t::try_from(fds.len())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    retry(|| {
        // SAFETY: `fds` is a valid slice of pollfd structures.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), count, millis) };
        usize::try_from(n).map_err(|_| io::Error::last_os_error())
    })
}
