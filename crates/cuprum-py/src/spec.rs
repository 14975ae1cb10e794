//! The spawn request as one typed object: [`SpawnSpec`].
//!
//! Its constructor converts and checks every field once, in one pass, and
//! builds the engine's [`ExecSpec`]; `spawn(spec)` then only starts it. A
//! field of the wrong type is a `TypeError`, a value that cannot be used or
//! that contradicts another field a `ValueError`; each names its field.

use std::sync::{Mutex, PoisonError};

use cuprum::exec::{Decode, Echo, ExecSpec, Output, Redirect, RelayMethod, Stdin, Wake};
use cuprum::Command;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use crate::convert::{fs_path, lent, lent_fd, seconds, type_name, FsBytes};
use crate::errors::to_py_err;

/// Where the first stage's stdin comes from.
enum StdinRoute {
    Engine(Stdin),
    Redirect(Redirect),
}

/// Where an output stream goes.
enum OutputRoute {
    /// Read by the engine: kept for the outcome (`"capture"`), handed to
    /// the caller (`"live"`) or only echoed (`"echo"`).
    Read { capture: bool, live: bool },
    /// Not read: the null device.
    Null,
    /// Handed to the child itself.
    Redirect(Redirect),
    /// `2>&1` (stderr only).
    Merge,
}

impl OutputRoute {
    fn is_live(&self) -> bool {
        matches!(self, Self::Read { live: true, .. })
    }
}

/// A route value: a bare kind (`"null"`) or a `(kind, value)` pair.
fn kind_and_value<'py>(
    field: &str,
    route: &Bound<'py, PyAny>,
    expected: &str,
) -> PyResult<(String, Option<Bound<'py, PyAny>>)> {
    if let Ok(kind) = route.cast::<PyString>() {
        return Ok((kind.to_str()?.to_owned(), None));
    }
    if let Ok(pair) = route.cast::<PyTuple>() {
        if pair.len() == 2 {
            if let Ok(kind) = pair.get_item(0)?.cast::<PyString>() {
                return Ok((kind.to_str()?.to_owned(), Some(pair.get_item(1)?)));
            }
        }
    }
    Err(PyTypeError::new_err(format!(
        "`{field}` takes {expected}, got {}",
        type_name(route)
    )))
}

const STDIN_KINDS: &str = "\"inherit\", \"null\", \"stream\", \"live\", a bytes payload, \
     (\"path\", bytes) or (\"fd\", int)";
const STDOUT_KINDS: &str = "\"capture\", \"echo\", \"live\", \"null\", (\"path\", bytes), \
     (\"append\", bytes) or (\"fd\", int)";
const STDERR_KINDS: &str = "\"capture\", \"echo\", \"live\", \"null\", \"stdout\", \
     (\"path\", bytes), (\"append\", bytes) or (\"fd\", int)";

fn stdin_route(route: Option<&Bound<'_, PyAny>>) -> PyResult<StdinRoute> {
    let Some(route) = route else {
        return Ok(StdinRoute::Engine(Stdin::Inherit));
    };
    // The payload is lent to the engine, never copied.
    if let Ok(data) = route.cast::<PyBytes>() {
        return Ok(StdinRoute::Engine(Stdin::Shared(lent(data))));
    }
    let (kind, value) = kind_and_value("stdin", route, STDIN_KINDS)?;
    Ok(match (kind.as_str(), value) {
        ("inherit", None) => StdinRoute::Engine(Stdin::Inherit),
        ("null", None) => StdinRoute::Engine(Stdin::Null),
        ("stream", None) => StdinRoute::Engine(Stdin::Stream),
        ("live", None) => StdinRoute::Engine(Stdin::Live),
        ("path", Some(path)) => StdinRoute::Redirect(Redirect::Path(fs_path("stdin", &path)?)),
        ("fd", Some(fd)) => StdinRoute::Redirect(Redirect::File(lent_fd("stdin", &fd)?)),
        (kind, _) => return Err(unknown_kind("stdin", kind, STDIN_KINDS)),
    })
}

fn output_route(field: &str, route: Option<&Bound<'_, PyAny>>) -> PyResult<OutputRoute> {
    let Some(route) = route else {
        return Ok(OutputRoute::Read {
            capture: true,
            live: false,
        });
    };
    let stderr = field == "stderr";
    let expected = if stderr { STDERR_KINDS } else { STDOUT_KINDS };
    let (kind, value) = kind_and_value(field, route, expected)?;
    Ok(match (kind.as_str(), value) {
        ("capture", None) => OutputRoute::Read {
            capture: true,
            live: false,
        },
        ("echo", None) => OutputRoute::Read {
            capture: false,
            live: false,
        },
        ("live", None) => OutputRoute::Read {
            capture: false,
            live: true,
        },
        ("null", None) => OutputRoute::Null,
        ("stdout", None) if stderr => OutputRoute::Merge,
        ("path", Some(path)) => OutputRoute::Redirect(Redirect::Path(fs_path(field, &path)?)),
        ("append", Some(path)) => OutputRoute::Redirect(Redirect::Append(fs_path(field, &path)?)),
        ("fd", Some(fd)) => OutputRoute::Redirect(Redirect::File(lent_fd(field, &fd)?)),
        (kind, _) => return Err(unknown_kind(field, kind, expected)),
    })
}

