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
//! ## Guide
//!
//! Build a [`Command`] (or a [`Pipeline`] with `|`), describe the run with an
//! [`exec::ExecSpec`], spawn it and wait for the [`exec::Outcome`]:
//!
//! ```
//! use std::time::Duration;
//! use cuprum::Command;
//! use cuprum::exec::{ExecSpec, Output, Stdin};
//!
//! let outcome = ExecSpec::command(Command::new("tr").args(["a-z", "A-Z"]))
//!     .stdin(Stdin::Bytes(b"hello".to_vec()))
//!     .stdout(Output::capture())
//!     .timeout(Some(Duration::from_secs(10)))
//!     .spawn()?
//!     .wait();
//! assert_eq!(outcome.stages[0].exit_code, 0);
//! assert_eq!(outcome.stages[0].stdout.as_ref().unwrap().as_text(), Some("HELLO"));
//! # Ok::<(), cuprum::Error>(())
//! ```
//!
//! [`exec::ExecSpec::run`] is the checked shortcut, like duct's `run()`: it
//! spawns, waits, and returns an [`Error`] of kind [`ErrorKind::ExitStatus`]
//! when a stage exits with a code outside its command's
//! [`Command::ok_codes`] (`0` unless set):
//!
//! ```
//! use cuprum::{Command, ErrorKind};
//! use cuprum::exec::ExecSpec;
//!
//! let err = ExecSpec::command(Command::new("false")).run().unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::ExitStatus);
//! ExecSpec::command(Command::new("false").ok_codes([0, 1])).run()?;
//! # Ok::<(), cuprum::Error>(())
//! ```
//!
//! Restrict what may run with a [`Catalogue`]:
//!
//! ```
//! use cuprum::{Catalogue, Project};
//! let catalogue = Catalogue::new([Project::new("core-ops", ["echo", "git"])])?;
//! assert!(catalogue.command("git").is_ok());
//! assert!(catalogue.command("rm").is_err());
//! # Ok::<(), cuprum::Error>(())
//! ```
//!
//! A program is bound to one file before anything spawns: a name without a
//! `/` is found on the engine process's own `PATH`, a relative path against
//! its working directory — never the run's environment or working directory
//! — and the start event reports the file. Children receive descriptors 0, 1
//! and 2 plus [`exec::ExecSpec::pass_fds`], nothing else:
//!
//! ```
//! use cuprum::Command;
//! use cuprum::exec::{EventKind, ExecSpec};
//!
//! let spawned = ExecSpec::command(Command::new("true")).spawn()?;
//! let first = spawned.wait_events(None).events.remove(0);
//! let EventKind::Start { executable, .. } = first.kind else { unreachable!() };
//! assert!(executable.is_absolute() && executable.ends_with("true"));
//! # Ok::<(), cuprum::Error>(())
//! ```
//!
//! ## Modules
//!
//! - [`exec`]: spawn and supervise commands and pipelines; events; outcomes.
//! - [`stream`]: the zero-copy stream pump (`splice(2)` on Linux with a
//!   portable read/write fallback) and incremental UTF-8 decoding.
//! - [`Error`] / [`ErrorKind`]: the one error type of the engine.

pub mod catalogue;
pub mod command;
pub mod error;
pub mod exec;
mod fd;
pub mod stream;

pub use catalogue::{Catalogue, Project};
pub use command::{Command, Pipeline};
pub use error::{Error, ErrorKind, Result};

/// The example of the crate's README, compiled and run with the doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
