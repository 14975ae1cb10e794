//! The engine's one error type.
//!
//! Every fallible operation in the crate returns [`Error`]. Its [`ErrorKind`]
//! is public and stable, so callers (and the Python bindings) can map each
//! kind to their own error model exhaustively, while the underlying OS error
//! keeps its `errno` for callers that need it.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A convenient alias for results produced by the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in categories a caller can act on.
///
/// The set is `#[non_exhaustive]`: match it with a wildcard arm outside this
/// crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The program to run does not exist: no match on `PATH`, no file at the
    /// path it names, or `ENOENT` at spawn (for example a script whose
    /// interpreter is missing).
    ProgramNotFound,
    /// The program exists but may not be executed (`EACCES`/`EPERM`).
    PermissionDenied,
    /// The working directory requested for a child does not exist or is not a
    /// directory.
    BadWorkingDirectory,
    /// An argument was rejected before any I/O (for example a NUL byte in an
    /// argv element, an empty pipeline, or a buffer size out of range).
    InvalidArgument,
    /// A system call failed; [`Error::raw_os_error`] holds the `errno`.
    Io,
    /// A write made no progress (a `write` returned zero bytes).
    WriteZero,
    /// An internal length or range computation overflowed.
    Overflow,
    /// A program is not in the catalogue used to build a command.
    UnknownProgram,
    /// A bug in the engine: a panic was caught at its boundary and the run
    /// it happened in was torn down (every child killed and reaped).
    Internal,
    /// A checked run ([`ExecSpec::run`](crate::exec::ExecSpec::run)): a stage
    /// exited with a code outside its command's
    /// [`ok_codes`](crate::Command::ok_codes).
    ExitStatus,
    /// A checked run ([`ExecSpec::run`](crate::exec::ExecSpec::run)): the
    /// deadline passed and the stages were terminated.
    TimedOut,
}

/// The engine's error: a [`ErrorKind`], a message with context, and the
/// underlying I/O error where there is one.
///
/// The error is boxed internally so `Result<T, Error>` stays one pointer wide.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    source: Option<io::Error>,
    path: Option<PathBuf>,
}

impl Error {
    /// Builds an error of `kind` with a human-readable `message`.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::{Error, ErrorKind};
    /// let err = Error::new(ErrorKind::InvalidArgument, "argv contains a NUL byte");
    /// assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    /// assert!(err.raw_os_error().is_none());
    /// ```
    #[must_use]
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                source: None,
                path: None,
            }),
        }
    }

    /// Wraps an OS error, keeping its `errno`, with `context` describing what
    /// the engine was doing.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::{Error, ErrorKind};
    /// let err = Error::io(std::io::Error::from_raw_os_error(libc::EBADF), "read");
    /// assert_eq!(err.kind(), ErrorKind::Io);
    /// assert_eq!(err.raw_os_error(), Some(libc::EBADF));
    /// ```
    #[must_use]
    pub fn io(source: io::Error, context: impl Into<String>) -> Self {
        Self::with_source(ErrorKind::Io, context, source)
    }

    /// Builds an error of `kind` that carries the OS error it came from.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::{Error, ErrorKind};
    /// let os = std::io::Error::from_raw_os_error(libc::ENOENT);
    /// let err = Error::with_source(ErrorKind::ProgramNotFound, "`nope` not found", os);
    /// assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    /// ```
    #[must_use]
    pub fn with_source(kind: ErrorKind, message: impl Into<String>, source: io::Error) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                source: Some(source),
                path: None,
            }),
        }
    }

    /// Builds an error of `kind` about the file or directory `path` (a
    /// program as it was named, or a working directory), carrying the OS
    /// error it came from.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::{Error, ErrorKind};
    /// let os = std::io::Error::from_raw_os_error(libc::ENOENT);
    /// let err = Error::with_path(ErrorKind::ProgramNotFound, "program `nope` not found on PATH", "nope", os);
    /// assert_eq!(err.path(), Some(std::path::Path::new("nope")));
    /// ```
    #[must_use]
    pub fn with_path(
        kind: ErrorKind,
        message: impl Into<String>,
        path: impl Into<PathBuf>,
        source: io::Error,
    ) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                source: Some(source),
                path: Some(path.into()),
            }),
        }
    }

    /// The category of this error.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The context message (without the OS error text).
    #[must_use]
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The file or directory the error is about, if any: the program as it
    /// was named (spawn errors) or the working directory.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The `errno` of the underlying OS error, if any.
    #[must_use]
    pub fn raw_os_error(&self) -> Option<i32> {
        self.inner.source.as_ref().and_then(io::Error::raw_os_error)
    }

    /// The underlying I/O error, if any.
    #[must_use]
    pub fn io_error(&self) -> Option<&io::Error> {
        self.inner.source.as_ref()
    }

    /// The OS description of [`Self::raw_os_error`] without Rust's
    /// `" (os error N)"` suffix, e.g. `"Bad file descriptor"`.
    #[must_use]
    pub fn os_description(&self) -> Option<String> {
        let source = self.inner.source.as_ref()?;
        let code = source.raw_os_error()?;
        let text = source.to_string();
        let suffix = format!(" (os error {code})");
        Some(text.strip_suffix(&suffix).unwrap_or(&text).to_owned())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .field("source", &self.inner.source)
            .field("path", &self.inner.path)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.source {
            Some(source) => write!(f, "{}: {source}", self.inner.message),
            None => f.write_str(&self.inner.message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<io::Error> for Error {
    fn from(source: io::Error) -> Self {
        let kind = if source.kind() == io::ErrorKind::WriteZero {
            ErrorKind::WriteZero
        } else {
            ErrorKind::Io
        };
        let message = match source.raw_os_error() {
            Some(_) => "i/o error".to_owned(),
            None => source.to_string(),
        };
        Self::with_source(kind, message, source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_description_drops_rust_suffix() {
        let err = Error::io(io::Error::from_raw_os_error(libc::EBADF), "read");
        let text = err.os_description().expect("os error");
        assert!(!text.contains("os error"), "{text}");
        assert!(!text.is_empty());
    }

    #[test]
    fn display_includes_context_and_source() {
        let err = Error::io(io::Error::from_raw_os_error(libc::EPIPE), "write to stdin");
        assert!(err.to_string().starts_with("write to stdin: "));
    }
}
