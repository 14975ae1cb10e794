//! Bindings for live streams: a running process's output as batches of
//! lines or chunks, and its interactive stdin.
//!
//! Every blocking call releases the GIL and wakes at least every
//! [`SIGNAL_CHECK`] so Python signal handlers (Ctrl-C) run.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use cuprum::exec::{cut_lines, LineCutter, LiveInput, LiveOutput};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use crate::guard::{guarded, leave_engine};

/// How long one GIL-free wait lasts before Python signal handlers run.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

fn deadline(timeout: Option<f64>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(Duration::try_from_secs_f64(t.max(0.0)).ok()?))
}

/// Runs `step` with the GIL released in slices of at most [`SIGNAL_CHECK`]
/// until it returns `Some` or `deadline` passes, checking for signals in
/// between.
fn blocking<T: Send>(
    py: Python<'_>,
    deadline: Option<Instant>,
    step: impl Fn(Duration) -> Option<T> + Sync,
) -> PyResult<Option<T>> {
    loop {
        let slice = deadline.map_or(SIGNAL_CHECK, |d| {
            d.saturating_duration_since(Instant::now())
                .min(SIGNAL_CHECK)
        });
        let got = py.detach(|| {
            let got = step(slice);
            leave_engine();
            got
        });
        if got.is_some() || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(got);
        }
        py.check_signals()?;
    }
}

/// One live output stream of a running execution.
#[pyclass(module = "cuprum._native", frozen)]
pub(crate) struct LiveStream {
    inner: LiveOutput,
    cutter: Mutex<LineCutter>,
}

impl LiveStream {
    pub(crate) fn new(inner: LiveOutput) -> Self {
        Self {
            inner,
            cutter: Mutex::new(LineCutter::new()),
        }
    }

    fn lines<'py>(&self, py: Python<'py>, data: &[u8], eof: bool) -> PyResult<Bound<'py, PyList>> {
        let mut cutter = self.cutter.lock().unwrap_or_else(PoisonError::into_inner);
        let mut lines: Option<PyResult<Bound<'py, PyList>>> = None;
        // One string for the whole batch, cut by `str.splitlines` in C, when
        // that splits exactly where the engine would (no boundary character
        // other than `\n` and `\r`); else one string per line from here.
        cutter.feed_batch(data, eof, |batch| {
            lines = Some(if has_other_breaks(batch.as_bytes()) {
                let mut items: Vec<Bound<'py, PyString>> = Vec::new();
                cut_lines(batch, |line| items.push(PyString::new(py, line)));
                PyList::new(py, items)
            } else {
                PyString::new(py, batch)
                    .call_method1(intern!(py, "splitlines"), (true,))
                    .and_then(|list| list.cast_into::<PyList>().map_err(Into::into))
            });
        });
        lines.unwrap_or_else(|| Ok(PyList::empty(py)))
    }
}

