//! Standard streams handed to the child itself: files the engine opens,
//! descriptors the caller lends, the null device, and stderr merged into
//! stdout.
//!
//! A redirected stream never passes through the engine: the file is opened
//! once per run (close-on-exec, so no other child inherits it), a duplicate
//! is installed as the child's descriptor 0, 1 or 2 at spawn, and the
//! engine's own copy is closed as soon as every stage is spawned. Nothing is
//! read, copied, captured or echoed.

use std::fs::OpenOptions;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use super::spawn::Slot;
use super::spec::ExecSpec;
use crate::fd;
use crate::{Error, ErrorKind, Result};

/// Where a standard stream of the child points instead of a pipe to the
/// engine.
///
/// # Example
///
/// ```
/// use cuprum::Command;
/// use cuprum::exec::{ExecSpec, Redirect};
///
/// let dir = std::env::temp_dir().join(format!("cuprum-redirect-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let log = dir.join("log.txt");
/// ExecSpec::command(Command::new("echo").arg("one"))
///     .stdout_redirect(Redirect::Path(log.clone()))
///     .run()?;
/// ExecSpec::command(Command::new("echo").arg("two"))
///     .stdout_redirect(Redirect::Append(log.clone()))
///     .run()?;
/// assert_eq!(std::fs::read_to_string(&log).unwrap(), "one\ntwo\n");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), cuprum::Error>(())
/// ```
#[derive(Debug)]
pub enum Redirect {
    /// A file the engine opens: for reading as stdin; as stdout or stderr
    /// created or truncated, with mode `0o666` less the umask. A relative
    /// path is relative to the calling process's working directory.
    Path(PathBuf),
    /// A file opened for appending (created if missing). Output only.
    Append(PathBuf),
    /// A descriptor given by the caller; the child gets a duplicate, the
    /// engine closes this one when the stages are spawned.
    File(OwnedFd),
    /// The null device.
    Null,
}

/// Which way a redirected stream flows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Input,
    Output,
}

/// A redirect made ready: the opened descriptor (or the null device), from
/// which each stage gets its own duplicate.
enum Opened {
    Null,
    Fd(OwnedFd),
}

impl Opened {
    fn open(redirect: Redirect, direction: Direction, stream: &str) -> Result<Self> {
        let (path, append) = match redirect {
            Redirect::Null => return Ok(Self::Null),
            Redirect::File(fd) => return Ok(Self::Fd(fd)),
            Redirect::Path(path) => (path, false),
            Redirect::Append(path) => (path, true),
        };
        let mut options = OpenOptions::new();
        match (direction, append) {
            (Direction::Input, false) => options.read(true),
            (Direction::Input, true) => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("`{stream}` cannot append: {} is an input", path.display()),
                ))
            }
            // std opens every file with O_CLOEXEC; 0o666 is its default mode.
            (Direction::Output, false) => options.write(true).create(true).truncate(true),
            (Direction::Output, true) => options.append(true).create(true),
        };
        let file = options.open(&path).map_err(|err| {
            let message = format!("`{stream}` file `{}`", path.display());
            Error::with_path(ErrorKind::Redirect, message, &path, err)
        })?;
        Ok(Self::Fd(file.into()))
    }

    /// A slot for one stage: a duplicate of the descriptor, or the null
    /// device.
    fn slot(&self) -> Result<Slot> {
        Ok(match self {
            Self::Null => Slot::Null,
            Self::Fd(owned) => Slot::Fd(
                fd::dup(owned.as_fd())
                    .map_err(|err| Error::io(err, "duplicate a redirected descriptor"))?,
            ),
        })
    }
}

/// The redirects of one run, opened before anything is spawned.
pub(crate) struct Routes {
    stdin: Option<Opened>,
    stdout: Option<Opened>,
    stderr: Option<Opened>,
    /// `2>&1`: each stage's stderr is a duplicate of its stdout.
    pub(crate) merge: bool,
}

