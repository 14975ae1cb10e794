//! What to run and how: [`ExecSpec`] and its stream settings.

use std::ffi::OsString;
use std::os::fd::{OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::redirect::Redirect;
use crate::command::{Command, Pipeline};

/// Where the first stage's stdin comes from.
#[derive(Clone, Default)]
pub enum Stdin {
    /// The child shares the parent's stdin (the default for one command).
    #[default]
    Inherit,
    /// The null device (the default for a pipeline's first stage).
    Null,
    /// A pipe fed with these bytes, then closed. `Bytes(vec![])` still pipes
    /// (the child sees an immediate end of file).
    Bytes(Vec<u8>),
    /// A pipe fed from a shared buffer, which is borrowed, never copied
    /// (the Python bindings lend a `bytes` object this way).
    Shared(Arc<dyn AsRef<[u8]> + Send + Sync>),
    /// A pipe fed chunk by chunk with backpressure: the run asks for each
    /// chunk with an [`EventKind::StdinWanted`](crate::exec::EventKind)
    /// event once the previous one is written, and the caller answers with
    /// [`Execution::feed_stdin`](crate::exec::Execution::feed_stdin)
    /// (`None` ends the input). Only one chunk is held at a time.
    Stream,
    /// A pipe fed interactively through
    /// [`Execution::live_stdin`](crate::exec::Execution::live_stdin).
    Live,
}

impl std::fmt::Debug for Stdin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inherit => f.write_str("Inherit"),
            Self::Null => f.write_str("Null"),
            Self::Bytes(data) => write!(f, "Bytes({} bytes)", data.len()),
            Self::Shared(data) => write!(f, "Shared({} bytes)", (**data).as_ref().len()),
            Self::Stream => f.write_str("Stream"),
            Self::Live => f.write_str("Live"),
        }
    }
}

/// Where echoed output goes.
#[derive(Debug)]
pub enum Echo {
    /// Raw bytes are written to this descriptor as they arrive.
    Fd(OwnedFd),
    /// Raw chunks are delivered as [`EventKind::Output`](crate::exec::EventKind)
    /// events, for sinks that are not descriptors.
    Events,
}

/// What happens to one output stream (stdout or stderr).
///
/// A stream that is neither captured nor echoed goes to the null device.
#[derive(Debug, Default)]
pub struct Output {
    /// Keep the bytes for the [`Outcome`](crate::exec::Outcome).
    pub capture: bool,
    /// Forward the bytes as they arrive.
    pub echo: Option<Echo>,
    /// Hand the bytes to a consumer as they arrive, through a bounded
    /// buffer ([`Execution::live_stdout`](crate::exec::Execution::live_stdout)).
    pub live: bool,
}

impl Output {
    /// Captured, not echoed.
    ///
    /// # Example
    ///
    /// ```
    /// let out = cuprum::exec::Output::capture();
    /// assert!(out.capture && out.echo.is_none());
    /// ```
    #[must_use]
    pub fn capture() -> Self {
        Self {
            capture: true,
            echo: None,
            live: false,
        }
    }

    /// Delivered live to a consumer (see [`crate::exec::LiveOutput`]).
    ///
    /// # Example
    ///
    /// ```
    /// let out = cuprum::exec::Output::live();
    /// assert!(out.live && out.is_piped());
    /// ```
    #[must_use]
    pub fn live() -> Self {
        Self {
            live: true,
            ..Self::default()
        }
    }

    /// Sent to the null device.
    ///
    /// # Example
    ///
    /// ```
    /// let out = cuprum::exec::Output::discard();
    /// assert!(!out.is_piped());
    /// ```
    #[must_use]
    pub fn discard() -> Self {
        Self::default()
    }

    /// Whether the engine reads this stream (captured or echoed).
    #[must_use]
    pub fn is_piped(&self) -> bool {
        self.capture || self.echo.is_some() || self.live
    }
}

/// How captured bytes are returned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Decode {
    /// UTF-8 with one U+FFFD per maximal invalid subpart.
    #[default]
    Utf8Lossy,
    /// Raw bytes, for callers that decode with another codec.
    Bytes,
}

