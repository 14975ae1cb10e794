//! Bindings for the process engine: `spawn` and the `Execution` handle.
//!
//! Python owns policy (allowlists, hooks, events, results); this module only
//! converts values, releases the GIL while waiting, and maps errors.

use std::os::fd::AsRawFd;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use cuprum::exec::{Captured, Execution as EngineExecution};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use crate::batch::batch;
use crate::convert::{lent, seconds};
use crate::errors::to_py_err;
use crate::guard::{guarded, leave_engine, shutting_down, EngineError};
use crate::spec::SpawnSpec;

/// How long one GIL-free wait lasts before Python signal handlers get a
/// chance to run (so Ctrl-C interrupts a blocking run).
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// Spawns the run `spec` describes and returns its `Execution`. A run with
/// a live stream is spawned at once; otherwise `inline` runs are supervised
/// by the thread that waits on them, the others by the engine's reactor.
/// A spec is spawned once.
#[pyfunction]
#[pyo3(signature = (spec, *, inline=false))]
pub(crate) fn spawn(
    py: Python<'_>,
    spec: &Bound<'_, SpawnSpec>,
    inline: bool,
) -> PyResult<Execution> {
    guarded(|| {
        if shutting_down() {
            return Err(EngineError::new_err(
                "the interpreter is exiting: no new runs are started",
            ));
        }
        let spec = spec.get();
        let live = spec.is_live();
        let spec = spec.take()?;
        let inner = py
            .detach(|| {
                if live {
                    // The live ends exist once the stages run: spawn now.
                    spec.spawn()
                } else if inline {
                    spec.spawn_inline()
                } else {
                    spec.submit()
                }
            })
            .map_err(to_py_err)?;
        Ok(Execution {
            inner: RwLock::new(Some(inner)),
        })
    })
}

/// A running execution: events, cancellation and the outcome.
#[pyclass(module = "cuprum._native", frozen)]
pub(crate) struct Execution {
    /// `None` once closed: the engine handle (and its descriptors) are
    /// released as soon as the run is over, not when Python collects this
    /// object (a traceback may keep it alive for long).
    inner: RwLock<Option<EngineExecution>>,
}

impl Execution {
    fn with<T>(&self, op: impl FnOnce(&EngineExecution) -> T) -> PyResult<T> {
        let guard = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        guard
            .as_ref()
            .map(op)
            .ok_or_else(|| PyValueError::new_err("the execution handle is closed"))
    }
}

#[pymethods]
impl Execution {
    /// The process id of every stage.
    fn pids(&self) -> Vec<u32> {
        self.with(EngineExecution::pids).unwrap_or_default()
    }

    /// The live end of a stream (`"stdout"` or `"stderr"`), if it is live.
    fn live_stream(&self, stream: &str) -> PyResult<Option<crate::live::LiveStream>> {
        let take = match stream {
            "stdout" => EngineExecution::live_stdout,
            "stderr" => EngineExecution::live_stderr,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "`stream` is \"stdout\" or \"stderr\", got {stream:?}"
                )))
            }
        };
        self.with(take)
            .map(|live| live.map(crate::live::LiveStream::new))
    }

    /// The live stdin, if it is live.
    fn live_stdin(&self) -> PyResult<Option<crate::live::LiveStdin>> {
        self.with(|e| e.live_stdin().map(crate::live::LiveStdin::new))
    }

    /// A descriptor that is readable whenever events or the outcome wait.
    fn notify_fd(&self) -> PyResult<i32> {
        self.with(|e| e.notify_fd().map(|fd| fd.as_raw_fd()))?
            .map_err(to_py_err)
    }

    /// Has `hub` report `token` whenever events or the outcome wait
    /// (replacing any hub and token before).
    fn watch(&self, hub: &Bound<'_, crate::hub::Hub>, token: u64) -> PyResult<()> {
        self.with(|e| e.watch(&hub.get().inner, token))
    }

    /// Takes waiting events without blocking: `(events, finished)`.
    fn take_events<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyList>, bool)> {
        guarded(|| batch(py, self.with(EngineExecution::take_events)?))
    }

    /// Blocks (GIL released) until events wait, the run finishes, or
    /// `timeout` seconds pass; then takes the events: `(events, finished)`.
    /// Python signal handlers run while waiting.
    #[pyo3(signature = (timeout=None))]
    fn wait_events<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<(Bound<'py, PyList>, bool)> {
        guarded(|| {
            let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(seconds(t)));
            loop {
                let slice = deadline.map_or(SIGNAL_CHECK, |d| {
                    d.saturating_duration_since(std::time::Instant::now())
                        .min(SIGNAL_CHECK)
                });
                let taken = py.detach(|| {
                    let taken = self.with(|e| e.wait_events(Some(slice)));
                    leave_engine();
                    taken
                })?;
                if !taken.events.is_empty()
                    || taken.finished
                    || deadline.is_some_and(|d| std::time::Instant::now() >= d)
                {
                    return batch(py, taken);
                }
                py.check_signals()?;
            }
        })
    }

    /// Waits (GIL released) until the run has finished or `timeout` seconds
    /// have passed; returns whether it finished. Events stay queued.
    fn join(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        guarded(|| {
            let deadline = std::time::Instant::now().checked_add(seconds(timeout));
            py.detach(|| loop {
                // A closed handle belongs to a run that is over.
                if self.with(EngineExecution::is_finished).unwrap_or(true) {
                    return Ok(true);
                }
                if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                    return Ok(false);
                }
                std::thread::sleep(Duration::from_millis(5));
            })
        })
    }

    /// Releases the engine handle and its descriptors. A run that is still
    /// going is cancelled first (the engine reaps it in the background).
    /// Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        guarded(|| {
            let taken = self
                .inner
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            py.detach(|| drop(taken));
            Ok(())
        })
    }

    /// Answers a `STDIN_WANTED` event: the next chunk of a streamed stdin
    /// (borrowed, never copied), or `None` to end it.
    fn feed_stdin(&self, chunk: Option<Bound<'_, PyBytes>>) -> PyResult<()> {
        let chunk = chunk.map(|data| lent(&data) as std::sync::Arc<dyn AsRef<[u8]> + Send + Sync>);
        // A closed handle belongs to a finished run: the chunk is not wanted.
        let _ = self.with(|e| e.feed_stdin(chunk));
        Ok(())
    }

    /// Terminates every live stage: SIGTERM, then SIGKILL after `grace`
    /// seconds. Idempotent; safe from any thread.
    fn cancel(&self, grace: f64) {
        // A closed handle belongs to a finished run: nothing to cancel.
        let _ = self.with(|e| e.cancel(seconds(grace)));
    }

    /// The outcome once the finishing batch was taken; `None` before (or if
    /// already taken).
    fn outcome(&self, py: Python<'_>) -> PyResult<Option<Outcome>> {
        guarded(|| self.outcome_inner(py))
    }
}

