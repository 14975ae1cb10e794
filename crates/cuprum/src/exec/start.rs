//! Turning an [`ExecSpec`] into running stages, pipes, relays and a
//! supervisor.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::Instant;

use super::echo::EchoSink;
use super::event::{Event, EventKind, Stream};
use super::live::{InBuf, LiveFeeder, OutBuf};
use super::redirect::Routes;
use super::relay::Relay;
use super::shared::{LiveEnds, Shared};
use super::spawn::{self, Slot};
use super::spec::{Echo, ExecSpec, Output, RelayMethod, Stdin};
use super::stage::StageProc;
use super::streams::{EchoTo, Feeder, Reader};
use super::supervisor::{Parts, Supervisor};
use crate::fd;
use crate::stream::{LineSplitter, Utf8Decoder};
use crate::{Error, Result};

/// Kernel buffer requested for pipes the engine reads or feeds: fewer, larger
/// transfers per context switch.
const PIPE_BUFFER: usize = 1 << 20;
/// A pipe's default kernel buffer on Linux; payloads that fit need no more.
const DEFAULT_PIPE: usize = 1 << 16;

fn io_err(context: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |err| Error::io(err, context)
}

/// The parent's end of an output stream, if the stream is piped.
fn output_slot(output: &Output) -> Result<(Slot, Option<OwnedFd>)> {
    if !output.is_piped() {
        return Ok((Slot::Null, None));
    }
    // Grown by the reader once it first fills up (see `Reader::read`).
    let (read, write) = fd::pipe().map_err(io_err("create output pipe"))?;
    Ok((Slot::Fd(write), Some(read)))
}

fn echo_target(output: &Output) -> Result<Option<EchoTo>> {
    Ok(match &output.echo {
        None => None,
        Some(Echo::Events) => Some(EchoTo::Events {
            partial: Vec::new(),
        }),
        Some(Echo::Fd(fd)) => Some(EchoTo::Fd(EchoSink::new(
            fd::dup(fd.as_fd()).map_err(io_err("duplicate echo sink"))?,
        ))),
    })
}

fn reader(
    fd: OwnedFd,
    stage: usize,
    stream: Stream,
    output: &Output,
    lines: bool,
    live: Option<&Arc<OutBuf>>,
) -> Result<Reader> {
    fd::set_pipe_nonblocking(fd.as_fd()).map_err(io_err("set output pipe non-blocking"))?;
    Ok(Reader {
        fd: Some(fd),
        stage,
        stream,
        capture: output.capture.then(Vec::new),
        echo: echo_target(output)?,
        lines: lines.then(|| (Utf8Decoder::new(), LineSplitter::new())),
        grown: false,
        live: live.map(|buf| {
            buf.add_writer();
            Arc::clone(buf)
        }),
    })
}

/// Checks everything that can be checked before anything is spawned, and
/// binds every stage to its executable — on the caller's thread, so that
/// the engine's `PATH` and working directory are read at call time even when
/// the stages are spawned later. Idempotent.
pub(crate) fn validate(spec: &mut ExecSpec) -> Result<()> {
    if spec.launch.is_some() {
        return Ok(());
    }
    for command in &spec.stages {
        command.validate()?;
    }
    if spec.stages.is_empty() {
        return Err(Error::new(
            crate::ErrorKind::InvalidArgument,
            "nothing to run",
        ));
    }
    spec.launch = Some(spawn::Launch::new(spec)?);
    Ok(())
}

