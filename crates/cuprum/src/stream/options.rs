//! Pump settings and results: buffer size limits, method, drain policy,
//! and the report of a finished pump.

use std::time::Duration;

use crate::{Error, ErrorKind, Result};

/// The buffer size [`pump`](super::pump()) callers use unless they have a reason not to:
/// 64 KiB, the default capacity of a Linux pipe.
///
/// # Example
///
/// ```
/// use cuprum::stream::{PumpOptions, DEFAULT_BUFFER_SIZE};
/// assert_eq!(PumpOptions::default().buffer_size, DEFAULT_BUFFER_SIZE);
/// ```
pub const DEFAULT_BUFFER_SIZE: usize = 65_536;

/// The largest accepted buffer size: 2³⁰ bytes (1 GiB).
///
/// # Example
///
/// ```
/// use cuprum::stream::{validate_buffer_size, MAX_BUFFER_SIZE};
/// assert!(validate_buffer_size(MAX_BUFFER_SIZE).is_ok());
/// assert!(validate_buffer_size(MAX_BUFFER_SIZE + 1).is_err());
/// ```
pub const MAX_BUFFER_SIZE: usize = 1 << 30;

/// How the pump may move bytes.
///
/// # Example
///
/// ```
/// use cuprum::stream::{PumpMethod, PumpOptions};
/// // The behaviour reference: never splice.
/// let options = PumpOptions::default().with_method(PumpMethod::Portable);
/// assert_eq!(PumpMethod::default(), PumpMethod::Auto);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PumpMethod {
    /// Use the fastest path the descriptors allow: `splice(2)` on Linux,
    /// falling back to the read/write loop when the kernel cannot splice.
    #[default]
    Auto,
    /// Always use the portable read/write loop (the behaviour reference).
    Portable,
}

/// What the pump does with the reader's remaining data once the writer's
/// far end has gone away (`EPIPE` or `ECONNRESET`).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use cuprum::stream::{Drain, PumpOptions};
/// // A pipeline relay: discard for a short grace, then let the caller close
/// // the upstream pipe.
/// let relay = PumpOptions::default().with_drain(Drain::For(Duration::from_millis(250)));
/// assert_eq!(Drain::default(), Drain::ToEof);
/// # let _ = relay;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Drain {
    /// Read and discard until the reader reaches end of input, so a producer
    /// on the far side of the reader always finishes. This is the contract of
    /// the standalone pump.
    #[default]
    ToEof,
    /// Read and discard for at most this long (waiting with `poll(2)`, never
    /// spinning), then return even if the reader is not at end of input.
    /// A caller that then closes the reader makes an endless producer get
    /// `SIGPIPE`, as in a shell pipeline.
    For(Duration),
}

/// The path a pump actually took.
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
/// let (sink, _consumer) = UnixStream::pair()?;
/// producer.write_all(b"x")?;
/// drop(producer);
/// let report = pump_with(source.as_fd(), OwnedFd::from(sink), &PumpOptions::default())?;
/// // Neither end is a pipe, so the kernel cannot splice.
/// assert_eq!(report.method_used, Method::ReadWrite);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// Bytes moved inside the kernel with `splice(2)`.
    Splice,
    /// Bytes copied through a user-space buffer with `read(2)`/`write(2)`.
    ReadWrite,
}

impl Method {
    /// A stable lowercase name for the path: `"splice"` or `"read_write"`.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::stream::Method;
    /// assert_eq!(Method::Splice.as_str(), "splice");
    /// assert_eq!(Method::ReadWrite.as_str(), "read_write");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Splice => "splice",
            Self::ReadWrite => "read_write",
        }
    }
}

/// Settings for [`pump_with`](super::pump_with).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use cuprum::stream::{Drain, PumpMethod, PumpOptions};
///
/// let options = PumpOptions::default()
///     .with_buffer_size(1 << 20)
///     .with_method(PumpMethod::Portable)
///     .with_drain(Drain::For(Duration::from_millis(250)));
/// assert_eq!(options.buffer_size, 1 << 20);
/// assert_eq!(PumpOptions::default().buffer_size, cuprum::stream::DEFAULT_BUFFER_SIZE);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PumpOptions {
    /// The most bytes moved by one system call, in `1..=MAX_BUFFER_SIZE`
    /// (default [`DEFAULT_BUFFER_SIZE`]).
    pub buffer_size: usize,
    /// Which paths the pump may take (default [`PumpMethod::Auto`]).
    pub method: PumpMethod,
    /// What happens after the downstream end closes (default
    /// [`Drain::ToEof`]).
    pub drain: Drain,
}