impl Execution {
    fn outcome_inner(&self, py: Python<'_>) -> PyResult<Option<Outcome>> {
        let Some(outcome) = self.with(EngineExecution::take_outcome)? else {
            return Ok(None);
        };
        let stages = outcome
            .stages
            .into_iter()
            .map(|stage| {
                Ok(StageOutcome {
                    pid: stage.pid,
                    exit_code: stage.exit_code,
                    duration: stage.duration.as_secs_f64(),
                    early_exit: stage.early_exit,
                    stdout: captured(py, stage.stdout)?,
                    stderr: captured(py, stage.stderr)?,
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let error = outcome
            .error
            .map(|err| to_py_err(err).into_value(py).into_any());
        Ok(Some(Outcome {
            stages: PyList::new(
                py,
                stages
                    .into_iter()
                    .map(|s| Py::new(py, s))
                    .collect::<PyResult<Vec<_>>>()?,
            )?
            .unbind(),
            timed_out: outcome.timed_out,
            cancelled: outcome.cancelled,
            failure_index: outcome.failure_index,
            error,
        }))
    }
}

fn captured(py: Python<'_>, value: Option<Captured>) -> PyResult<Option<Py<PyAny>>> {
    Ok(match value {
        None => None,
        Some(Captured::Text(text)) => Some(PyString::new(py, &text).into_any().unbind()),
        Some(Captured::Bytes(bytes)) => Some(PyBytes::new(py, &bytes).into_any().unbind()),
    })
}

/// How one stage ended.
#[pyclass(module = "cuprum._native", frozen, get_all)]
pub(crate) struct StageOutcome {
    pid: u32,
    exit_code: i32,
    duration: f64,
    stdout: Option<Py<PyAny>>,
    stderr: Option<Py<PyAny>>,
    early_exit: bool,
}

/// How an execution ended.
#[pyclass(module = "cuprum._native", frozen, get_all)]
pub(crate) struct Outcome {
    stages: Py<PyList>,
    timed_out: bool,
    cancelled: bool,
    failure_index: Option<usize>,
    error: Option<Py<PyAny>>,
}

/// The engine's line splitter for text decoded in Python (codecs other than
/// UTF-8): universal newlines, one line per `\r\n` even across feeds.
#[pyclass(module = "cuprum._native")]
pub(crate) struct LineSplitter {
    inner: cuprum::stream::LineSplitter,
}

#[pymethods]
impl LineSplitter {
    #[new]
    fn new() -> Self {
        Self {
            inner: cuprum::stream::LineSplitter::new(),
        }
    }

    /// Feeds text; returns the lines it completes (terminators removed).
    fn feed(&mut self, text: &str) -> Vec<String> {
        let mut lines = Vec::new();
        self.inner.feed(text, &mut lines);
        lines
    }

    /// Ends the input; returns the unterminated tail, if any.
    fn finish(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        self.inner.finish(&mut lines);
        lines
    }
}