/// How inter-stage relays copy data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RelayMethod {
    /// `splice(2)` where the kernel supports it, else read/write.
    #[default]
    Auto,
    /// Always the portable read/write loop.
    Portable,
}

/// A complete description of one execution: a command or a pipeline, with
/// its environment, working directory, stdin, output handling and deadline.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use cuprum::Command;
/// use cuprum::exec::{ExecSpec, Output, Stdin};
///
/// let spec = ExecSpec::command(Command::new("cat"))
///     .stdin(Stdin::Bytes(b"hello".to_vec()))
///     .stdout(Output::capture())
///     .timeout(Some(Duration::from_secs(5)));
/// let outcome = spec.spawn().unwrap().wait();
/// assert_eq!(outcome.stages[0].stdout.as_ref().unwrap().as_text(), Some("hello"));
/// ```
#[derive(Debug)]
pub struct ExecSpec {
    pub(crate) stages: Vec<Command>,
    pub(crate) env: Option<Vec<(OsString, OsString)>>,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) stdin: Stdin,
    pub(crate) stdout: Output,
    pub(crate) stderr: Output,
    pub(crate) stdin_redirect: Option<Redirect>,
    pub(crate) stdout_redirect: Option<Redirect>,
    pub(crate) stderr_redirect: Option<Redirect>,
    pub(crate) stderr_to_stdout: bool,
    pub(crate) decode: Decode,
    pub(crate) line_events: bool,
    pub(crate) timeout: Option<Duration>,
    pub(crate) cancel_grace: Duration,
    pub(crate) relay: RelayMethod,
    pub(crate) pass_fds: Vec<RawFd>,
    /// Set by validation: the checked settings and resolved executables.
    pub(crate) launch: Option<super::spawn::Launch>,
    pub(crate) live_buffer: usize,
    pub(crate) wake: Wake,
}

/// When a waiting caller is woken ([`Execution::wait_events`], the notify
/// descriptor).
///
/// [`Execution::wait_events`]: super::Execution::wait_events
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Wake {
    /// Whenever events wait (the default): start, output, stdin and exit
    /// events reach the caller as they happen.
    #[default]
    Events,
    /// Only when the run has finished: every event is still delivered, all
    /// in the finishing batch. For callers that act on nothing before the
    /// end (no hooks, no echo events): a run then costs one wake-up instead
    /// of one per event. Two things still wake the caller early, so a run
    /// never waits on it: a streamed stdin asking for its next chunk
    /// ([`EventKind::StdinWanted`](super::EventKind::StdinWanted)), and a
    /// backlog of events large enough that the engine stops reading.
    Finish,
}

impl ExecSpec {
    fn with_stages(stages: Vec<Command>, stdin: Stdin) -> Self {
        Self {
            stages,
            env: None,
            cwd: None,
            stdin,
            stdout: Output::discard(),
            stderr: Output::discard(),
            stdin_redirect: None,
            stdout_redirect: None,
            stderr_redirect: None,
            stderr_to_stdout: false,
            decode: Decode::Utf8Lossy,
            line_events: false,
            timeout: None,
            cancel_grace: Duration::from_millis(500),
            relay: RelayMethod::Auto,
            pass_fds: Vec::new(),
            launch: None,
            live_buffer: super::live::DEFAULT_LIVE_BUFFER,
            wake: Wake::Events,
        }
    }

    /// One command; stdin inherited, output discarded until configured.
    #[must_use]
    pub fn command(command: Command) -> Self {
        Self::with_stages(vec![command], Stdin::Inherit)
    }

    /// Any number of stages given as a list (one is a single command); stdin
    /// is inherited until set. An empty list fails at spawn.
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::Command;
    /// use cuprum::exec::ExecSpec;
    /// let outcome = ExecSpec::stages(vec![Command::new("true"), Command::new("true")]).spawn()?.wait();
    /// assert_eq!(outcome.stages.len(), 2);
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    #[must_use]
    pub fn stages(stages: Vec<Command>) -> Self {
        Self::with_stages(stages, Stdin::Inherit)
    }

    /// A pipeline; the first stage reads the null device.
    #[must_use]
    pub fn pipeline(pipeline: Pipeline) -> Self {
        Self::with_stages(pipeline.into_stages(), Stdin::Null)
    }

