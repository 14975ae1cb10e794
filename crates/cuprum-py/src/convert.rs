//! Conversions of Python values the bindings hand to the engine: paths and
//! argv as `os.fsencode` bytes, `bytes` lent without a copy, seconds, and
//! descriptors the caller lends.

use std::ffi::OsString;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt};

/// A `bytes` object lent to the engine (a stdin payload or chunk): the
/// engine reads the object's own buffer (no copy) while this keeps it alive.
pub(crate) struct LentBytes {
    _owner: Py<PyBytes>,
    ptr: *const u8,
    len: usize,
}

// SAFETY: a `bytes` object is immutable and `_owner` keeps it alive for as
// long as this value exists, so its buffer may be read from any thread
// without the GIL. Dropping `_owner` without the GIL defers the decref to
// PyO3's pool.
unsafe impl Send for LentBytes {}
// SAFETY: as above; shared access only ever reads the immutable buffer.
unsafe impl Sync for LentBytes {}

impl AsRef<[u8]> for LentBytes {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr`/`len` describe the buffer of the immutable `bytes`
        // object that `_owner` keeps alive.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// Lends `data` to the engine without copying it.
pub(crate) fn lent(data: &Bound<'_, PyBytes>) -> Arc<LentBytes> {
    let bytes = data.as_bytes();
    Arc::new(LentBytes {
        ptr: bytes.as_ptr(),
        len: bytes.len(),
        _owner: data.clone().unbind(),
    })
}

/// An argv element, environment entry or path, as the bytes Python's
/// `os.fsencode` produced: the OS encoding was applied (and rejected lone
/// surrogates) before the engine sees it.
pub(crate) struct FsBytes(pub(crate) OsString);

impl<'a, 'py> FromPyObject<'a, 'py> for FsBytes {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        use std::os::unix::ffi::OsStringExt;
        let bytes = obj
            .cast::<PyBytes>()
            .map_err(|_| PyTypeError::new_err("expected bytes encoded with os.fsencode"))?;
        Ok(Self(OsString::from_vec(bytes.as_bytes().to_vec())))
    }
}

impl From<FsBytes> for OsString {
    fn from(value: FsBytes) -> Self {
        value.0
    }
}

/// A path field's value: `bytes` from `os.fsencode`.
pub(crate) fn fs_path(field: &str, value: &Bound<'_, PyAny>) -> PyResult<std::path::PathBuf> {
    value.extract::<FsBytes>().map(|p| p.0.into()).map_err(|_| {
        PyTypeError::new_err(format!(
            "`{field}` path must be bytes encoded with os.fsencode, got {}",
            type_name(value)
        ))
    })
}

/// A duplicate (close-on-exec) of the descriptor the caller lends in `value`,
/// an `int` that must be open for the duration of the call.
pub(crate) fn lent_fd(field: &str, value: &Bound<'_, PyAny>) -> PyResult<OwnedFd> {
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "`{field}` descriptor must be an int, got {}",
            type_name(value)
        )));
    }
    let fd: i64 = value.extract()?;
    let fd = i32::try_from(fd)
        .ok()
        .filter(|fd| *fd >= 0)
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "`{field}` descriptor {fd} is out of range (negative or too large)"
            ))
        })?;
    // SAFETY: the caller keeps `fd` open for the duration of this call; only
    // a duplicate is kept.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    borrowed.try_clone_to_owned().map_err(|err| {
        let errno = err.raw_os_error().unwrap_or(libc::EBADF);
        let text = err.to_string();
        let strerror = cuprum::Error::io(err, "").os_description().unwrap_or(text);
        PyOSError::new_err((
            errno,
            format!("`{field}` descriptor {fd} cannot be used: {strerror}"),
        ))
    })
}

/// The name of `value`'s type, for messages.
pub(crate) fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "object".to_owned(), |name| name.to_string())
}

/// Seconds as a duration: zero or less is zero, too large saturates.
pub(crate) fn seconds(value: f64) -> Duration {
    if value > 0.0 {
        Duration::try_from_secs_f64(value).unwrap_or(Duration::MAX)
    } else {
        Duration::ZERO
    }
}