impl Default for PumpOptions {
    fn default() -> Self {
        Self {
            buffer_size: DEFAULT_BUFFER_SIZE,
            method: PumpMethod::Auto,
            drain: Drain::ToEof,
        }
    }
}

impl PumpOptions {
    /// Sets [`Self::buffer_size`]; it is validated when the pump starts.
    ///
    /// # Example
    ///
    /// ```
    /// let options = cuprum::stream::PumpOptions::default().with_buffer_size(4096);
    /// assert_eq!(options.buffer_size, 4096);
    /// ```
    #[must_use]
    pub fn with_buffer_size(mut self, buffer_size: usize) -> Self {
        self.buffer_size = buffer_size;
        self
    }

    /// Sets [`Self::method`].
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::stream::{PumpMethod, PumpOptions};
    /// let options = PumpOptions::default().with_method(PumpMethod::Portable);
    /// assert_eq!(options.method, PumpMethod::Portable);
    /// ```
    #[must_use]
    pub fn with_method(mut self, method: PumpMethod) -> Self {
        self.method = method;
        self
    }

    /// Sets [`Self::drain`].
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use cuprum::stream::{Drain, PumpOptions};
    /// let options = PumpOptions::default().with_drain(Drain::For(Duration::from_millis(250)));
    /// assert_eq!(options.drain, Drain::For(Duration::from_millis(250)));
    /// ```
    #[must_use]
    pub fn with_drain(mut self, drain: Drain) -> Self {
        self.drain = drain;
        self
    }
}

/// What a finished pump did.
///
/// # Example
///
/// ```
/// use std::io::Write;
/// use std::os::fd::{AsFd, OwnedFd};
/// use std::os::unix::net::UnixStream;
/// use cuprum::stream::{pump_with, PumpOptions};
///
/// let (mut producer, source) = UnixStream::pair()?;
/// let (sink, _consumer) = UnixStream::pair()?;
/// producer.write_all(b"twelve bytes")?;
/// drop(producer);
/// let report = pump_with(source.as_fd(), OwnedFd::from(sink), &PumpOptions::default())?;
/// assert_eq!(report.bytes, 12);
/// assert!(!report.downstream_closed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PumpReport {
    /// Bytes accepted by the writer.
    pub bytes: u64,
    /// The path that moved the bytes.
    pub method_used: Method,
    /// Whether the writer's far end went away (`EPIPE`/`ECONNRESET`) before
    /// the reader reached end of input.
    pub downstream_closed: bool,
}

impl PumpReport {
    pub(super) fn new(bytes: u64, method_used: Method, downstream_closed: bool) -> Self {
        Self {
            bytes,
            method_used,
            downstream_closed,
        }
    }
}

/// Checks a buffer size against `1..=MAX_BUFFER_SIZE` and returns it.
///
/// # Errors
///
/// [`ErrorKind::InvalidArgument`] if `buffer_size` is zero ("buffer_size must
/// be greater than zero") or larger than [`MAX_BUFFER_SIZE`] ("buffer_size
/// exceeds the maximum permitted size").
///
/// # Example
///
/// ```
/// use cuprum::stream::{validate_buffer_size, MAX_BUFFER_SIZE};
/// assert_eq!(validate_buffer_size(4096)?, 4096);
/// assert!(validate_buffer_size(0).is_err());
/// assert!(validate_buffer_size(MAX_BUFFER_SIZE + 1).is_err());
/// # Ok::<(), cuprum::Error>(())
/// ```
pub fn validate_buffer_size(buffer_size: usize) -> Result<usize> {
    if buffer_size == 0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "buffer_size must be greater than zero",
        ));
    }
    if buffer_size > MAX_BUFFER_SIZE {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "buffer_size exceeds the maximum permitted size",
        ));
    }
    Ok(buffer_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_size_bounds() {
        assert_eq!(validate_buffer_size(1).ok(), Some(1));
        assert_eq!(
            validate_buffer_size(MAX_BUFFER_SIZE).ok(),
            Some(MAX_BUFFER_SIZE)
        );
        let zero = validate_buffer_size(0).expect_err("zero");
        assert_eq!(zero.kind(), ErrorKind::InvalidArgument);
        assert_eq!(zero.message(), "buffer_size must be greater than zero");
        let huge = validate_buffer_size(MAX_BUFFER_SIZE + 1).expect_err("huge");
        assert_eq!(
            huge.message(),
            "buffer_size exceeds the maximum permitted size"
        );
    }
}