fn unknown_kind(field: &str, kind: &str, expected: &str) -> PyErr {
    PyValueError::new_err(format!(
        "`{field}` cannot be routed to {kind:?} (or not with that value): it takes {expected}"
    ))
}

/// `echo_*`: a descriptor, `"events"` or `None`; only for a stream the
/// engine reads.
fn echo(
    field: &str,
    value: Option<&Bound<'_, PyAny>>,
    route: &OutputRoute,
) -> PyResult<Option<Echo>> {
    let stream = &field["echo_".len()..];
    let Some(value) = value else {
        // A stream read only to be echoed needs somewhere to echo it.
        if matches!(
            route,
            OutputRoute::Read {
                capture: false,
                live: false
            }
        ) {
            return Err(PyValueError::new_err(format!(
                "`{stream}` \"echo\" needs `{field}`"
            )));
        }
        return Ok(None);
    };
    if !matches!(route, OutputRoute::Read { .. }) {
        return Err(PyValueError::new_err(format!(
            "`{field}` needs `{stream}` read by the engine (\"capture\", \"echo\" or \"live\"), \
             not routed elsewhere"
        )));
    }
    if let Ok(text) = value.cast::<PyString>() {
        return match text.to_str()? {
            "events" => Ok(Some(Echo::Events)),
            other => Err(PyValueError::new_err(format!(
                "`{field}` takes a descriptor, \"events\" or None, got {other:?}"
            ))),
        };
    }
    Ok(Some(Echo::Fd(lent_fd(field, value)?)))
}

fn output(route: &OutputRoute, echo: Option<Echo>) -> Output {
    match *route {
        OutputRoute::Read { capture, live } => Output {
            capture,
            echo,
            live,
        },
        _ => Output::discard(),
    }
}

