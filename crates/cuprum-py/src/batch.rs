//! Engine events as Python tuples `(kind, stage, value)`, `kind` a small
//! int exposed as a module constant ([`KINDS`]).
//!
//! | kind | value |
//! | --- | --- |
//! | `START` | `(pid, executable)` |
//! | `STDIN` | bytes written (`int`) |
//! | `STDIN_WANTED` | `None` |
//! | `STDIN_ERROR` | `(operation, errno or None, message)`, operation `"write"` or `"close"` |
//! | `STDOUT`, `STDERR` | decoded lines (`list[str]`) |
//! | `ECHO_STDOUT`, `ECHO_STDERR` | a raw chunk (`bytes`) |
//! | `EXIT` | `(exit_code, duration_s)` |
//!
//! An engine event kind this module does not map is an error
//! (`EngineError` naming it), never a silent placeholder.

use cuprum::exec::{Batch, Event, EventKind, StdinOp, Stream};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::guard::EngineError;

/// The stage was spawned.
const START: u8 = 0;
/// The stdin payload was written and the pipe closed.
const STDIN: u8 = 1;
/// A streamed stdin wants its next chunk.
const STDIN_WANTED: u8 = 2;
/// Feeding stdin failed.
const STDIN_ERROR: u8 = 3;
/// Lines of stdout.
const STDOUT: u8 = 4;
/// Lines of stderr.
const STDERR: u8 = 5;
/// A raw stdout chunk for an echo sink.
const ECHO_STDOUT: u8 = 6;
/// A raw stderr chunk for an echo sink.
const ECHO_STDERR: u8 = 7;
/// The stage's process was reaped.
const EXIT: u8 = 8;

/// Every kind with its module constant's name.
pub(crate) const KINDS: [(&str, u8); 9] = [
    ("START", START),
    ("STDIN", STDIN),
    ("STDIN_WANTED", STDIN_WANTED),
    ("STDIN_ERROR", STDIN_ERROR),
    ("STDOUT", STDOUT),
    ("STDERR", STDERR),
    ("ECHO_STDOUT", ECHO_STDOUT),
    ("ECHO_STDERR", ECHO_STDERR),
    ("EXIT", EXIT),
];

fn lines_kind(stream: Stream) -> u8 {
    match stream {
        Stream::Stdout => STDOUT,
        Stream::Stderr => STDERR,
    }
}

fn echo_kind(stream: Stream) -> u8 {
    match stream {
        Stream::Stdout => ECHO_STDOUT,
        Stream::Stderr => ECHO_STDERR,
    }
}

/// The variant name of an event kind the bindings do not map.
fn unmapped(kind: &EventKind) -> PyErr {
    let text = format!("{kind:?}");
    let name = text.split([' ', '{', '(']).next().unwrap_or_default();
    EngineError::new_err(format!(
        "the engine reported a `{name}` event, which the bindings do not map"
    ))
}

fn event_tuple<'py>(py: Python<'py>, event: Event) -> PyResult<Bound<'py, PyTuple>> {
    let (kind, value): (u8, Bound<'py, PyAny>) = match event.kind {
        EventKind::Start { pid, executable } => (
            START,
            (pid, executable.into_os_string()).into_bound_py_any(py)?,
        ),
        EventKind::Stdin { bytes } => (STDIN, bytes.into_bound_py_any(py)?),
        EventKind::StdinWanted => (STDIN_WANTED, py.None().into_bound(py)),
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
            (STDIN_ERROR, (op, errno, message).into_bound_py_any(py)?)
        }
        EventKind::Output { stream, data } => {
            (echo_kind(stream), PyBytes::new(py, &data).into_any())
        }
        EventKind::Line { stream, text } => {
            (lines_kind(stream), PyList::new(py, [text])?.into_any())
        }
        EventKind::Exit {
            exit_code,
            duration,
        } => (
            EXIT,
            (exit_code, duration.as_secs_f64()).into_bound_py_any(py)?,
        ),
        other => return Err(unmapped(&other)),
    };
    PyTuple::new(
        py,
        [
            kind.into_bound_py_any(py)?,
            event.stage.into_bound_py_any(py)?,
            value,
        ],
    )
}

/// Converts a batch to a list of event tuples. Consecutive lines of one
/// stage's stream travel as one `(STDOUT or STDERR, stage, [lines…])`
/// tuple, so a chatty child costs one tuple per read, not per line.
pub(crate) fn batch<'py>(py: Python<'py>, batch: Batch) -> PyResult<(Bound<'py, PyList>, bool)> {
    let list = PyList::empty(py);
    let mut lines: Option<(usize, Stream, Vec<String>)> = None;
    let flush = |list: &Bound<'py, PyList>,
                 lines: &mut Option<(usize, Stream, Vec<String>)>|
     -> PyResult<()> {
        if let Some((stage, stream, texts)) = lines.take() {
            let item: [Bound<'py, PyAny>; 3] = [
                lines_kind(stream).into_bound_py_any(py)?,
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
                    texts.push(text);
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
