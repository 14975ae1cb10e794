//! What an execution reports while it runs.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Which output stream a chunk or line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Which stdin operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StdinOp {
    /// Writing the payload.
    Write,
    /// Closing the pipe after the payload.
    Close,
}

/// One thing that happened to one stage.
#[derive(Debug)]
pub struct Event {
    /// The stage index (0 for a single command).
    pub stage: usize,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of [`Event`].
#[derive(Debug)]
#[non_exhaustive]
pub enum EventKind {
    /// The stage was spawned.
    Start {
        /// Its process id.
        pid: u32,
        /// The absolute path of the file it runs: its program resolved on
        /// the engine's own `PATH` (or against its working directory) before
        /// anything was spawned.
        executable: PathBuf,
    },
    /// The whole stdin payload was written and the pipe closed.
    Stdin {
        /// The payload length.
        bytes: usize,
    },
    /// Feeding stdin failed (for example the child exited without reading).
    /// The run goes on.
    StdinError {
        /// Which operation failed.
        op: StdinOp,
        /// The error, with its errno.
        error: io::Error,
    },
    /// A raw chunk for an [`Echo::Events`](crate::exec::Echo) stream.
    Output {
        /// Which stream.
        stream: Stream,
        /// The bytes as read.
        data: Vec<u8>,
    },
    /// One decoded line (terminator removed), when line events are enabled.
    Line {
        /// Which stream.
        stream: Stream,
        /// The text.
        text: String,
    },
    /// The stage's process was reaped.
    Exit {
        /// The exit status, `-N` for death by signal N.
        exit_code: i32,
        /// Time from spawn to exit.
        duration: Duration,
    },
}