fn choice<'a>(field: &str, value: Option<&'a str>, choices: [&'a str; 2]) -> PyResult<&'a str> {
    match value {
        None => Ok(choices[0]),
        Some(value) if choices.contains(&value) => Ok(value),
        Some(value) => Err(PyValueError::new_err(format!(
            "`{field}` takes {:?} or {:?}, got {value:?}",
            choices[0], choices[1]
        ))),
    }
}

fn stage_commands(
    stages: Vec<Vec<FsBytes>>,
    ok_codes: Option<Vec<Vec<i32>>>,
) -> PyResult<Vec<Command>> {
    if stages.is_empty() {
        return Err(PyValueError::new_err("`stages` is empty: nothing to run"));
    }
    if let Some(codes) = &ok_codes {
        if codes.len() != stages.len() {
            return Err(PyValueError::new_err(format!(
                "`ok_codes` has {} entries for {} stages",
                codes.len(),
                stages.len()
            )));
        }
    }
    let mut codes = ok_codes.map(Vec::into_iter);
    stages
        .into_iter()
        .enumerate()
        .map(|(index, argv)| {
            if argv.is_empty() {
                return Err(PyValueError::new_err(format!(
                    "`stages[{index}]` is empty: a stage's argv must name a program"
                )));
            }
            let command = Command::from_argv(argv).map_err(to_py_err)?;
            Ok(match codes.as_mut().and_then(Iterator::next) {
                Some(ok) => command.ok_codes(ok),
                None => command,
            })
        })
        .collect()
}

fn duration(field: &str, value: f64) -> PyResult<std::time::Duration> {
    if value.is_nan() {
        return Err(PyValueError::new_err(format!("`{field}` is NaN")));
    }
    Ok(seconds(value))
}

/// One run's request, converted and checked once: what to run, where each
/// stream comes from and goes, echo, decoding, line events, deadlines.
/// Spawned once by `spawn(spec)`.
#[pyclass(module = "cuprum._native", frozen)]
pub(crate) struct SpawnSpec {
    /// `None` once spawned.
    spec: Mutex<Option<ExecSpec>>,
    /// Whether the engine splits lines into events.
    #[pyo3(get)]
    line_events: bool,
    /// Whether a stream is live (the run is then spawned at once).
    live: bool,
    /// When the caller is woken.
    wake: Wake,
}

#[pymethods]
impl SpawnSpec {
    #[new]
    #[pyo3(signature = (
        stages, *, env=None, cwd=None, stdin=None, stdout=None, stderr=None,
        echo_stdout=None, echo_stderr=None, decode=None, line_events=false, timeout=None,
        cancel_grace=None, relay=None, ok_codes=None, pass_fds=None, live_buffer=None,
        wake=None
    ))]
    #[pyo3(text_signature = "(stages, *, env=None, cwd=None, stdin='inherit', \
        stdout='capture', stderr='capture', echo_stdout=None, echo_stderr=None, \
        decode='bytes', line_events=False, timeout=None, cancel_grace=None, relay='auto', \
        ok_codes=None, pass_fds=None, live_buffer=None, wake='events')")]
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the keyword-only Python signature"
    )]
    fn new(
        stages: Vec<Vec<FsBytes>>,
        env: Option<Vec<(FsBytes, FsBytes)>>,
        cwd: Option<FsBytes>,
        stdin: Option<&Bound<'_, PyAny>>,
        stdout: Option<&Bound<'_, PyAny>>,
        stderr: Option<&Bound<'_, PyAny>>,
        echo_stdout: Option<&Bound<'_, PyAny>>,
        echo_stderr: Option<&Bound<'_, PyAny>>,
        decode: Option<&str>,
        line_events: bool,
        timeout: Option<f64>,
        cancel_grace: Option<f64>,
        relay: Option<&str>,
        ok_codes: Option<Vec<Vec<i32>>>,
        pass_fds: Option<Vec<i32>>,
        live_buffer: Option<usize>,
        wake: Option<&str>,
    ) -> PyResult<Self> {
        let commands = stage_commands(stages, ok_codes)?;
        let stdin = stdin_route(stdin)?;
        let stdout = output_route("stdout", stdout)?;
        let stderr = output_route("stderr", stderr)?;
        let echo_out = echo("echo_stdout", echo_stdout, &stdout)?;
        let echo_err = echo("echo_stderr", echo_stderr, &stderr)?;
        let live = matches!(stdin, StdinRoute::Engine(Stdin::Live))
            || stdout.is_live()
            || stderr.is_live();
        let decode = match choice("decode", decode, ["bytes", "utf-8"])? {
            "bytes" => Decode::Bytes,
            _ => Decode::Utf8Lossy,
        };
        let relay = match choice("relay", relay, ["auto", "portable"])? {
            "auto" => RelayMethod::Auto,
            _ => RelayMethod::Portable,
        };
        let wake = match choice("wake", wake, ["events", "finish"])? {
            "events" => Wake::Events,
            _ => Wake::Finish,
        };
        let pass_fds = pass_fds.unwrap_or_default();
        if let Some(fd) = pass_fds.iter().find(|fd| **fd < 0) {
            return Err(PyValueError::new_err(format!(
                "`pass_fds` holds the negative descriptor {fd}"
            )));
        }
        let mut spec = ExecSpec::stages(commands)
            .env(env)
            .cwd(cwd.map(|c| c.0.into()))
            .stdout(output(&stdout, echo_out))
            .stderr(output(&stderr, echo_err))
            .decode(decode)
            .line_events(line_events)
            .timeout(timeout.map(|t| duration("timeout", t)).transpose()?)
            .relay(relay)
            .wake(wake)
            .pass_fds(pass_fds);
        if let Some(grace) = cancel_grace {
            if grace < 0.0 {
                return Err(PyValueError::new_err(format!(
                    "`cancel_grace` is negative ({grace})"
                )));
            }
            spec = spec.cancel_grace(duration("cancel_grace", grace)?);
        }
        if let Some(bytes) = live_buffer {
            if !live {
                return Err(PyValueError::new_err(
                    "`live_buffer` needs a live stream (\"live\" as `stdin`, `stdout` or `stderr`)",
                ));
            }
            if bytes == 0 {
                return Err(PyValueError::new_err(
                    "`live_buffer` must be at least 1 byte",
                ));
            }
            spec = spec.live_buffer(bytes);
        }
        spec = match stdin {
            StdinRoute::Engine(stdin) => spec.stdin(stdin),
            StdinRoute::Redirect(redirect) => spec.stdin_redirect(redirect),
        };
        // `output_route` gives `Merge` to stderr only.
        spec = match stdout {
            OutputRoute::Redirect(redirect) => spec.stdout_redirect(redirect),
            OutputRoute::Read { .. } | OutputRoute::Null | OutputRoute::Merge => spec,
        };
        spec = match stderr {
            OutputRoute::Redirect(redirect) => spec.stderr_redirect(redirect),
            OutputRoute::Merge => spec.stderr_to_stdout(),
            OutputRoute::Read { .. } | OutputRoute::Null => spec,
        };
        Ok(Self {
            spec: Mutex::new(Some(spec)),
            line_events,
            live,
            wake,
        })
    }

    /// When the caller is woken: `"events"` or `"finish"`.
    #[getter]
    fn wake(&self) -> &'static str {
        match self.wake {
            Wake::Finish => "finish",
            _ => "events",
        }
    }
}

impl SpawnSpec {
    /// Whether a stream is live.
    pub(crate) fn is_live(&self) -> bool {
        self.live
    }

    /// The engine's spec, taken: a spec is spawned once.
    pub(crate) fn take(&self) -> PyResult<ExecSpec> {
        self.spec
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| {
                PyValueError::new_err("this `SpawnSpec` was already spawned: build one per run")
            })
    }
}
