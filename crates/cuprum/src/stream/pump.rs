//! The stream pump: the public entry points, the portable read/write loop
//! and the drain policy applied after the downstream end goes away.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::drain::{add_bytes, drain_reader, is_downstream_closed};
use super::options::{validate_buffer_size, Drain, Method, PumpMethod, PumpOptions, PumpReport};
use crate::fd;
use crate::{Error, ErrorKind, Result};

const READ_CONTEXT: &str = "read from the source descriptor";
const WRITE_CONTEXT: &str = "write to the sink descriptor";

/// Copies everything from `reader` to `writer` and returns the number of
/// bytes the writer accepted.
///
/// This is [`pump_with`] with default options and the given `buffer_size`:
/// `splice(2)` where the kernel allows it, the read/write loop otherwise,
/// and after a downstream `EPIPE`/`ECONNRESET` the reader is drained to end of
/// input (the count then covers only the bytes delivered before the
/// closure). `reader` is borrowed and never closed; `writer` is consumed and
/// closed before the function returns, whatever the outcome, so the far end
/// sees end of input.
///
/// # Errors
///
/// - [`ErrorKind::InvalidArgument`] if `buffer_size` is outside
///   `1..=MAX_BUFFER_SIZE` (checked before any I/O).
/// - [`ErrorKind::Io`] with the `errno` if a system call fails (for example
///   `EBADF` for a closed reader, `EISDIR` for a directory).
/// - [`ErrorKind::WriteZero`] if a write makes no progress.
///
/// # Example
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::fd::{AsFd, OwnedFd};
/// use std::os::unix::net::UnixStream;
///
/// let (mut producer, source) = UnixStream::pair()?;
/// let (sink, mut consumer) = UnixStream::pair()?;
/// producer.write_all(b"some bytes")?;
/// drop(producer);
///
/// assert_eq!(cuprum::stream::pump(source.as_fd(), OwnedFd::from(sink), 3)?, 10);
/// let mut out = Vec::new();
/// consumer.read_to_end(&mut out)?;
/// assert_eq!(out, b"some bytes");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn pump(reader: BorrowedFd<'_>, writer: OwnedFd, buffer_size: usize) -> Result<u64> {
    let options = PumpOptions::default().with_buffer_size(buffer_size);
    pump_with(reader, writer, &options).map(|report| report.bytes)
}

/// Copies everything from `reader` to `writer` as `options` say and reports
/// what happened.
///
/// With [`PumpMethod::Auto`] on Linux the first `splice(2)` call probes the
/// pair: `EINVAL` there (neither descriptor is a pipe, or the file system
/// cannot splice) selects the read/write loop for the whole transfer; after a
/// successful splice, `EINVAL` is an error. Both paths move the same bytes
/// and report the same results. Non-blocking descriptors are waited on with
/// `poll(2)`; `EINTR` is retried everywhere.
///
/// A downstream `EPIPE` or `ECONNRESET` is not an error: the pump stops
/// writing, drains the reader per [`PumpOptions::drain`] and returns with
/// [`PumpReport::downstream_closed`] set.
///
/// `reader` is borrowed and never closed; `writer` is consumed and closed
/// before the function returns, whatever the outcome.
///
/// # Errors
///
/// - [`ErrorKind::InvalidArgument`] if [`PumpOptions::buffer_size`] is out of
///   range (checked before any I/O).
/// - [`ErrorKind::Io`] with the `errno` for any other failed system call,
///   including a read that fails while draining.
/// - [`ErrorKind::WriteZero`] if a write makes no progress.
///
/// # Example
///
/// ```
/// use std::io::Write;
/// use std::os::fd::{AsFd, OwnedFd};
/// use std::os::unix::net::UnixStream;
/// use cuprum::stream::{pump_with, Method, PumpOptions};
///
/// let (mut producer, source) = UnixStream::pair()?;
/// let (sink, consumer) = UnixStream::pair()?;
/// producer.write_all(b"ignored")?;
/// drop(producer);
/// drop(consumer); // nobody reads the sink
///
/// let report = pump_with(source.as_fd(), OwnedFd::from(sink), &PumpOptions::default())?;
/// assert!(report.downstream_closed);
/// assert_eq!(report.bytes, 0);
/// assert_eq!(report.method_used, Method::ReadWrite); // sockets cannot be spliced together
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn pump_with(
    reader: BorrowedFd<'_>,
    writer: OwnedFd,
    options: &PumpOptions,
) -> Result<PumpReport> {
    let buffer_size = validate_buffer_size(options.buffer_size)?;
    #[cfg(target_os = "linux")]
    if options.method == PumpMethod::Auto {
        if let Some(report) =
            super::splice::pump(reader, writer.as_fd(), buffer_size, options.drain)?
        {
            return Ok(report);
        }
    }
    copy(reader, writer.as_fd(), buffer_size, options.drain)
    // `writer` is dropped (closed) here, on every path.
}

