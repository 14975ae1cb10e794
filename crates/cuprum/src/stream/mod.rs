//! Moving bytes between file descriptors.
//!
//! This module holds the engine's byte movers and text decoders:
//!
//! - [`pump`] / [`pump_with`] copy everything from a reader descriptor to a
//!   writer descriptor. On Linux they first try `splice(2)`, which moves pages
//!   inside the kernel without copying them through user space; when the
//!   kernel cannot splice between the two descriptors (neither end is a
//!   pipe), they fall back to a portable `read(2)`/`write(2)` loop. Both paths
//!   deliver the same bytes and report the same results.
//! - [`consume`] reads a descriptor to its end and decodes it as UTF-8.
//! - [`Utf8Decoder`] decodes UTF-8 incrementally, replacing invalid input
//!   with U+FFFD exactly as [`String::from_utf8_lossy`] does, whatever the
//!   chunk boundaries.
//! - [`LineSplitter`] turns decoded text into lines with the same line
//!   boundaries at any chunking.
//!
//! # Downstream closure
//!
//! When the writer's far end goes away (`EPIPE` or `ECONNRESET`), the pump
//! does not fail: it stops writing, discards what the reader still produces
//! as its [`Drain`] policy says, and reports the bytes delivered so far with
//! [`PumpReport::downstream_closed`] set.
//!
//! Writing to a pipe whose reader has gone raises `SIGPIPE` in the calling
//! process. Rust programs ignore `SIGPIPE` by default (as does Python), so
//! the pump sees `EPIPE` instead; a program that restores the default action
//! must block or ignore the signal before pumping.
//!
//! # Example
//!
//! ```
//! use std::io::{Read, Write};
//! use std::os::fd::{AsFd, OwnedFd};
//! use std::os::unix::net::UnixStream;
//!
//! let (mut producer, source) = UnixStream::pair()?;
//! let (sink, mut consumer) = UnixStream::pair()?;
//! producer.write_all(b"hello")?;
//! drop(producer);
//!
//! let delivered = cuprum::stream::pump(source.as_fd(), OwnedFd::from(sink), 4096)?;
//! assert_eq!(delivered, 5);
//!
//! let mut out = String::new();
//! consumer.read_to_string(&mut out)?;
//! assert_eq!(out, "hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decode;
mod drain;
mod lines;
mod options;
mod pump;
#[cfg(target_os = "linux")]
mod splice;

pub use decode::Utf8Decoder;
pub use lines::LineSplitter;
pub use options::{
    validate_buffer_size, Drain, Method, PumpMethod, PumpOptions, PumpReport, DEFAULT_BUFFER_SIZE,
    MAX_BUFFER_SIZE,
};
pub use pump::{consume, pump, pump_with};
