//! Descriptors, files and threads for the stream tests.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};

/// A new pipe: `(read end, write end)`, both close-on-exec.
pub(super) fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe2` writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", io::Error::last_os_error());
    // SAFETY: `pipe2` succeeded, so both descriptors are open and owned by
    // nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// A deterministic payload of `len` bytes that is not periodic in any small
/// chunk size.
pub(super) fn payload(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// Writes `data` to `fd` on a thread, then closes it. The thread returns the
/// first write error (for example `EPIPE` once the reader is gone).
pub(super) fn feed(fd: impl Into<OwnedFd>, data: Vec<u8>) -> JoinHandle<io::Result<()>> {
    let mut file = File::from(fd.into());
    thread::spawn(move || file.write_all(&data))
}

/// Reads `fd` to end of input on a thread, then closes it.
pub(super) fn collect(fd: impl Into<OwnedFd>) -> JoinHandle<Vec<u8>> {
    let mut file = File::from(fd.into());
    thread::spawn(move || {
        let mut out = Vec::new();
        file.read_to_end(&mut out).expect("read the sink");
        out
    })
}

/// Sets or clears `O_NONBLOCK`.
pub(super) fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) {
    // SAFETY: `fd` is open for the duration of the borrow; F_GETFL takes no
    // argument.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    assert!(flags >= 0, "F_GETFL: {}", io::Error::last_os_error());
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: as above; F_SETFL takes an int of flags.
    let rc = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) };
    assert_eq!(rc, 0, "F_SETFL: {}", io::Error::last_os_error());
}

/// Whether `fd` is still an open descriptor.
pub(super) fn is_open(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: F_GETFD only inspects the descriptor table.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) >= 0 }
}

/// A descriptor number that can never be open: far above the process's
/// descriptor limit.
pub(super) fn never_open() -> BorrowedFd<'static> {
    // SAFETY: no descriptor can have this number (it exceeds every
    // RLIMIT_NOFILE the kernel allows), so nothing real is borrowed and every
    // call on it fails with EBADF.
    unsafe { BorrowedFd::borrow_raw(i32::MAX - 1) }
}

/// A file in the temporary directory, removed on drop.
pub(super) struct TempFile {
    pub(super) path: PathBuf,
}

impl TempFile {
    /// Creates the file with `contents`.
    pub(super) fn with_contents(contents: &[u8]) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("cuprum-stream-test-{}-{n}", std::process::id()));
        std::fs::write(&path, contents).expect("write temp file");
        Self { path }
    }

    /// Opens the file for reading.
    pub(super) fn open(&self) -> File {
        File::open(&self.path).expect("open temp file")
    }

    /// Opens the file for writing, truncated.
    pub(super) fn create(&self) -> File {
        File::create(&self.path).expect("create temp file")
    }

    /// The file's contents.
    pub(super) fn contents(&self) -> Vec<u8> {
        std::fs::read(&self.path).expect("read temp file")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
