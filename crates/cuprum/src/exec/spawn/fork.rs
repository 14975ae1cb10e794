//! The portable path: the standard library's fork-and-exec, with descriptor
//! hygiene done in the child just before `execve`.
//!
//! Taken when a passed descriptor has a high number (`posix_spawn` would need
//! one close action per number below it) or the C library cannot close
//! descriptors inside `posix_spawn`. The standard library sets up the standard streams, the
//! working directory, the process group, the signal mask and `SIGPIPE`, and
//! reports a failure in the child with its errno. The hook below then marks
//! every descriptor from 3 up close-on-exec except the passed ones (which
//! lose close-on-exec), restores `SIGXFSZ`, and calls `execve` itself: the
//! exact file, argv and environment the `posix_spawn` path uses, and no shell
//! fallback for a file without a recognised format (`ENOEXEC` is an error).
//! Marking instead of closing keeps the standard library's error pipe open
//! until the exec succeeds.

use std::io;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use super::CArray;

/// Everything the child needs after `fork`, prepared in the parent (the child
/// may not allocate).
pub(super) struct Exec {
    pub(super) path: std::ffi::CString,
    pub(super) argv: CArray,
    pub(super) envp: Arc<CArray>,
    /// Descriptors to pass: ascending, unique, each 3 or above.
    pub(super) keep: Arc<[RawFd]>,
}

/// Spawns through the standard library and returns the child's pid. The
/// caller reaps it by pid (dropping the standard library's handle neither
/// waits nor kills).
pub(super) fn spawn(
    executable: &Path,
    exec: Exec,
    cwd: Option<&Path>,
    stdio: [Stdio; 3],
) -> io::Result<u32> {
    #[expect(
        clippy::disallowed_methods,
        reason = "the engine's spawning module: this is its fork path"
    )]
    let mut builder = std::process::Command::new(executable);
    let [stdin, stdout, stderr] = stdio;
    builder
        .process_group(0)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr);
    if let Some(cwd) = cwd {
        builder.current_dir(cwd);
    }
    let max_fd = highest_fd();
    // SAFETY: the hook runs in the forked child, where only
    // async-signal-safe calls are allowed: it makes only system calls
    // (close_range, fcntl, signal, execve) on data prepared in the parent,
    // and neither allocates nor takes locks.
    unsafe {
        builder.pre_exec(move || exec.run(max_fd));
    }
    Ok(builder.spawn()?.id())
}

/// The highest descriptor number this process may hold, for the slow
/// marking loop on kernels without `close_range`.
fn highest_fd() -> RawFd {
    // SAFETY: sysconf has no preconditions.
    let limit = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
    RawFd::try_from(limit)
        .ok()
        .filter(|limit| *limit > 0)
        .map_or(1 << 16, |limit| limit.min(1 << 20))
        - 1
}

impl Exec {
    /// In the child: hygiene, then `execve`. Returns only on failure.
    fn run(&self, max_fd: RawFd) -> io::Result<()> {
        let mut low = 3;
        for &fd in self.keep.iter() {
            if fd > low {
                cloexec_range(low, fd - 1, max_fd);
            }
            // SAFETY: F_SETFD with 0 clears close-on-exec on `fd`; no memory
            // is involved.
            if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } == -1 {
                return Err(io::Error::last_os_error());
            }
            low = fd + 1;
        }
        cloexec_range(low, RawFd::MAX, max_fd);
        // SAFETY: `path`, `argv` and `envp` are NUL-terminated strings and
        // NULL-terminated arrays owned by `self`, alive for the call;
        // restoring a default disposition has no preconditions.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
            libc::execve(self.path.as_ptr(), self.argv.as_ptr(), self.envp.as_ptr());
        }
        Err(io::Error::last_os_error())
    }
}

/// Marks descriptors `low..=high` close-on-exec: one `close_range` call
/// where the kernel has it (Linux 5.11), else one `fcntl` per descriptor up
/// to `max_fd`.
fn cloexec_range(low: RawFd, high: RawFd, max_fd: RawFd) {
    #[cfg(target_os = "linux")]
    {
        let (Ok(first), Ok(last)) = (libc::c_uint::try_from(low), libc::c_uint::try_from(high))
        else {
            return;
        };
        // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes
        // descriptor flags in this process.
        let done = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                first,
                last,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        };
        if done == 0 {
            return;
        }
    }
    for fd in low..=high.min(max_fd) {
        // SAFETY: F_GETFD/F_SETFD only read and change descriptor flags; a
        // descriptor that is not open fails with EBADF and is skipped.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags != -1 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}
