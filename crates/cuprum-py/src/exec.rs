//! Bindings for the process engine: `spawn` and the `Execution` handle.
//!
//! Python owns policy (allowlists, hooks, events, results); this module only
//! converts values, releases the GIL while waiting, and maps errors.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use cuprum::exec::{
    Captured, Decode, Echo, Event, EventKind, ExecSpec, Execution as EngineExecution, Output,
    Redirect, RelayMethod, Stdin, StdinOp, Stream,
};
use cuprum::Command;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use pyo3::{intern, IntoPyObjectExt};

use crate::errors::to_py_err;
use crate::guard::{guarded, leave_engine, shutting_down, EngineError};

/// A `bytes` object lent to the engine as a stdin payload: the engine reads
/// the object's own buffer (no copy) while this keeps it alive.
struct LentBytes {
    _owner: Py<PyBytes>,
    ptr: *const u8,
    len: usize,
}

// SAFETY: a `bytes` object is immutable and `_owner` keeps it alive for as
// long as this value exists, so its buffer may be read from any thread
// without the GIL. Dropping `_owner` without the GIL defers the decref to
// PyO3's pool.
unsafe impl Send for LentBytes {}
// SAFETY: as above; shared access only ever reads the immutable buffer.
unsafe impl Sync for LentBytes {}

