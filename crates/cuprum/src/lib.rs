//! # cuprum — run external programs safely, typed and fast
//!
//! `cuprum` is a process engine: it spawns programs from an explicit argv
//! (never a shell string), wires their standard streams, moves every byte of
//! their I/O itself, and supervises their lifecycle (timeouts, cancellation
//! with a grace period, reaping of whole process groups).
//!
//! The crate has no Python dependency; the Python package `cuprum` is a thin
//! front end over it.
//!
//! ## Modules
//!
//! - [`stream`]: the zero-copy stream pump (`splice(2)` on Linux with a
//!   portable read/write fallback) and incremental UTF-8 decoding.
//! - [`Error`] / [`ErrorKind`]: the one error type of the engine.

pub mod error;
pub mod stream;

pub use error::{Error, ErrorKind, Result};
