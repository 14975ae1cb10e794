//! Turning an [`ExecSpec`] into running stages, pipes, relays and a
//! supervisor.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::event::{Event, EventKind, Stream};
use super::shared::Shared;
use super::spawn::{self, Slot};
use super::spec::{Echo, ExecSpec, Output, RelayMethod, Stdin};
use super::streams::{EchoTo, Feeder, Reader};
use super::supervisor::{Relay, StageProc, Supervisor};
use super::{sys, workers, Execution};
use crate::stream::{Drain, LineSplitter, PumpMethod, PumpOptions, Utf8Decoder};
use crate::{Error, Result};

/// Kernel buffer requested for pipes the engine reads or feeds: fewer, larger
/// transfers per context switch.
const PIPE_BUFFER: libc::c_int = 1 << 20;

fn io_err(context: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |err| Error::io(err, context)
}

/// The parent's end of an output stream, if the stream is piped.
fn output_slot(output: &Output) -> Result<(Slot, Option<OwnedFd>)> {
    if !output.is_piped() {
        return Ok((Slot::Null, None));
    }
    let (read, write) = sys::pipe().map_err(io_err("create output pipe"))?;
    sys::grow_pipe(read.as_fd(), PIPE_BUFFER);
    Ok((Slot::Fd(write), Some(read)))
}

fn echo_target(output: &Output) -> Result<Option<EchoTo>> {
    Ok(match &output.echo {
        None => None,
        Some(Echo::Events) => Some(EchoTo::Events),
        Some(Echo::Fd(fd)) => Some(EchoTo::Fd(
            sys::dup(fd.as_fd()).map_err(io_err("duplicate echo sink"))?,
        )),
    })
}

fn reader(
    fd: OwnedFd,
    stage: usize,
    stream: Stream,
    output: &Output,
    lines: bool,
) -> Result<Reader> {
    sys::set_nonblocking(fd.as_fd()).map_err(io_err("set output pipe non-blocking"))?;
    Ok(Reader {
        fd: Some(fd),
        stage,
        stream,
        capture: output.capture.then(Vec::new),
        echo: echo_target(output)?,
        lines: lines.then(|| (Utf8Decoder::new(), LineSplitter::new())),
    })
}

/// Kills and reaps stages spawned before a later stage failed to spawn.
fn abandon(stages: Vec<StageProc>) {
    for mut stage in stages {
        sys::kill_group(stage.pid, libc::SIGKILL);
        let _ = stage.child.wait();
    }
}