impl AsRef<[u8]> for LentBytes {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr`/`len` describe the buffer of the immutable `bytes`
        // object that `_owner` keeps alive.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// An argv element, environment entry or path, as the bytes Python's
/// `os.fsencode` produced: the OS encoding was applied (and rejected lone
/// surrogates) before the engine sees it.
pub(crate) struct FsBytes(OsString);

impl<'a, 'py> FromPyObject<'a, 'py> for FsBytes {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        use std::os::unix::ffi::OsStringExt;
        let bytes = obj.cast::<PyBytes>().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err("expected bytes encoded with os.fsencode")
        })?;
        Ok(Self(OsString::from_vec(bytes.as_bytes().to_vec())))
    }
}

impl From<FsBytes> for OsString {
    fn from(value: FsBytes) -> Self {
        value.0
    }
}

fn lent(data: &Bound<'_, PyBytes>) -> std::sync::Arc<LentBytes> {
    let bytes = data.as_bytes();
    std::sync::Arc::new(LentBytes {
        ptr: bytes.as_ptr(),
        len: bytes.len(),
        _owner: data.clone().unbind(),
    })
}

fn lend(data: &Bound<'_, PyBytes>) -> Stdin {
    Stdin::Shared(lent(data))
}

/// A stream's route as the Python package spells it: `(kind, value)`.
type RouteArg<'py> = (String, Option<Bound<'py, PyAny>>);

/// What a `(kind, value)` route asks of the engine.
enum Route {
    Redirect(Redirect),
    /// Chunks fed on request (stdin only).
    Stream,
    /// `2>&1` (stderr only).
    Merge,
}

fn route(stream: &str, (kind, value): RouteArg<'_>) -> PyResult<Route> {
    let path = |value: Option<Bound<'_, PyAny>>| -> PyResult<std::path::PathBuf> {
        let FsBytes(path) = value
            .ok_or_else(|| PyValueError::new_err(format!("`{stream}` {kind} needs a path")))?
            .extract()?;
        Ok(path.into())
    };
    Ok(match (kind.as_str(), stream) {
        ("path", _) => Route::Redirect(Redirect::Path(path(value)?)),
        ("append", "stdout" | "stderr") => Route::Redirect(Redirect::Append(path(value)?)),
        ("null", _) => Route::Redirect(Redirect::Null),
        ("stream", "stdin") => Route::Stream,
        ("stdout", "stderr") => Route::Merge,
        ("fd", _) => {
            let fd: i32 = value
                .ok_or_else(|| PyValueError::new_err(format!("`{stream}` fd needs a descriptor")))?
                .extract()?;
            if fd < 0 {
                return Err(PyValueError::new_err(format!(
                    "`{stream}` descriptor {fd} is negative"
                )));
            }
            // SAFETY: the caller keeps `fd` open for the duration of this
            // call; the engine keeps a duplicate (close-on-exec).
            let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
            let owned = borrowed.try_clone_to_owned().map_err(|err| {
                let text = err.to_string();
                let strerror = cuprum::Error::io(err, "").os_description().unwrap_or(text);
                pyo3::exceptions::PyOSError::new_err((
                    libc::EBADF,
                    format!("`{stream}` descriptor {fd} cannot be used: {strerror}"),
                ))
            })?;
            Route::Redirect(Redirect::File(owned))
        }
        _ => {
            return Err(PyValueError::new_err(format!(
                "`{stream}` cannot be routed to {kind:?}"
            )))
        }
    })
}

/// `echo_*` value asking for echoed chunks as events instead of a descriptor.
pub(crate) const ECHO_EVENTS: i64 = -1;

/// How long one GIL-free wait lasts before Python signal handlers get a
/// chance to run (so Ctrl-C interrupts a blocking run).
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

fn seconds(value: f64) -> Duration {
    if value > 0.0 {
        Duration::try_from_secs_f64(value).unwrap_or(Duration::MAX)
    } else {
        Duration::ZERO
    }
}

fn echo(fd: Option<i64>) -> PyResult<Option<Echo>> {
    match fd {
        None => Ok(None),
        Some(ECHO_EVENTS) => Ok(Some(Echo::Events)),
        Some(fd) => {
            let fd = i32::try_from(fd)
                .ok()
                .filter(|fd| *fd >= 0)
                .ok_or_else(|| {
                    PyValueError::new_err(format!("echo descriptor {fd} is out of range"))
                })?;
            // SAFETY: the caller keeps `fd` open for the duration of this
            // call; the engine duplicates it before returning.
            let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
            let owned = borrowed.try_clone_to_owned()?;
            Ok(Some(Echo::Fd(owned)))
        }
    }
}

/// Spawns a command (one stage) or a pipeline and returns its `Execution`.
#[pyfunction]
#[pyo3(signature = (
    stages, *, env, cwd, stdin, stdin_null, capture, echo_stdout, echo_stderr,
    decode_utf8, line_events, timeout, cancel_grace, portable_relay, inline=false,
    ok_codes=None, pass_fds=None, stdin_from=None, stdout_to=None, stderr_to=None,
    stdin_live=false, stdout_live=false, stderr_live=false, live_buffer=None
))]
#[expect(
    clippy::too_many_arguments,
    reason = "mirrors the keyword-only Python signature"
)]
#[expect(
    clippy::fn_params_excessive_bools,
    reason = "mirrors the keyword-only Python signature"
)]
pub(crate) fn spawn<'py>(
    py: Python<'py>,
    stages: Vec<Vec<FsBytes>>,
    env: Option<Vec<(FsBytes, FsBytes)>>,
    cwd: Option<FsBytes>,
    stdin: Option<Bound<'py, PyBytes>>,
    stdin_null: bool,
    capture: bool,
    echo_stdout: Option<i64>,
    echo_stderr: Option<i64>,
    decode_utf8: bool,
    line_events: bool,
    timeout: Option<f64>,
    cancel_grace: f64,
    portable_relay: bool,
    inline: bool,
    ok_codes: Option<Vec<Vec<i32>>>,
    pass_fds: Option<Vec<i32>>,
    stdin_from: Option<RouteArg<'py>>,
    stdout_to: Option<RouteArg<'py>>,
    stderr_to: Option<RouteArg<'py>>,
    stdin_live: bool,
    stdout_live: bool,
    stderr_live: bool,
    live_buffer: Option<usize>,
) -> PyResult<Execution> {
    guarded(|| {
        if shutting_down() {
            return Err(EngineError::new_err(
                "the interpreter is exiting: no new runs are started",
            ));
        }
        let mut commands = stages
            .into_iter()
            .map(Command::from_argv)
            .collect::<Result<Vec<_>, _>>()
            .map_err(to_py_err)?;
        // Each stage's exit codes that count as success (fail-fast uses them).
        if let Some(ok_codes) = ok_codes {
            if ok_codes.len() != commands.len() {
                return Err(PyValueError::new_err(format!(
                    "`ok_codes` has {} entries for {} stages",
                    ok_codes.len(),
                    commands.len()
                )));
            }
            commands = commands
                .into_iter()
                .zip(ok_codes)
                .map(|(command, codes)| command.ok_codes(codes))
                .collect();
        }
        let live = stdin_live || stdout_live || stderr_live;
        let stdin = match (stdin, stdin_null) {
            _ if stdin_live => Stdin::Live,
            (Some(data), _) => lend(&data),
            (None, true) => Stdin::Null,
            (None, false) => Stdin::Inherit,
        };
        let mut spec = ExecSpec::stages(commands)
            .env(env)
            .cwd(cwd.map(|c| c.0.into()))
            .stdin(stdin)
            .stdout(Output {
                capture: capture && !stdout_live,
                echo: echo(echo_stdout)?,
                live: stdout_live,
            })
            .stderr(Output {
                capture: capture && !stderr_live,
                echo: echo(echo_stderr)?,
                live: stderr_live,
            })
            .live_buffer(live_buffer.unwrap_or(cuprum::exec::DEFAULT_LIVE_BUFFER));
        spec = match stdin_from.map(|r| route("stdin", r)).transpose()? {
            None => spec,
            Some(Route::Redirect(redirect)) => spec.stdin_redirect(redirect),
            Some(Route::Stream) => spec.stdin(Stdin::Stream),
            Some(Route::Merge) => unreachable!("`route` merges stderr only"),
        };
        spec = match stdout_to.map(|r| route("stdout", r)).transpose()? {
            Some(Route::Redirect(redirect)) => spec.stdout_redirect(redirect),
            _ => spec,
        };
        spec = match stderr_to.map(|r| route("stderr", r)).transpose()? {
            None | Some(Route::Stream) => spec,
            Some(Route::Redirect(redirect)) => spec.stderr_redirect(redirect),
            Some(Route::Merge) => spec.stderr_to_stdout(),
        };
        let spec = spec
            .decode(if decode_utf8 {
                Decode::Utf8Lossy
            } else {
                Decode::Bytes
            })
            .line_events(line_events)
            .timeout(timeout.map(seconds))
            .cancel_grace(seconds(cancel_grace))
            .relay(if portable_relay {
                RelayMethod::Portable
            } else {
                RelayMethod::Auto
            })
            .pass_fds(pass_fds.unwrap_or_default());
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

fn stream_name(py: Python<'_>, stream: Stream, echo: bool) -> Bound<'_, PyString> {
    match (stream, echo) {
        (Stream::Stdout, false) => intern!(py, "stdout").clone(),
        (Stream::Stderr, false) => intern!(py, "stderr").clone(),
        (Stream::Stdout, true) => intern!(py, "echo_stdout").clone(),
        (Stream::Stderr, true) => intern!(py, "echo_stderr").clone(),
    }
}

fn event_tuple<'py>(py: Python<'py>, event: Event) -> PyResult<Bound<'py, PyTuple>> {
    let stage = event.stage;
    let (kind, value): (Bound<'py, PyString>, Bound<'py, PyAny>) = match event.kind {
        EventKind::Start { pid, executable } => (
            intern!(py, "start").clone(),
            (pid, executable.into_os_string()).into_bound_py_any(py)?,
        ),
        EventKind::Stdin { bytes } => (intern!(py, "stdin").clone(), bytes.into_bound_py_any(py)?),
        EventKind::StdinWanted => (
            intern!(py, "stdin_wanted").clone(),
            py.None().into_bound(py),
        ),
        EventKind::StdinError { op, error } => {
            let op = match op {
                StdinOp::Write => "write",
                StdinOp::Close => "close",
            };
            let errno = error.raw_os_error();
            let text = error.to_string();
            let message = cuprum::Error::io(error, "")
                .os_description()
                .unwrap_or(text);
            (
                intern!(py, "stdin_error").clone(),
                (op, errno, message).into_bound_py_any(py)?,
            )
        }
        EventKind::Output { stream, data } => (
            stream_name(py, stream, true),
            PyBytes::new(py, &data).into_any(),
        ),
        EventKind::Line { stream, text } => (
            stream_name(py, stream, false),
            PyList::new(py, [text])?.into_any(),
        ),
        EventKind::Exit {
            exit_code,
            duration,
        } => (
            intern!(py, "exit").clone(),
            (exit_code, duration.as_secs_f64()).into_bound_py_any(py)?,
        ),
        _ => (intern!(py, "unknown").clone(), py.None().into_bound(py)),
    };
    PyTuple::new(py, [kind.into_any(), stage.into_bound_py_any(py)?, value])
}

/// Converts a batch to Python tuples. Consecutive lines of one stage's
/// stream travel as one `(stream, stage, [lines…])` tuple, so a chatty child
/// costs one tuple per read, not per line.
fn batch<'py>(py: Python<'py>, batch: cuprum::exec::Batch) -> PyResult<(Bound<'py, PyList>, bool)> {
    let list = PyList::empty(py);
    let mut lines: Option<(usize, Stream, Vec<String>)> = None;
    let flush = |list: &Bound<'py, PyList>,
                 lines: &mut Option<(usize, Stream, Vec<String>)>|
     -> PyResult<()> {
        if let Some((stage, stream, texts)) = lines.take() {
            let item: [Bound<'py, PyAny>; 3] = [
                stream_name(py, stream, false).into_any(),
                stage.into_bound_py_any(py)?,
                PyList::new(py, texts)?.into_any(),
            ];
            list.append(PyTuple::new(py, item)?)?;
        }
        Ok(())
    };
    for event in batch.events {
        if let EventKind::Line { stream, text } = event.kind {
            match &mut lines {
                Some((stage, current, texts)) if *stage == event.stage && *current == stream => {
                    texts.push(text)
                }
                _ => {
                    flush(&list, &mut lines)?;
                    lines = Some((event.stage, stream, vec![text]));
                }
            }
            continue;
        }
        flush(&list, &mut lines)?;
        list.append(event_tuple(py, event)?)?;
    }
    flush(&list, &mut lines)?;
    Ok((list, batch.finished))
}

#[pymethods]
impl Execution {
    /// The process id of every stage.
    fn pids(&self) -> Vec<u32> {
        self.with(EngineExecution::pids).unwrap_or_default()
    }

    /// The live end of a stream (`"stdout"` or `"stderr"`), if it is live.
    fn live_stream(&self, stream: &str) -> PyResult<Option<crate::live::LiveStream>> {
        self.with(|e| match stream {
            "stdout" => e.live_stdout(),
            _ => e.live_stderr(),
        })
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

    /// Answers a `stdin_wanted` event: the next chunk of a streamed stdin
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