impl Routes {
    /// Opens every file `spec` names, taking its redirects. Fails, naming the
    /// file, before anything is spawned.
    pub(crate) fn open(spec: &mut ExecSpec) -> Result<Self> {
        let open = |redirect: Option<Redirect>, direction, stream| {
            redirect
                .map(|r| Opened::open(r, direction, stream))
                .transpose()
        };
        Ok(Self {
            stdin: open(spec.stdin_redirect.take(), Direction::Input, "stdin")?,
            stdout: open(spec.stdout_redirect.take(), Direction::Output, "stdout")?,
            stderr: open(spec.stderr_redirect.take(), Direction::Output, "stderr")?,
            merge: spec.stderr_to_stdout,
        })
    }

    /// The first stage's stdin, when redirected.
    pub(crate) fn stdin(&self) -> Result<Option<Slot>> {
        self.stdin.as_ref().map(Opened::slot).transpose()
    }

    /// The last stage's stdout, when redirected.
    pub(crate) fn stdout(&self) -> Result<Option<Slot>> {
        self.stdout.as_ref().map(Opened::slot).transpose()
    }

    /// A stage's stderr, when redirected or merged into its `stdout`.
    pub(crate) fn stderr(&self, stdout: &Slot) -> Result<Option<Slot>> {
        if self.merge {
            return Ok(Some(match stdout {
                Slot::Inherit => Slot::Inherit,
                Slot::Null => Slot::Null,
                Slot::Fd(owned) => Slot::Fd(
                    fd::dup(owned.as_fd()).map_err(|err| Error::io(err, "duplicate stdout"))?,
                ),
            }));
        }
        self.stderr.as_ref().map(Opened::slot).transpose()
    }
}

/// Redirects (duct's names): each stream goes to the child itself, never
/// through the engine. A later call for the same stream replaces an
/// earlier one, including [`ExecSpec::stdin`], [`ExecSpec::stdout`] and
/// [`ExecSpec::stderr`].
impl ExecSpec {
    /// The first stage's stdin comes from `redirect`.
    #[must_use]
    pub fn stdin_redirect(mut self, redirect: Redirect) -> Self {
        self.stdin_redirect = Some(redirect);
        self
    }

    /// The last stage's stdout goes to `redirect` (not captured, not echoed).
    #[must_use]
    pub fn stdout_redirect(mut self, redirect: Redirect) -> Self {
        self.stdout = super::spec::Output::discard();
        self.stdout_redirect = Some(redirect);
        self
    }

    /// Every stage's stderr goes to `redirect` (one open file shared by all
    /// stages; not captured, not echoed).
    #[must_use]
    pub fn stderr_redirect(mut self, redirect: Redirect) -> Self {
        self.stderr = super::spec::Output::discard();
        self.stderr_redirect = Some(redirect);
        self.stderr_to_stdout = false;
        self
    }

    /// The first stage reads the file at `path`.
    ///
    /// # Errors
    ///
    /// The run fails with [`ErrorKind::Redirect`] (nothing spawned) when the
    /// file cannot be opened.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::Command;
    /// use cuprum::exec::{ExecSpec, Output};
    ///
    /// let path = std::env::temp_dir().join(format!("cuprum-stdin-doc-{}", std::process::id()));
    /// std::fs::write(&path, "b\na\n").unwrap();
    /// let outcome = ExecSpec::command(Command::new("sort"))
    ///     .stdin_path(&path)
    ///     .stdout(Output::capture())
    ///     .run()?;
    /// assert_eq!(outcome.stages[0].stdout.as_ref().unwrap().as_text(), Some("a\nb\n"));
    /// # std::fs::remove_file(&path).unwrap();
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    #[must_use]
    pub fn stdin_path(self, path: impl Into<PathBuf>) -> Self {
        self.stdin_redirect(Redirect::Path(path.into()))
    }

