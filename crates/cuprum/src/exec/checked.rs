//! Checked runs: spawn, wait, and turn a failed outcome into an [`Error`].

use std::ffi::OsString;

use super::outcome::Outcome;
use super::spec::ExecSpec;
use crate::{Error, ErrorKind, Result};

/// How many trailing lines of captured stderr an exit-status error quotes.
const STDERR_TAIL_LINES: usize = 5;

impl ExecSpec {
    /// Spawns the run, waits for it on this thread and checks the outcome —
    /// duct's `run()`: a stage that exits with a code outside its command's
    /// [`ok_codes`](crate::Command::ok_codes) is an error, not a result to
    /// inspect. Use [`spawn`](Self::spawn) and [`Outcome::success`] to look
    /// at a failed outcome instead.
    ///
    /// # Errors
    ///
    /// Every error of [`spawn`](Self::spawn); a relay error of the run;
    /// [`ErrorKind::TimedOut`] when the deadline passed; and
    /// [`ErrorKind::ExitStatus`] when a stage failed (the first one observed,
    /// else the first in stage order), with a message naming the program and
    /// its exit code and ending with up to the last five lines of its
    /// captured stderr: `` `git` exited with 128: fatal: not a git repository ``.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::{Command, ErrorKind};
    /// use cuprum::exec::{ExecSpec, Output};
    ///
    /// let outcome = ExecSpec::command(Command::new("true")).run()?;
    /// assert!(outcome.success());
    ///
    /// let err = ExecSpec::command(Command::new("sh").args(["-c", "echo oops >&2; exit 3"]))
    ///     .stderr(Output::capture())
    ///     .run()
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::ExitStatus);
    /// assert_eq!(err.message(), "`sh` exited with 3: oops");
    ///
    /// // Exit code 1 is fine for this command.
    /// ExecSpec::command(Command::new("false").ok_codes([0, 1])).run()?;
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    pub fn run(self) -> Result<Outcome> {
        let programs: Vec<OsString> = self
            .stages
            .iter()
            .map(|command| command.program().to_owned())
            .collect();
        let timeout = self.timeout;
        let mut outcome = self.spawn_inline()?.wait();
        if let Some(error) = outcome.error.take() {
            return Err(error);
        }
        if outcome.timed_out {
            let after = timeout.map_or(0.0, |t| t.as_secs_f64());
            return Err(Error::new(
                ErrorKind::TimedOut,
                format!("{} timed out after {after}s", names(&programs)),
            ));
        }
        match outcome.failed_stage() {
            None => Ok(outcome),
            Some(index) => Err(exit_status_error(
                &programs[index].to_string_lossy(),
                &outcome,
                index,
            )),
        }
    }
}

impl Outcome {
    /// The failing stage: the one first observed to fail
    /// ([`failure_index`](Self::failure_index)), else the first stage that is
    /// not [`ok`](super::StageOutcome::ok). `None` when every stage is ok.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::Command;
    /// use cuprum::exec::ExecSpec;
    /// let outcome = ExecSpec::command(Command::new("false")).spawn()?.wait();
    /// assert_eq!(outcome.failed_stage(), Some(0));
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    #[must_use]
    pub fn failed_stage(&self) -> Option<usize> {
        self.failure_index
            .or_else(|| self.stages.iter().position(|stage| !stage.ok()))
    }
}

fn names(programs: &[OsString]) -> String {
    let names: Vec<String> = programs
        .iter()
        .map(|p| format!("`{}`", p.to_string_lossy()))
        .collect();
    names.join(" | ")
}

/// `` `prog` exited with CODE[: last lines of stderr] ``.
fn exit_status_error(program: &str, outcome: &Outcome, index: usize) -> Error {
    let stage = &outcome.stages[index];
    let mut message = format!("`{program}` exited with {}", stage.exit_code);
    if let Some(stderr) = &stage.stderr {
        let text = String::from_utf8_lossy(stderr.as_bytes());
        let lines: Vec<&str> = text.trim_end().lines().collect();
        let tail = &lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..];
        if !tail.is_empty() {
            message.push_str(": ");
            message.push_str(&tail.join("\n"));
        }
    }
    Error::new(ErrorKind::ExitStatus, message)
}