/// Spawns every stage of `spec` (validated first), wires the pipes and
/// relays, publishes the start events on `shared`, and returns the run's
/// supervisor. Nothing is left running when this fails; a failure at a
/// later stage instead returns a supervisor already tearing the earlier
/// stages down, with the spawn error as its outcome's error.
pub(crate) fn start(shared: &Arc<Shared>, mut spec: ExecSpec) -> Result<Supervisor> {
    validate(&mut spec)?;
    let prepared = spec
        .launch
        .take()
        .ok_or_else(|| Error::new(crate::ErrorKind::Internal, "the run was not validated"))?;
    // Files named for the standard streams are opened before anything is
    // spawned; the engine's copies close when this function returns.
    let routes = Routes::open(&mut spec)?;
    let control = shared
        .open_control()
        .map_err(|e| Error::io(e, "create the run's control descriptor"))?;
    let last = spec.stages.len() - 1;
    let mut stages: Vec<StageProc> = Vec::with_capacity(spec.stages.len());
    let mut readers = Vec::new();
    let mut feeder = None;
    let mut live_feeder = None;
    let live = LiveEnds {
        stdin: matches!(spec.stdin, Stdin::Live).then(InBuf::new),
        stdout: spec.stdout.live.then(|| OutBuf::new(spec.live_buffer)),
        stderr: spec.stderr.live.then(|| OutBuf::new(spec.live_buffer)),
    };
    shared.set_live(live.clone());
    // The read end of the previous stage's stdout, waiting for its relay.
    let mut upstream: Option<OwnedFd> = None;
    let mut relay_ends: Vec<(OwnedFd, OwnedFd)> = Vec::new();
    let mut events = Vec::with_capacity(spec.stages.len());
    let portable = spec.relay == RelayMethod::Portable;
    // Each stage's success codes, for fail-fast (`Command::ok_codes`).
    let ok_codes: Vec<Vec<i32>> = spec
        .stages
        .iter()
        .map(|command| command.ok_code_list().to_vec())
        .collect();
    // The stdin payload moves into the feeder: shared, never copied.
    if let Stdin::Bytes(data) = &mut spec.stdin {
        spec.stdin = Stdin::Shared(Arc::new(std::mem::take(data)));
    }
    let mut payload = match &spec.stdin {
        Stdin::Shared(data) => Some(Arc::clone(data)),
        _ => None,
    };
    // A streamed feed may be large; a payload's size is known.
    let payload_len = match &spec.stdin {
        Stdin::Shared(data) => (**data).as_ref().len(),
        Stdin::Stream => usize::MAX,
        _ => 0,
    };

    for (index, command) in spec.stages.iter().enumerate() {
        let built = (|| -> Result<StageProc> {
            let stdin = if index == 0 {
                match (routes.stdin()?, &spec.stdin) {
                    (Some(slot), _) => slot,
                    (None, Stdin::Inherit) => Slot::Inherit,
                    (None, Stdin::Null) => Slot::Null,
                    (None, Stdin::Live) => {
                        let (read, write) = fd::pipe().map_err(io_err("create stdin pipe"))?;
                        fd::set_pipe_nonblocking(write.as_fd())
                            .map_err(io_err("set stdin non-blocking"))?;
                        if let Some(buf) = &live.stdin {
                            live_feeder = Some(LiveFeeder::new(write, Arc::clone(buf)));
                        }
                        Slot::Fd(read)
                    }
                    (None, Stdin::Bytes(_) | Stdin::Shared(_) | Stdin::Stream) => {
                        let (read, write) = fd::pipe().map_err(io_err("create stdin pipe"))?;
                        if payload_len > DEFAULT_PIPE {
                            fd::grow_pipe(write.as_fd(), PIPE_BUFFER);
                        }
                        fd::set_pipe_nonblocking(write.as_fd())
                            .map_err(io_err("set stdin non-blocking"))?;
                        feeder = Some(Feeder {
                            fd: write,
                            data: payload.take().unwrap_or_else(|| Arc::new(Vec::new())),
                            written: 0,
                            before: 0,
                            streamed: matches!(spec.stdin, Stdin::Stream),
                            asked: false,
                        });
                        Slot::Fd(read)
                    }
                }
            } else {
                let (read, write) = fd::pipe().map_err(io_err("create relay pipe"))?;
                fd::grow_pipe(write.as_fd(), PIPE_BUFFER);
                let from = upstream
                    .take()
                    .ok_or_else(|| Error::new(crate::ErrorKind::Io, "missing upstream pipe"))?;
                relay_ends.push((from, write));
                Slot::Fd(read)
            };
            let stdout = if index < last {
                let (read, write) = fd::pipe().map_err(io_err("create relay pipe"))?;
                fd::grow_pipe(read.as_fd(), PIPE_BUFFER);
                upstream = Some(read);
                Slot::Fd(write)
            } else if let Some(slot) = routes.stdout()? {
                slot
            } else {
                let (slot, read) = output_slot(&spec.stdout)?;
                if let Some(read) = read {
                    readers.push(reader(
                        read,
                        index,
                        Stream::Stdout,
                        &spec.stdout,
                        spec.line_events,
                        live.stdout.as_ref(),
                    )?);
                }
                slot
            };
            let stderr = match routes.stderr(&stdout)? {
                Some(slot) => slot,
                None => {
                    let (slot, err_read) = output_slot(&spec.stderr)?;
                    if let Some(read) = err_read {
                        readers.push(reader(
                            read,
                            index,
                            Stream::Stderr,
                            &spec.stderr,
                            spec.line_events,
                            live.stderr.as_ref(),
                        )?);
                    }
                    slot
                }
            };
            let started = Instant::now();
            let child = prepared.spawn(index, command, stdin, stdout, stderr)?;
            let stage = StageProc::new(child, started);
            if index > 0 {
                super::fault::hit("spawn");
            }
            Ok(stage)
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
                drop((feeder, live_feeder, relay_ends, upstream));
                readers.retain(|reader| reader.stage < index);
                let pids = stages.iter().map(|s| s.pid).collect();
                let mut supervisor = Supervisor::new(
                    Arc::clone(shared),
                    Parts {
                        control,
                        stages,
                        readers,
                        feeder: None,
                        live_feeder: None,
                        relays: Vec::new(),
                        deadline: None,
                        grace: spec.cancel_grace,
                        decode: spec.decode,
                        ok_codes,
                    },
                );
                supervisor.abort(err);
                shared.started(events, pids);
                return Ok(supervisor);
            }
        }
    }

    let mut relays = Vec::with_capacity(relay_ends.len());
    for (upstream_index, (from, to)) in relay_ends.into_iter().enumerate() {
        // On failure the stages are dropped, which kills and reaps them.
        relays.push(Relay::new(upstream_index, from, to, portable)?);
    }

    let pids = stages.iter().map(|s| s.pid).collect();
    // A timeout too large for the clock means no timeout, never an overflow.
    let now = Instant::now();
    let deadline = spec.timeout.and_then(|t| now.checked_add(t));
    let supervisor = Supervisor::new(
        Arc::clone(shared),
        Parts {
            control,
            stages,
            readers,
            feeder,
            live_feeder,
            relays,
            deadline,
            grace: spec.cancel_grace,
            decode: spec.decode,
            ok_codes,
        },
    );
    shared.started(events, pids);
    Ok(supervisor)
}