    /// The first stage reads from a duplicate of `fd` (a file, a pipe, a
    /// socket).
    #[must_use]
    pub fn stdin_file(self, fd: impl Into<OwnedFd>) -> Self {
        self.stdin_redirect(Redirect::File(fd.into()))
    }

    /// The first stage reads the null device.
    #[must_use]
    pub fn stdin_null(self) -> Self {
        self.stdin_redirect(Redirect::Null)
    }

    /// The last stage writes to the file at `path`, created or truncated
    /// (mode `0o666` less the umask).
    ///
    /// # Errors
    ///
    /// The run fails with [`ErrorKind::Redirect`] (nothing spawned) when the
    /// file cannot be opened.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::{Command, ErrorKind};
    /// use cuprum::exec::ExecSpec;
    ///
    /// let path = std::env::temp_dir().join(format!("cuprum-stdout-doc-{}", std::process::id()));
    /// let outcome = ExecSpec::command(Command::new("echo").arg("saved")).stdout_path(&path).run()?;
    /// assert!(outcome.stages[0].stdout.is_none());
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "saved\n");
    /// # std::fs::remove_file(&path).unwrap();
    ///
    /// let err = ExecSpec::command(Command::new("true"))
    ///     .stdout_path("/no/such/directory/out.txt")
    ///     .run()
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Redirect);
    /// assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    #[must_use]
    pub fn stdout_path(self, path: impl Into<PathBuf>) -> Self {
        self.stdout_redirect(Redirect::Path(path.into()))
    }

    /// The last stage appends to the file at `path` (created if missing).
    #[must_use]
    pub fn stdout_append(self, path: impl Into<PathBuf>) -> Self {
        self.stdout_redirect(Redirect::Append(path.into()))
    }

    /// The last stage writes to a duplicate of `fd`.
    #[must_use]
    pub fn stdout_file(self, fd: impl Into<OwnedFd>) -> Self {
        self.stdout_redirect(Redirect::File(fd.into()))
    }

    /// The last stage writes to the null device.
    #[must_use]
    pub fn stdout_null(self) -> Self {
        self.stdout_redirect(Redirect::Null)
    }

    /// Every stage writes its stderr to the file at `path`, created or
    /// truncated once for the run.
    #[must_use]
    pub fn stderr_path(self, path: impl Into<PathBuf>) -> Self {
        self.stderr_redirect(Redirect::Path(path.into()))
    }

    /// Every stage appends its stderr to the file at `path`.
    #[must_use]
    pub fn stderr_append(self, path: impl Into<PathBuf>) -> Self {
        self.stderr_redirect(Redirect::Append(path.into()))
    }

    /// Every stage writes its stderr to a duplicate of `fd`.
    #[must_use]
    pub fn stderr_file(self, fd: impl Into<OwnedFd>) -> Self {
        self.stderr_redirect(Redirect::File(fd.into()))
    }

    /// Every stage writes its stderr to the null device.
    #[must_use]
    pub fn stderr_null(self) -> Self {
        self.stderr_redirect(Redirect::Null)
    }

    /// `2>&1`: each stage's stderr goes wherever its own stdout goes — the
    /// next stage, a redirect, or the capture pipe, where both streams then
    /// arrive in the order the child wrote them (the stage has no separate
    /// stderr to capture).
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::Command;
    /// use cuprum::exec::{ExecSpec, Output};
    ///
    /// let outcome = ExecSpec::command(Command::new("sh").args(["-c", "echo out; echo err >&2; echo out2"]))
    ///     .stdout(Output::capture())
    ///     .stderr_to_stdout()
    ///     .run()?;
    /// assert_eq!(outcome.stages[0].stdout.as_ref().unwrap().as_text(), Some("out\nerr\nout2\n"));
    /// assert!(outcome.stages[0].stderr.is_none());
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    #[must_use]
    pub fn stderr_to_stdout(mut self) -> Self {
        self.stderr = super::spec::Output::discard();
        self.stderr_redirect = None;
        self.stderr_to_stdout = true;
        self
    }
}
