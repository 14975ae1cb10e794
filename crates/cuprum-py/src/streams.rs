//! `rust_pump_stream` and `rust_consume_stream`: the engine's stream pump
//! and text reader, with argument checks done before any descriptor is
//! touched and the GIL released during I/O.

use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};

use cuprum::stream::{self, PumpMethod, PumpOptions, DEFAULT_BUFFER_SIZE};
use cuprum::{Error, ErrorKind};
use pyo3::prelude::*;

use crate::errors::to_py_err;

// The signatures below spell the default buffer size as a literal; keep it
// equal to the engine's.
const _: () = assert!(DEFAULT_BUFFER_SIZE == 65_536);

/// Checks `buffer_size` with the engine's rule (`1..=2**30`).
fn buffer_size(value: i64) -> PyResult<usize> {
    let size = if value <= 0 {
        0
    } else {
        usize::try_from(value).unwrap_or(usize::MAX)
    };
    stream::validate_buffer_size(size).map_err(to_py_err)
}

/// Checks that `value` can be a file descriptor.
fn descriptor(value: i64) -> PyResult<RawFd> {
    if value < 0 {
        return Err(to_py_err(Error::new(
            ErrorKind::InvalidArgument,
            "file descriptor must be non-negative",
        )));
    }
    RawFd::try_from(value).map_err(|_| {
        to_py_err(Error::new(
            ErrorKind::InvalidArgument,
            "file descriptor out of range",
        ))
    })
}

/// Validates the arguments in the documented order, then pumps with the GIL
/// released. The writer descriptor is closed on return, the reader never.
fn pump_checked(
    py: Python<'_>,
    reader_fd: i64,
    writer_fd: i64,
    buffer_size_value: i64,
    method: PumpMethod,
) -> PyResult<stream::PumpReport> {
    crate::guard::guarded(|| pump_unguarded(py, reader_fd, writer_fd, buffer_size_value, method))
}

fn pump_unguarded(
    py: Python<'_>,
    reader_fd: i64,
    writer_fd: i64,
    buffer_size_value: i64,
    method: PumpMethod,
) -> PyResult<stream::PumpReport> {
    let size = buffer_size(buffer_size_value)?;
    let reader = descriptor(reader_fd)?;
    let writer = descriptor(writer_fd)?;
    // SAFETY: `reader` is non-negative (so not the -1 sentinel) and the
    // caller keeps it open for the duration of this call, as documented; it
    // is only borrowed and never closed.
    let reader = unsafe { BorrowedFd::borrow_raw(reader) };
    // SAFETY: by the documented contract the caller hands ownership of
    // `writer` to this call, which closes it on return.
    let writer = unsafe { OwnedFd::from_raw_fd(writer) };
    let options = PumpOptions::default()
        .with_buffer_size(size)
        .with_method(method);
    py.detach(move || stream::pump_with(reader, writer, &options))
        .map_err(to_py_err)
}

/// Copies everything from `reader_fd` to `writer_fd` and returns the number
/// of bytes delivered.
///
/// Uses `splice(2)` on Linux where the kernel allows it, otherwise a
/// read/write loop. A downstream broken pipe or reset is not an error: the
/// reader is drained to end of input and the bytes delivered before it are
/// returned. `reader_fd` is borrowed and never closed; `writer_fd` is
/// consumed and closed on return. The GIL is released during the copy.
///
/// Raises `ValueError` for a `buffer_size` outside `1..=2**30` or a bad
/// descriptor number (checked in that order, before any I/O), and `OSError`
/// (with the matching subclass) when a system call fails.
#[pyfunction]
#[pyo3(signature = (reader_fd, writer_fd, buffer_size = 65_536))]
pub(crate) fn rust_pump_stream(
    py: Python<'_>,
    reader_fd: i64,
    writer_fd: i64,
    buffer_size: i64,
) -> PyResult<u64> {
    pump_checked(py, reader_fd, writer_fd, buffer_size, PumpMethod::Auto).map(|report| report.bytes)
}

/// Like `rust_pump_stream`, but returns `(bytes, method_used,
/// downstream_closed)` where `method_used` is `"splice"` or `"read_write"`;
/// with `portable=True` the read/write loop is forced. Private: for tests
/// and benchmarks.
#[pyfunction]
#[pyo3(signature = (reader_fd, writer_fd, buffer_size = 65_536, *, portable = false))]
pub(crate) fn _pump_stream_report(
    py: Python<'_>,
    reader_fd: i64,
    writer_fd: i64,
    buffer_size: i64,
    portable: bool,
) -> PyResult<(u64, &'static str, bool)> {
    let method = if portable {
        PumpMethod::Portable
    } else {
        PumpMethod::Auto
    };
    let report = pump_checked(py, reader_fd, writer_fd, buffer_size, method)?;
    Ok((
        report.bytes,
        report.method_used.as_str(),
        report.downstream_closed,
    ))
}

/// Reads `reader_fd` to end of input and returns it decoded as UTF-8, with
/// one U+FFFD per invalid sequence. The descriptor is never closed. The GIL
/// is released while reading.
///
/// Raises `ValueError` for a bad `buffer_size` or descriptor number (before
/// any I/O) and `OSError` when a read fails.
#[pyfunction]
#[pyo3(signature = (reader_fd, buffer_size = 65_536))]
pub(crate) fn rust_consume_stream(
    py: Python<'_>,
    reader_fd: i64,
    buffer_size: i64,
) -> PyResult<String> {
    crate::guard::guarded(|| consume_unguarded(py, reader_fd, buffer_size))
}

fn consume_unguarded(py: Python<'_>, reader_fd: i64, buffer_size: i64) -> PyResult<String> {
    let size = self::buffer_size(buffer_size)?;
    let reader = descriptor(reader_fd)?;
    // SAFETY: `reader` is non-negative and the caller keeps it open for the
    // duration of this call; it is only borrowed and never closed.
    let reader = unsafe { BorrowedFd::borrow_raw(reader) };
    py.detach(move || stream::consume(reader, size))
        .map_err(to_py_err)
}
