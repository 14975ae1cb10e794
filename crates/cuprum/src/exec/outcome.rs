//! The final report of an execution.

use std::time::Duration;

use crate::Error;

/// Captured output: text when decoded in the engine, bytes otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Captured {
    /// Decoded as UTF-8 with replacement.
    Text(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
}

impl Captured {
    /// The text, when decoded.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::exec::Captured;
    /// assert_eq!(Captured::Text("hi".into()).as_text(), Some("hi"));
    /// assert_eq!(Captured::Bytes(b"hi".to_vec()).as_text(), None);
    /// ```
    #[must_use]
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            Self::Bytes(_) => None,
        }
    }

    /// The raw bytes (of the text, when decoded).
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::exec::Captured;
    /// assert_eq!(Captured::Text("hi".into()).as_bytes(), b"hi");
    /// ```
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Text(text) => text.as_bytes(),
            Self::Bytes(bytes) => bytes,
        }
    }
}

/// How one stage ended.
#[derive(Debug)]
pub struct StageOutcome {
    /// Its process id.
    pub pid: u32,
    /// Exit status, `-N` for death by signal N.
    pub exit_code: i32,
    /// Time from spawn to exit.
    pub duration: Duration,
    /// Captured stdout (final stage only).
    pub stdout: Option<Captured>,
    /// Captured stderr.
    pub stderr: Option<Captured>,
    /// The stage ended by `SIGPIPE`/`EPIPE` after its downstream stage had
    /// exited; it does not count as a failure.
    pub early_exit: bool,
    /// The exit codes that count as success for this stage (its command's
    /// [`ok_code_list`](crate::Command::ok_code_list)).
    pub ok_codes: Vec<i32>,
}

impl StageOutcome {
    /// Whether the stage exited with one of its ok codes or ended early
    /// because its reader left.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.ok_codes.contains(&self.exit_code) || self.early_exit
    }
}

/// How an execution ended.
#[derive(Debug)]
pub struct Outcome {
    /// One entry per stage, in stage order.
    pub stages: Vec<StageOutcome>,
    /// The deadline passed and the stages were terminated.
    pub timed_out: bool,
    /// [`Execution::cancel`](crate::exec::Execution::cancel) was called
    /// before every stage had exited.
    pub cancelled: bool,
    /// The stage first observed to fail (fail-fast), if any.
    pub failure_index: Option<usize>,
    /// A relay failed with an error other than a broken pipe.
    pub error: Option<Error>,
}

impl Outcome {
    /// Whether every stage succeeded (by its own ok codes, early exits
    /// excused) and nothing timed out or was cancelled.
    #[must_use]
    pub fn success(&self) -> bool {
        !self.timed_out
            && !self.cancelled
            && self.error.is_none()
            && self.stages.iter().all(StageOutcome::ok)
    }
}