/// Reads `reader` to end of input and decodes it as UTF-8, replacing each
/// maximal invalid sequence (and an incomplete tail) with U+FFFD.
///
/// The descriptor is borrowed and never closed. The result does not depend
/// on `buffer_size`, which only sets the size of each read.
///
/// # Errors
///
/// - [`ErrorKind::InvalidArgument`] if `buffer_size` is outside
///   `1..=MAX_BUFFER_SIZE` (checked before any I/O).
/// - [`ErrorKind::Io`] with the `errno` if a read fails (for example `EISDIR`
///   for a directory).
///
/// # Example
///
/// ```
/// use std::io::Write;
/// use std::os::fd::AsFd;
/// use std::os::unix::net::UnixStream;
///
/// let (mut producer, source) = UnixStream::pair()?;
/// producer.write_all(b"caf\xc3\xa9 \xff")?;
/// drop(producer);
/// assert_eq!(cuprum::stream::consume(source.as_fd(), 2)?, "café \u{fffd}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn consume(reader: BorrowedFd<'_>, buffer_size: usize) -> Result<String> {
    let buffer_size = validate_buffer_size(buffer_size)?;
    let mut data = Vec::new();
    while fd::read_append(reader, &mut data, buffer_size).map_err(|e| Error::io(e, READ_CONTEXT))?
        != 0
    {}
    Ok(match String::from_utf8(data) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    })
}

/// The portable path: read into a buffer, write it all, repeat until end of
/// input or until the downstream end goes away.
pub(super) fn copy(
    reader: BorrowedFd<'_>,
    writer: BorrowedFd<'_>,
    buffer_size: usize,
    drain: Drain,
) -> Result<PumpReport> {
    let mut buf = vec![0_u8; buffer_size];
    let mut total = 0_u64;
    loop {
        let n = fd::read(reader, &mut buf).map_err(|e| Error::io(e, READ_CONTEXT))?;
        if n == 0 {
            return Ok(PumpReport::new(total, Method::ReadWrite, false));
        }
        let mut chunk = &buf[..n];
        while !chunk.is_empty() {
            match fd::write(writer, chunk) {
                Ok(0) => return Err(write_zero()),
                Ok(written) => {
                    total = add_bytes(total, written)?;
                    chunk = chunk.get(written..).ok_or_else(out_of_bounds)?;
                }
                Err(err) if is_downstream_closed(&err) => {
                    drain_reader(reader, &mut buf, drain)?;
                    return Ok(PumpReport::new(total, Method::ReadWrite, true));
                }
                Err(err) => return Err(Error::io(err, WRITE_CONTEXT)),
            }
        }
    }
}

fn out_of_bounds() -> Error {
    Error::new(
        ErrorKind::Overflow,
        "computed range exceeded the buffer bounds",
    )
}

fn write_zero() -> Error {
    Error::new(
        ErrorKind::WriteZero,
        "write to the sink descriptor made no progress",
    )
}
