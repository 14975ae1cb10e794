//! Bindings for `cuprum::exec::Hub`: one readiness descriptor for every run
//! an event loop awaits.

use std::os::fd::AsRawFd;

use cuprum::exec::Hub as EngineHub;
use pyo3::prelude::*;

use crate::errors::to_py_err;
use crate::guard::guarded;

/// A descriptor shared by many runs: readable while a watched run
/// (`Execution.watch`) has events or its outcome waiting; `take()` says
/// which. Runs hold it weakly: the descriptor is closed as soon as this
/// object is freed.
#[pyclass(module = "cuprum._native", frozen)]
pub(crate) struct Hub {
    pub(crate) inner: EngineHub,
}

#[pymethods]
impl Hub {
    #[new]
    fn new() -> PyResult<Self> {
        guarded(|| {
            EngineHub::new()
                .map(|inner| Self { inner })
                .map_err(to_py_err)
        })
    }

    /// The descriptor to wait on.
    fn fileno(&self) -> i32 {
        self.inner.fd().as_raw_fd()
    }

    /// The tokens of the runs that are ready since the last call (a token
    /// may repeat); clears the descriptor. Never blocks.
    fn take(&self) -> Vec<u64> {
        self.inner.take_ready()
    }
}
