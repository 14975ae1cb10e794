//! The boundary guard: no panic crosses into Python, and no thread parked
//! in the engine wakes into a finalizing interpreter.
//!
//! Every native entry point runs its body through [`guarded`], which turns a
//! panic into `cuprum.exceptions.EngineError` (a `RuntimeError`). The
//! engine itself tears down whatever a panicking run had started (its
//! stages kill and reap their process groups when dropped), so by the time
//! the exception is raised no child is left.
//!
//! At interpreter exit, `cuprum`'s `atexit` hook calls [`begin_shutdown`]
//! and then cancels and waits for every run in flight. A daemon thread that
//! was waiting in the engine (GIL released) must not take the GIL back once
//! the interpreter finalizes — CPython would end the thread with
//! `pthread_exit`, unwinding through Rust frames and aborting the process.
//! Such a thread parks for good instead ([`leave_engine`]); the process is
//! exiting anyway.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::thread::ThreadId;

use pyo3::prelude::*;

pyo3::import_exception!(cuprum.exceptions, EngineError);

static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);
static SHUTDOWN_THREAD: OnceLock<ThreadId> = OnceLock::new();

/// Runs `op`, turning a panic into `EngineError`.
pub(crate) fn guarded<T>(op: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(op)).unwrap_or_else(|panic| {
        let detail = panic
            .downcast_ref::<&str>()
            .map(ToString::to_string)
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(EngineError::new_err(format!(
            "internal engine error (the run was torn down): {detail}"
        )))
    })
}

/// Whether the interpreter is exiting (the `atexit` hook has run).
pub(crate) fn shutting_down() -> bool {
    SHUTTING_DOWN.load(Ordering::Acquire)
}

/// Called by a thread about to take the GIL back after waiting in the
/// engine: during interpreter shutdown, any thread but the one running the
/// exit hook parks here forever.
pub(crate) fn leave_engine() {
    if shutting_down() && SHUTDOWN_THREAD.get() != Some(&std::thread::current().id()) {
        loop {
            std::thread::park();
        }
    }
}

/// Marks the interpreter as exiting; called once by `cuprum`'s `atexit`
/// hook, on the thread that runs it.
#[pyfunction]
pub(crate) fn _begin_shutdown() {
    let _ = SHUTDOWN_THREAD.set(std::thread::current().id());
    SHUTTING_DOWN.store(true, Ordering::Release);
}
