//! The one mapping from engine errors to Python exceptions.
//!
//! Every binding that calls the engine converts failures with [`to_py_err`],
//! so each [`ErrorKind`] reaches Python as the same exception class wherever
//! it happens, and OS errors keep their `errno`.

use cuprum::{Error, ErrorKind};
use pyo3::exceptions::{
    PyFileNotFoundError, PyOSError, PyPermissionError, PyRuntimeError, PyValueError,
};
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
/// | `ProgramNotFound` | `FileNotFoundError(errno, strerror, program)` |
/// | `PermissionDenied` | `PermissionError(errno, strerror, program)` |
/// | `BadWorkingDirectory` | `FileNotFoundError(errno, strerror, directory)` |
/// | `UnknownProgram` | `cuprum.catalogue.UnknownProgramError(message)` (a `LookupError`) |
/// | `Internal` | `cuprum.exceptions.EngineError(message)` (a `RuntimeError`) |
/// | `ExitStatus`, `TimedOut` | `RuntimeError(message)`: only the engine's checked runs produce them, which the bindings never call (Python checks exit codes itself and raises `ExitCodeError`/`TimeoutExpired`) |
///
/// `strerror` is the OS description without Rust's `" (os error N)"`
/// suffix. For `ProgramNotFound`, `PermissionDenied` and
/// `BadWorkingDirectory` the engine's message is the program or directory
/// itself and becomes the exception's `filename`; the `errno` defaults to
/// `ENOENT`, `EACCES` and `ENOENT` when the error carries none.
pub(crate) fn to_py_err(err: Error) -> PyErr {
    match err.kind() {
        ErrorKind::Io => os_error(&err),
        ErrorKind::WriteZero | ErrorKind::Overflow => PyOSError::new_err(err.message().to_owned()),
        ErrorKind::InvalidArgument => PyValueError::new_err(err.message().to_owned()),
        ErrorKind::ProgramNotFound => {
            PyFileNotFoundError::new_err(os_args_with_name(&err, libc::ENOENT))
        }
        ErrorKind::PermissionDenied => {
            PyPermissionError::new_err(os_args_with_name(&err, libc::EACCES))
        }
        ErrorKind::BadWorkingDirectory => {
            PyFileNotFoundError::new_err(os_args_with_name(&err, libc::ENOENT))
        }
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

/// `(errno, strerror, filename)` for the spawn-related kinds.
fn os_args_with_name(err: &Error, default_errno: i32) -> (i32, String, String) {
    let (errno, strerror) = match (err.raw_os_error(), err.os_description()) {
        (Some(errno), Some(strerror)) => (errno, strerror),
        _ => (default_errno, describe(default_errno)),
    };
    (errno, strerror, err.message().to_owned())
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