#[pymethods]
impl LiveStream {
    /// The next batch of lines (endings kept), blocking up to `timeout`
    /// seconds (`None`: no limit). `[]` when the time ran out, `None` at
    /// the end of the stream.
    #[pyo3(signature = (timeout=None))]
    fn read_lines<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        guarded(|| {
            let at = deadline(timeout);
            loop {
                let got = blocking(py, at, |slice| {
                    self.inner
                        .read(Some(slice))
                        .map(Some)
                        .or_else(|| self.inner.is_finished().then_some(None))
                })?;
                match got {
                    None => return Ok(Some(PyList::empty(py))),
                    Some(Some(data)) => {
                        let lines = self.lines(py, &data, false)?;
                        if !lines.is_empty() {
                            return Ok(Some(lines));
                        }
                    }
                    Some(None) => {
                        let lines = self.lines(py, b"", true)?;
                        return Ok((!lines.is_empty()).then_some(lines));
                    }
                }
            }
        })
    }

    /// The lines waiting now, without blocking: `[]` if none, `None` at the
    /// end of the stream.
    fn take_lines<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        guarded(|| match self.inner.take() {
            Some(data) => self.lines(py, &data, false).map(Some),
            None if self.inner.is_finished() => {
                let lines = self.lines(py, b"", true)?;
                Ok((!lines.is_empty()).then_some(lines))
            }
            None => Ok(Some(PyList::empty(py))),
        })
    }

    /// The next chunk, blocking up to `timeout` seconds: `b""` when the
    /// time ran out, `None` at the end of the stream.
    #[pyo3(signature = (timeout=None))]
    fn read_bytes<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        guarded(|| {
            let got = blocking(py, deadline(timeout), |slice| {
                self.inner
                    .read(Some(slice))
                    .map(Some)
                    .or_else(|| self.inner.is_finished().then_some(None))
            })?;
            Ok(match got {
                None => Some(PyBytes::new(py, b"")),
                Some(Some(data)) => Some(PyBytes::new(py, &data)),
                Some(None) => None,
            })
        })
    }

    /// The bytes waiting now: `b""` if none, `None` at the end of the stream.
    fn take_bytes<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        match self.inner.take() {
            Some(data) => Some(PyBytes::new(py, &data)),
            None if self.inner.is_finished() => None,
            None => Some(PyBytes::new(py, b"")),
        }
    }

    /// Whether the stream ended and everything was taken.
    fn finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// Lifts the buffer's bound (the rest is drained into memory).
    fn unbound(&self) {
        self.inner.unbound();
    }

    /// Everything not yet returned, as text (`text=True`: decoded UTF-8
    /// with replacement, including a partly read line) or raw bytes.
    fn rest<'py>(&self, py: Python<'py>, text: bool) -> Bound<'py, PyAny> {
        let data = self.inner.take().unwrap_or_default();
        if !text {
            return PyBytes::new(py, &data).into_any();
        }
        let mut cutter = self.cutter.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = cutter.take_rest();
        let mut tail = LineCutter::new();
        tail.feed(&data, true, |line| out.push_str(line));
        PyString::new(py, &out).into_any()
    }
}

/// The interactive stdin of a running execution.
#[pyclass(module = "cuprum._native", frozen)]
pub(crate) struct LiveStdin {
    inner: LiveInput,
}

impl LiveStdin {
    pub(crate) fn new(inner: LiveInput) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl LiveStdin {
    /// Hands `data` over without waiting; returns the ticket to wait for.
    /// `BrokenPipeError` once the child closed its stdin.
    fn submit(&self, data: &[u8]) -> PyResult<u64> {
        Ok(self.inner.submit(data)?)
    }

    /// Whether everything up to `ticket` was written (`BrokenPipeError`
    /// if the child closed its stdin first).
    fn written(&self, ticket: u64) -> PyResult<bool> {
        Ok(self.inner.is_written(ticket)?)
    }

    /// Blocks (GIL released) until everything up to `ticket` is written.
    fn wait(&self, py: Python<'_>, ticket: u64) -> PyResult<()> {
        guarded(|| {
            blocking(py, None, |slice| {
                match self.inner.wait_written(ticket, Some(slice)) {
                    Ok(true) => Some(Ok(())),
                    Ok(false) => None,
                    Err(err) => Some(Err(err)),
                }
            })?
            .unwrap_or(Ok(()))
            .map_err(PyErr::from)
        })
    }

    /// Closes the child's stdin once everything submitted is written.
    fn close(&self) {
        self.inner.close();
    }

    /// Whether the pipe is closed.
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }
}

/// Whether `text` holds a character `str.splitlines` treats as a line
/// boundary besides `\n` and `\r` (`\v`, `\f`, `\x1c`–`\x1e`, U+0085,
/// U+2028, U+2029). Bytes 0x85, 0xA8 and 0xA9 also occur inside other
/// characters: a false alarm only takes the slower exact path.
fn has_other_breaks(text: &[u8]) -> bool {
    text.iter()
        .any(|&b| matches!(b, 0x0b | 0x0c | 0x1c..=0x1e | 0x85 | 0xa8 | 0xa9))
}
