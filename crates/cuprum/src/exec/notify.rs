//! A readiness signal that any event loop can wait on: an `eventfd` on Linux,
//! a self-pipe elsewhere.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::fd;

/// A level-triggered "something is waiting" flag backed by a descriptor.
#[derive(Debug)]
pub(crate) struct Notifier {
    read: OwnedFd,
    #[cfg(not(target_os = "linux"))]
    write: OwnedFd,
}

impl Notifier {
    /// Creates a cleared notifier.
    #[cfg(target_os = "linux")]
    pub(crate) fn new() -> io::Result<Self> {
        use rustix::event::EventfdFlags;
        let read = rustix::event::eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        Ok(Self { read })
    }

    /// Creates a cleared notifier.
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn new() -> io::Result<Self> {
        let (read, write) = fd::pipe()?;
        fd::set_pipe_nonblocking(read.as_fd())?;
        fd::set_pipe_nonblocking(write.as_fd())?;
        Ok(Self { read, write })
    }

    /// The descriptor that is readable while the notifier is set.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    /// Sets the notifier (wakes any waiter).
    pub(crate) fn set(&self) {
        let one = 1u64.to_ne_bytes();
        #[cfg(target_os = "linux")]
        let target = self.read.as_fd();
        #[cfg(not(target_os = "linux"))]
        let target = self.write.as_fd();
        // A full counter or pipe already means "set": nothing is lost.
        let _ = fd::write_once(target, &one[..Self::WIDTH]);
    }

    /// Clears the notifier.
    pub(crate) fn clear(&self) {
        let mut sink = [0u8; 64];
        // An eventfd resets in one read; a pipe is read until it is empty.
        while let Ok(Some(n)) = fd::read_once(self.read.as_fd(), &mut sink) {
            if n == 0 || cfg!(target_os = "linux") {
                break;
            }
        }
    }

    #[cfg(target_os = "linux")]
    const WIDTH: usize = 8;
    #[cfg(not(target_os = "linux"))]
    const WIDTH: usize = 1;
}