pub(crate) fn start(spec: ExecSpec, inline: bool) -> Result<Execution> {
    for command in &spec.stages {
        command.validate()?;
    }
    if spec.stages.is_empty() {
        return Err(Error::new(
            crate::ErrorKind::InvalidArgument,
            "nothing to run",
        ));
    }
    let prepared = spawn::Launch::new(&spec)?;
    let shared = Shared::new().map_err(io_err("create notifier"))?;
    let last = spec.stages.len() - 1;
    let mut stages: Vec<StageProc> = Vec::with_capacity(spec.stages.len());
    let mut readers = Vec::new();
    let mut feeder = None;
    // The read end of the previous stage's stdout, waiting for its relay.
    let mut upstream: Option<OwnedFd> = None;
    let mut relay_ends: Vec<(OwnedFd, OwnedFd)> = Vec::new();
    let mut events = Vec::with_capacity(spec.stages.len());

    for (index, command) in spec.stages.iter().enumerate() {
        let built = (|| -> Result<StageProc> {
            let stdin = if index == 0 {
                match &spec.stdin {
                    Stdin::Inherit => Slot::Inherit,
                    Stdin::Null => Slot::Null,
                    Stdin::Bytes(data) => {
                        let (read, write) = sys::pipe().map_err(io_err("create stdin pipe"))?;
                        sys::grow_pipe(write.as_fd(), PIPE_BUFFER);
                        sys::set_nonblocking(write.as_fd())
                            .map_err(io_err("set stdin non-blocking"))?;
                        feeder = Some(Feeder {
                            fd: write,
                            data: data.clone(),
                            written: 0,
                        });
                        Slot::Fd(read)
                    }
                }
            } else {
                let (read, write) = sys::pipe().map_err(io_err("create relay pipe"))?;
                sys::grow_pipe(write.as_fd(), PIPE_BUFFER);
                let from = upstream
                    .take()
                    .ok_or_else(|| Error::new(crate::ErrorKind::Io, "missing upstream pipe"))?;
                relay_ends.push((from, write));
                Slot::Fd(read)
            };
            let stdout = if index < last {
                let (read, write) = sys::pipe().map_err(io_err("create relay pipe"))?;
                sys::grow_pipe(read.as_fd(), PIPE_BUFFER);
                upstream = Some(read);
                Slot::Fd(write)
            } else {
                let (slot, read) = output_slot(&spec.stdout)?;
                if let Some(read) = read {
                    readers.push(reader(
                        read,
                        index,
                        Stream::Stdout,
                        &spec.stdout,
                        spec.line_events,
                    )?);
                }
                slot
            };
            let (stderr, err_read) = output_slot(&spec.stderr)?;
            if let Some(read) = err_read {
                readers.push(reader(
                    read,
                    index,
                    Stream::Stderr,
                    &spec.stderr,
                    spec.line_events,
                )?);
            }
            let started = Instant::now();
            let child = prepared.spawn(index, command, stdin, stdout, stderr)?;
            Ok(StageProc::new(child, started))
        })();
        match built {
            Ok(stage) => {
                events.push(Event {
                    stage: index,
                    kind: EventKind::Start {
                        pid: stage.pid,
                        executable: prepared.executable(index).to_owned(),
                    },
                });
                stages.push(stage);
            }
            Err(err) if stages.is_empty() => return Err(err),
            Err(err) => {
                // Stages before this one are running: hand them to a
                // supervisor that terminates and reaps them, reporting the
                // spawn error as the outcome (their start events stand).
                drop((feeder, relay_ends, upstream));
                readers.retain(|reader| reader.stage < index);
                let pids = stages.iter().map(|s| s.pid).collect();
                let mut supervisor = Supervisor::new(
                    Arc::clone(&shared),
                    stages,
                    readers,
                    None,
                    Vec::new(),
                    None,
                    spec.cancel_grace,
                    spec.decode,
                );
                supervisor.abort(err);
                return launch(shared, supervisor, events, pids, spec.cancel_grace, inline);
            }
        }
    }

    let method = match spec.relay {
        RelayMethod::Auto => PumpMethod::Auto,
        RelayMethod::Portable => PumpMethod::Portable,
    };
    let options = PumpOptions::default()
        .with_buffer_size(PIPE_BUFFER as usize)
        .with_method(method)
        .with_drain(Drain::For(spec.early_exit_grace));
    let mut relays = Vec::with_capacity(relay_ends.len());
    for (upstream_index, (from, to)) in relay_ends.into_iter().enumerate() {
        let closed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&closed);
        let done = Arc::new(AtomicBool::new(false));
        let done_flag = Arc::clone(&done);
        let waker = Arc::clone(&shared);
        let options = options.clone();
        let handle = std::thread::Builder::new()
            .name(format!("cuprum-relay-{upstream_index}"))
            .spawn(move || {
                let result = crate::stream::pump_with(from.as_fd(), to, &options);
                if matches!(&result, Ok(report) if report.downstream_closed) {
                    flag.store(true, Ordering::Release);
                }
                // Closing the upstream read end here makes an endless
                // producer get SIGPIPE on its next write.
                drop(from);
                done_flag.store(true, Ordering::Release);
                waker.wake();
                result
            })
            .map_err(io_err("start relay thread"));
        match handle {
            Ok(handle) => relays.push(Relay {
                upstream: upstream_index,
                handle: Some(handle),
                downstream_closed: closed,
                done,
            }),
            Err(err) => {
                abandon(stages);
                return Err(err);
            }
        }
    }

    let pids = stages.iter().map(|s| s.pid).collect();
    let deadline = spec.timeout.map(|t| Instant::now() + t);
    let supervisor = Supervisor::new(
        Arc::clone(&shared),
        stages,
        readers,
        feeder,
        relays,
        deadline,
        spec.cancel_grace,
        spec.decode,
    );
    launch(shared, supervisor, events, pids, spec.cancel_grace, inline)
}

/// Publishes the start events and hands the stages to their supervisor: a
/// thread of its own, or (`inline`) whichever thread waits on the handle.
fn launch(
    shared: Arc<Shared>,
    supervisor: Supervisor,
    events: Vec<Event>,
    pids: Vec<u32>,
    grace: std::time::Duration,
    inline: bool,
) -> Result<Execution> {
    shared.push(events);
    if inline {
        return Ok(Execution::new(shared, pids, grace, Some(supervisor)));
    }
    match workers::submit(supervisor) {
        Ok(()) => Ok(Execution::new(shared, pids, grace, None)),
        Err(failed) => {
            let (err, supervisor) = *failed;
            // Nobody can supervise the run: stop it here, then fail.
            shared.request_cancel(std::time::Duration::ZERO);
            supervisor.run();
            Err(Error::io(err, "start supervisor thread"))
        }
    }
}
