//! Commands and pipelines as plain values.
//!
//! A [`Command`] is a program and its arguments — always an argv vector,
//! never a shell string. `a | b` joins commands into a [`Pipeline`].

use std::ffi::{OsStr, OsString};
use std::ops::BitOr;
use std::os::unix::ffi::OsStrExt;

use crate::{Error, ErrorKind, Result};

/// A program and its arguments.
///
/// # Example
///
/// ```
/// use cuprum::Command;
/// let cmd = Command::new("git").arg("log").args(["-n", "3"]);
/// assert_eq!(cmd.argv(), ["git", "log", "-n", "3"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Command {
    argv: Vec<OsString>,
    /// The exit codes that count as success, sorted and without repeats.
    ok_codes: Vec<i32>,
}

/// The exit codes a command accepts unless told otherwise.
const DEFAULT_OK_CODES: [i32; 1] = [0];

impl Command {
    /// A command that runs `program` with no arguments. When it is spawned, a
    /// program without a `/` is looked up on the `PATH` of the engine's own
    /// process and a relative path is taken from the engine's working
    /// directory — never from the run's environment or working directory —
    /// and the child is executed by the absolute path found (`argv[0]` stays
    /// `program`).
    #[must_use]
    pub fn new(program: impl Into<OsString>) -> Self {
        Self {
            argv: vec![program.into()],
            ok_codes: DEFAULT_OK_CODES.to_vec(),
        }
    }

    /// Builds a command from a full argv (program first).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] when `argv` is empty.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::Command;
    /// let cmd = Command::from_argv(["echo", "hi"]).unwrap();
    /// assert_eq!(cmd.program(), "echo");
    /// assert!(Command::from_argv(Vec::<String>::new()).is_err());
    /// ```
    pub fn from_argv<I, S>(argv: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
        if argv.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "argv must name a program",
            ));
        }
        Ok(Self {
            argv,
            ok_codes: DEFAULT_OK_CODES.to_vec(),
        })
    }

    /// Appends one argument.
    #[must_use]
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.argv.push(arg.into());
        self
    }

    /// Appends several arguments.
    #[must_use]
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.argv.extend(args.into_iter().map(Into::into));
        self
    }

    /// The program (argv\[0\]).
    #[must_use]
    pub fn program(&self) -> &OsStr {
        &self.argv[0]
    }

    /// The full argv, program first.
    #[must_use]
    pub fn argv(&self) -> &[OsString] {
        &self.argv
    }

    /// Replaces the exit codes that count as success (`0` alone by default),
    /// as `grep` and `diff` need `[0, 1]`. A code `-N` accepts death by
    /// signal N. A stage exiting with a code outside its set is a failure:
    /// it triggers a pipeline's fail-fast, makes [`Outcome::success`] false
    /// and [`ExecSpec::run`] return [`ErrorKind::ExitStatus`]. An empty set
    /// is rejected when the command is spawned.
    ///
    /// [`Outcome::success`]: crate::exec::Outcome::success
    /// [`ExecSpec::run`]: crate::exec::ExecSpec::run
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::Command;
    /// let grep = Command::new("grep").arg("needle").ok_codes([0, 1]);
    /// assert!(grep.is_ok_code(1));
    /// assert!(!grep.is_ok_code(2));
    /// assert_eq!(grep.ok_code_list(), [0, 1]);
    /// ```
    #[must_use]
    pub fn ok_codes(mut self, codes: impl IntoIterator<Item = i32>) -> Self {
        let mut codes: Vec<i32> = codes.into_iter().collect();
        codes.sort_unstable();
        codes.dedup();
        self.ok_codes = codes;
        self
    }

    /// The exit codes that count as success, in ascending order.
    #[must_use]
    pub fn ok_code_list(&self) -> &[i32] {
        &self.ok_codes
    }

    /// Whether `code` counts as success for this command.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::Command;
    /// assert!(Command::new("true").is_ok_code(0));
    /// assert!(!Command::new("false").is_ok_code(1));
    /// ```
    #[must_use]
    pub fn is_ok_code(&self, code: i32) -> bool {
        self.ok_codes.binary_search(&code).is_ok()
    }

    /// Rejects argv elements that cannot be passed to `execve` (NUL bytes)
    /// and an empty set of ok codes.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.ok_codes.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "ok codes of {:?} must name at least one exit code",
                    self.argv[0]
                ),
            ));
        }
        if self.argv[0].is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "program name is empty",
            ));
        }
        for (index, arg) in self.argv.iter().enumerate() {
            if arg.as_bytes().contains(&0) {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("argv[{index}] {arg:?} contains a NUL byte"),
                ));
            }
        }
        Ok(())
    }
}

/// Two or more commands, each stage's stdout feeding the next stage's stdin.
///
/// # Example
///
/// ```
/// use cuprum::Command;
/// let pipeline = Command::new("yes") | Command::new("head").arg("-n1");
/// assert_eq!(pipeline.stages().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pipeline {
    stages: Vec<Command>,
}

impl Pipeline {
    /// A pipeline of `stages`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] with fewer than two stages.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::{Command, Pipeline};
    /// assert!(Pipeline::new(vec![Command::new("true")]).is_err());
    /// ```
    pub fn new(stages: Vec<Command>) -> Result<Self> {
        if stages.len() < 2 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("a pipeline needs at least two stages, got {}", stages.len()),
            ));
        }
        Ok(Self { stages })
    }

    /// The stages in order.
    #[must_use]
    pub fn stages(&self) -> &[Command] {
        &self.stages
    }

    /// The stages, by value.
    #[must_use]
    pub fn into_stages(self) -> Vec<Command> {
        self.stages
    }
}

impl BitOr for Command {
    type Output = Pipeline;
    fn bitor(self, rhs: Command) -> Pipeline {
        Pipeline {
            stages: vec![self, rhs],
        }
    }
}

impl BitOr<Command> for Pipeline {
    type Output = Pipeline;
    fn bitor(mut self, rhs: Command) -> Pipeline {
        self.stages.push(rhs);
        self
    }
}

impl BitOr<Pipeline> for Command {
    type Output = Pipeline;
    fn bitor(self, rhs: Pipeline) -> Pipeline {
        let mut stages = vec![self];
        stages.extend(rhs.stages);
        Pipeline { stages }
    }
}

impl BitOr for Pipeline {
    type Output = Pipeline;
    fn bitor(mut self, rhs: Pipeline) -> Pipeline {
        self.stages.extend(rhs.stages);
        self
    }
}
