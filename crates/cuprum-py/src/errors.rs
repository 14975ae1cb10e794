//! The one mapping from engine errors to Python exceptions.
//!
//! Every binding that calls the engine converts failures with [`to_py_err`],
//! so each [`ErrorKind`] reaches Python as the same exception class wherever
//! it happens, and OS errors keep their `errno`.

use cuprum::{Error, ErrorKind};
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::PyErr;

pyo3::import_exception!(cuprum.catalogue, UnknownProgramError);

/// Converts an engine error into the Python exception for its kind.
///
/// | kind | Python exception |
/// | --- | --- |
/// | `Io` with an `errno` | `OSError(errno, strerror)`: Python picks the subclass (`EPIPE` → `BrokenPipeError`, `EISDIR` → `IsADirectoryError`, …) |
/// | `Io` without an `errno` | `OSError(message)` |
/// | `WriteZero`, `Overflow` | `OSError(message)` (`errno` is `None`) |
/// | `InvalidArgument` | `ValueError(message)` |
/// | `ProgramNotFound` | `FileNotFoundError(errno, message, program)` |
/// | `PermissionDenied` | `PermissionError(errno, message, program)` |
/// | `BadWorkingDirectory` | `FileNotFoundError`, `NotADirectoryError`, … `(errno, message, directory)` |
/// | `UnknownProgram` | `cuprum.catalogue.UnknownProgramError(message)` (a `LookupError`) |
/// | `Internal` | `cuprum.exceptions.EngineError(message)` (a `RuntimeError`) |
/// | `ExitStatus`, `TimedOut` | `RuntimeError(message)`: only the engine's checked runs produce them, which the bindings never call (Python checks exit codes itself and raises `ExitCodeError`/`TimeoutExpired`) |
///
/// An error about a file — a program that could not be found or executed
/// (`ENOEXEC`, `E2BIG` and the rest of the `Io` kind included) or a working
/// directory — becomes `OSError(errno, strerror, filename)`, where Python
/// picks the subclass from the errno, `filename` is the program as it was
/// named (or the directory), and `strerror` is the engine's message (naming
/// the program and the file it resolved to, or the directory) followed by
/// the OS description, so `repr()` shows them too. The `errno` defaults to
/// `ENOENT` for `ProgramNotFound` and `BadWorkingDirectory` and to `EACCES`
/// for `PermissionDenied` when the error carries none. Other `strerror`s are
/// the OS description without Rust's `" (os error N)"` suffix.
pub(crate) fn to_py_err(err: Error) -> PyErr {
    match err.kind() {
        ErrorKind::Io => match err.path() {
            Some(_) => about_file(&err, None),
            None => os_error(&err),
        },
        ErrorKind::WriteZero | ErrorKind::Overflow => PyOSError::new_err(err.message().to_owned()),
        ErrorKind::InvalidArgument => PyValueError::new_err(err.message().to_owned()),
        ErrorKind::ProgramNotFound | ErrorKind::BadWorkingDirectory => {
            about_file(&err, Some(libc::ENOENT))
        }
        ErrorKind::PermissionDenied => about_file(&err, Some(libc::EACCES)),
        ErrorKind::UnknownProgram => UnknownProgramError::new_err(err.message().to_owned()),
        ErrorKind::Internal => crate::guard::EngineError::new_err(err.message().to_owned()),
        ErrorKind::ExitStatus | ErrorKind::TimedOut => {
            PyRuntimeError::new_err(err.message().to_owned())
        }
        // `ErrorKind` is `#[non_exhaustive]` and this is another crate, so the
        // compiler demands a wildcard arm even though every kind known today is
        // mapped above. A kind added to the engine must get its own arm here;
        // until then it surfaces as an `OSError`, never as a bare string.
        _ => os_error(&err),
    }
}

/// `OSError(errno, strerror)` when the error has an `errno`, else
/// `OSError(message)`.
fn os_error(err: &Error) -> PyErr {
    match (err.raw_os_error(), err.os_description()) {
        (Some(errno), Some(strerror)) => PyOSError::new_err((errno, strerror)),
        _ => PyOSError::new_err(err.message().to_owned()),
    }
}

/// `OSError(errno, "message: description", filename)`: Python turns it into
/// the subclass for `errno` (`FileNotFoundError`, `NotADirectoryError`,
/// `PermissionError`, …).
fn about_file(err: &Error, default_errno: Option<i32>) -> PyErr {
    let (errno, description) = match (err.raw_os_error(), err.os_description()) {
        (Some(errno), Some(description)) => (errno, description),
        _ => match default_errno {
            Some(errno) => (errno, describe(errno)),
            None => return PyOSError::new_err(err.message().to_owned()),
        },
    };
    let filename = err
        .path()
        .map_or_else(|| err.message().into(), |path| path.as_os_str().to_owned());
    let strerror = format!("{}: {description}", err.message());
    PyOSError::new_err((errno, strerror, filename))
}

/// The OS description of `errno`, without Rust's `" (os error N)"` suffix.
fn describe(errno: i32) -> String {
    Error::io(std::io::Error::from_raw_os_error(errno), "")
        .os_description()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_has_no_rust_suffix() {
        let text = describe(libc::ENOENT);
        assert!(!text.is_empty());
        assert!(!text.contains("os error"), "{text}");
    }
}