    /// Replaces the whole environment (`None`, the default, inherits the
    /// parent's).
    #[must_use]
    pub fn env<I, K, V>(mut self, vars: Option<I>) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<OsString>,
        V: Into<OsString>,
    {
        self.env = vars.map(|vars| {
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect()
        });
        self
    }

    /// The working directory of every stage.
    #[must_use]
    pub fn cwd(mut self, cwd: Option<PathBuf>) -> Self {
        self.cwd = cwd;
        self
    }

    /// The first stage's stdin (replacing any earlier
    /// [`stdin_redirect`](Self::stdin_redirect)).
    #[must_use]
    pub fn stdin(mut self, stdin: Stdin) -> Self {
        self.stdin = stdin;
        self.stdin_redirect = None;
        self
    }

    /// The final stage's stdout (replacing any earlier
    /// [`stdout_redirect`](Self::stdout_redirect)).
    #[must_use]
    pub fn stdout(mut self, output: Output) -> Self {
        self.stdout = output;
        self.stdout_redirect = None;
        self
    }

    /// Every stage's stderr (replacing any earlier
    /// [`stderr_redirect`](Self::stderr_redirect) or
    /// [`stderr_to_stdout`](Self::stderr_to_stdout)).
    #[must_use]
    pub fn stderr(mut self, output: Output) -> Self {
        self.stderr = output;
        self.stderr_redirect = None;
        self.stderr_to_stdout = false;
        self
    }

    /// How captured bytes are returned.
    #[must_use]
    pub fn decode(mut self, decode: Decode) -> Self {
        self.decode = decode;
        self
    }

    /// Emit a [`EventKind::Line`](crate::exec::EventKind) event per line of
    /// every piped output stream (final stdout, all stderr).
    #[must_use]
    pub fn line_events(mut self, enabled: bool) -> Self {
        self.line_events = enabled;
        self
    }

    /// The deadline for the stages to exit, counted from spawn; zero is
    /// already expired.
    #[must_use]
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// The pause between SIGTERM and SIGKILL on timeout, cancel or fail-fast.
    #[must_use]
    pub fn cancel_grace(mut self, grace: Duration) -> Self {
        self.cancel_grace = grace;
        self
    }

    /// The bound of each live output buffer, in bytes (default 1 MiB): when
    /// it is full the engine stops reading the child's pipe until the
    /// consumer takes data.
    #[must_use]
    pub fn live_buffer(mut self, bytes: usize) -> Self {
        self.live_buffer = bytes;
        self
    }

    /// When a waiting caller is woken: as events happen (the default), or
    /// only once the run has finished (see [`Wake`]).
    ///
    /// # Example
    ///
    /// ```
    /// use cuprum::Command;
    /// use cuprum::exec::{EventKind, ExecSpec, Wake};
    /// let run = ExecSpec::command(Command::new("true")).wake(Wake::Finish).spawn()?;
    /// let batch = run.wait_events(None);
    /// assert!(batch.finished);
    /// assert!(matches!(batch.events[0].kind, EventKind::Start { .. }));
    /// # Ok::<(), cuprum::Error>(())
    /// ```
    #[must_use]
    pub fn wake(mut self, wake: Wake) -> Self {
        self.wake = wake;
        self
    }

    /// How inter-stage relays copy.
    #[must_use]
    pub fn relay(mut self, method: RelayMethod) -> Self {
        self.relay = method;
        self
    }

    /// Descriptors every stage receives besides 0, 1 and 2, under the same
    /// numbers (none by default). Every other descriptor is closed in the
    /// child, even one the parent left inheritable. Each must be 3 or above
    /// and open until [`spawn`](Self::spawn) returns.
    ///
    /// # Example
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use cuprum::Command;
    /// use cuprum::exec::ExecSpec;
    /// let file = std::fs::File::open("Cargo.toml")?;
    /// let spec = ExecSpec::command(Command::new("true")).pass_fds([file.as_raw_fd()]);
    /// assert_eq!(spec.spawn()?.wait().stages[0].exit_code, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn pass_fds(mut self, fds: impl IntoIterator<Item = RawFd>) -> Self {
        self.pass_fds = fds.into_iter().collect();
        self
    }
}
