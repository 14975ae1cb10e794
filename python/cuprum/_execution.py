"""The bridge between the typed API and the native engine.

One code path serves ``run()`` and ``run_sync()``: :class:`Run` is written as
a generator that prepares the run (allowlist, stdin, timeout, hooks, plan
events, before hooks), spawns it on the engine, yields the native
``Execution`` handle to a *driver*, and builds the result once the driver has
delivered every event. The two drivers differ only in how they wait:

- the async driver waits through the running library's adapter (the loop's
  engine hub under asyncio, the handle's notify descriptor under trio; no
  thread, no polling);
- the blocking driver blocks in the engine with the GIL released.

Whatever interrupts a run (a raising hook, a cancelled task, Ctrl-C), the
handle is cancelled — SIGTERM to every stage's process group, SIGKILL after
``cancel_grace`` — and waited for before the exception propagates, so no
child outlives the call. The drivers live in :mod:`cuprum._drivers`, echo
sinks and Python-side line splitting in :mod:`cuprum._output`.
"""

from __future__ import annotations

import codecs
import dataclasses
import inspect
import logging
import math
import os
import struct
import sys
import time
import warnings
import weakref
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Generic, Literal, TypeVar, cast

from cuprum import _lifecycle, _native, routing
from cuprum._backend import StreamBackend, get_stream_backend
from cuprum._command import Pipeline, SafeCmd
from cuprum._drivers import Events, Steps
from cuprum._native import (
    ECHO_STDERR,
    ECHO_STDOUT,
    EXIT,
    START,
    STDERR,
    STDIN,
    STDIN_ERROR,
    STDIN_WANTED,
    STDOUT,
)
from cuprum._options import ExecutionContext, RunOutputOptions, StdinInput
from cuprum._output import Echo, TextLines, is_utf8
from cuprum._results import CommandResult, PipelineResult, TimeoutExpired
from cuprum._transport import Launch, tags_with_transport, transport_of
from cuprum.context import current_context, merge_env_overlays, resolve_env
from cuprum.events import ExecEvent, ExecId, default_tags, new_exec_id
from cuprum.exceptions import ExitCodeError
from cuprum.secrets import Secret, redact, reveal_argv

_T = TypeVar("_T", bound=CommandResult | PipelineResult)

_stdin_logger = logging.getLogger("cuprum.stdin")
_observe_logger = logging.getLogger("cuprum.events")


_NO_TAGS: Mapping[str, object] = MappingProxyType({})

# Line events are cloned natively from a template when an `ExecEvent` is
# exactly the object header followed by one pointer per field.
_HEADER = object.__basicsize__
_EVENT_SLOTS = len(ExecEvent.__slots__)
_CLONE_EVENTS = (
    ExecEvent.__basicsize__ == _HEADER + struct.calcsize("P") * _EVENT_SLOTS
    and ExecEvent.__dictoffset__ == 0
    and ExecEvent.__weakrefoffset__ == 0
)
_ONLY_ZERO = frozenset({0})
# Both are frozen: one default instance serves every run.
_DEFAULT_OUTPUT = RunOutputOptions()
_DEFAULT_CONTEXT = ExecutionContext()


class _CommandView:
    """What a run needs of a command, worked out once per command object
    (a :class:`SafeCmd` is immutable): the argv that may be shown (secrets as
    ``***``) with and without the program, whether it hides a secret, its
    transport, its ok codes as the engine takes them, and — for a local
    command without secrets — the argv the engine executes, already encoded.
    A secret is revealed per run, never kept revealed."""

    __slots__ = ("argv", "encoded", "ok_codes", "result_argv", "secret", "transport")

    def __init__(self, cmd: SafeCmd) -> None:
        full = cmd.argv_with_program
        self.argv = redact(full)
        # `redact` returns its argument when there is nothing to hide.
        self.secret = self.argv is not full
        self.result_argv = redact(cmd.argv)
        self.transport = transport_of(cmd)
        # For the engine's fail-fast: `None` when only 0 is ok (its default).
        self.ok_codes = None if cmd.ok_codes == _ONLY_ZERO else sorted(cmd.ok_codes)
        self.encoded: list[bytes] | None = (
            None
            if self.secret or self.transport is not None
            else [os.fsencode(arg) for arg in full]
        )


# Each command's view, by the command's id, with a weak reference that
# drops the entry when the command goes (a command is a frozen, comparable,
# picklable value: the cache stays off it).
_views: dict[int, tuple[weakref.ref[SafeCmd], _CommandView]] = {}


def command_view(cmd: SafeCmd) -> _CommandView:
    """``cmd``'s view, made on its first run."""
    key = id(cmd)
    entry = _views.get(key)
    if entry is not None and entry[0]() is cmd:
        return entry[1]
    view = _CommandView(cmd)
    _views[key] = (weakref.ref(cmd, lambda _: _views.pop(key, None)), view)
    return view


class _Stage:
    """Per-stage data built once per execution (never per line). The event
    identity (``exec_id``, ``tags``) exists only when someone observes.
    ``argv`` is what may be shown (secrets as ``***``); only the spawn
    reveals them. A remote command's ``transport`` turns that argv into
    the local one at spawn (``launch``)."""

    __slots__ = ("argv", "cmd", "exec_id", "launch", "pid", "tags", "view")

    def __init__(self, cmd: SafeCmd, exec_id: ExecId | None, tags: Mapping[str, object]) -> None:
        self.cmd = cmd
        self.view = command_view(cmd)
        self.argv = self.view.argv
        self.exec_id = exec_id
        self.tags = tags
        self.pid: int | None = None
        self.launch: Launch | None = None


class Run(Generic[_T]):
    """One execution of a command or a pipeline (see the module docstring)."""

    def __init__(
        self,
        parts: Sequence[SafeCmd],
        *,
        pipeline: bool,
        output: RunOutputOptions | None,
        timeout: float | None,
        context: ExecutionContext | None,
        stdin: routing.StdinSource | None,
        check: bool = False,
        stdout: routing.OutputTarget | None = None,
        stderr: routing.ErrorTarget | None = None,
        live: frozenset[str] = frozenset(),
    ) -> None:
        self.check = check
        # The streams handed to a live process (`start`), and what was left
        # unread in them when it was waited for.
        self.live = live
        self.live_rest: dict[str, str | bytes] = {}
        self.output = output if output is not None else _DEFAULT_OUTPUT
        self.ctx = context if context is not None else _DEFAULT_CONTEXT
        scope = current_context()
        for cmd in parts:
            scope.check_allowed(cmd.program)
        _check_codec(self.ctx.encoding, self.ctx.errors)
        self.routes = routing.routes(stdin, stdout, stderr, self.ctx)
        self.payload = _payload(self.routes.payload)
        self.feed = self.routes.feed
        if timeout is None:
            timeout = self.ctx.timeout if self.ctx.timeout is not None else scope.timeout
        self.timeout = _check_timeout(timeout) if timeout is not None else None
        self.pipeline = pipeline
        self.before = scope.before_hooks
        self.after = scope.after_hooks
        self.observers = scope.observe_hooks
        self.scope_env = scope.env_overlay
        self.pending: list[Awaitable[object]] = []
        self.capture = self.output.capture
        self.piped = self.output.capture or self.output.echo or bool(live - {"stdin"})
        count = len(parts)
        observed = bool(self.observers)
        self.stages = [
            _Stage(
                cmd,
                new_exec_id() if observed else None,
                default_tags(
                    cmd,
                    capture=self.output.capture,
                    echo=self.output.echo,
                    stage_index=index if pipeline else None,
                    stage_count=count if pipeline else None,
                    extra=tags_with_transport(cmd, self.ctx.tags),
                )
                if observed
                else _NO_TAGS,
            )
            for index, cmd in enumerate(parts)
        ]
        self.remote = any(stage.view.transport is not None for stage in self.stages)
        self.cwd = Path(self.ctx.cwd) if self.ctx.cwd is not None else None
        self.event_env = (
            redact(merge_env_overlays(self.scope_env, self.ctx.env)) if self.observers else None
        )
        self.echo_out: Echo | None = None
        self.echo_err: Echo | None = None
        # The engine splits lines itself only where its decoding is exactly
        # Python's (UTF-8 with replacement); any other codec or error handler
        # decodes here, so line events agree with the captured text and a
        # strict handler raises instead of emitting U+FFFD.
        engine_decodes = is_utf8(self.ctx.encoding) and self.ctx.errors == "replace"
        self.engine_decodes = engine_decodes
        self.native_lines = bool(self.observers) and self.piped and engine_decodes
        self.text_lines: dict[tuple[int, str], TextLines] | None = (
            {} if self.observers and self.piped and not engine_decodes else None
        )
        self.schedule: Callable[[Awaitable[object], str], None] = self._collect
        # A blocking run supervises its children on the waiting thread (no
        # supervisor thread, no wake-up hop); an awaited one needs the
        # engine's thread so the event loop stays free.
        self.inline = True
        # True while a transport connects: those executions are not the
        # run's, and their events are not dispatched. The seconds connecting
        # took count against the run's timeout.
        self.connecting = False
        self.connect_s = 0.0

    # -- events ---------------------------------------------------------

    def _collect(self, awaitable: Awaitable[object], phase: str) -> None:
        self.pending.append(awaitable)

    def emit(self, stage: _Stage, phase: str, **fields: Any) -> None:
        """Build one event and call every observe hook with it (FIFO)."""
        event = ExecEvent(
            phase,  # type: ignore[arg-type]
            stage.cmd.program,
            stage.argv,
            self.cwd,
            self.event_env,
            stage.pid,
            time.time(),
            fields.pop("line", None),
            fields.pop("exit_code", None),
            fields.pop("duration_s", None),
            stage.tags,
            exec_id=stage.exec_id,
            **fields,
        )
        self._notify(event, phase)

    def _notify(self, event: ExecEvent, phase: str) -> None:
        for hook in self.observers:
            try:
                result = hook(event)
            except BaseException:
                _observe_logger.warning(
                    "observe_hook_failed phase=%s program=%s hook=%r",
                    phase,
                    event.program,
                    hook,
                )
                raise
            if result is not None and inspect.isawaitable(result):
                self.schedule(result, phase)

    def emit_lines(self, stage: _Stage, phase: str, lines: list[str]) -> None:
        """One event per line; the hot path when a chatty child is observed.

        The events of one batch are clones of one template built here (the
        engine copies it per line and sets ``line``), so a line costs no
        dataclass ``__init__``; they share the batch's ``timestamp``."""
        template = ExecEvent(
            phase,  # type: ignore[arg-type]
            stage.cmd.program,
            stage.argv,
            self.cwd,
            self.event_env,
            stage.pid,
            time.time(),
            None,
            None,
            None,
            stage.tags,
            exec_id=stage.exec_id,
        )
        notify = self._notify
        if _CLONE_EVENTS:
            for event in _native.clone_events(template, _HEADER, _EVENT_SLOTS, lines):
                notify(event, phase)
            return
        for line in lines:  # pragma: no cover - an interpreter with another object layout
            notify(dataclasses.replace(template, line=line), phase)

    def dispatch(self, events: Events) -> None:
        """Route a batch of engine events: echo chunks to sinks, the rest to
        observe hooks."""
        if self.connecting:
            return
        for event in events:
            stage = self.stages[event[1]]
            if event[0] == STDOUT or event[0] == STDERR:  # the hot path
                if self.observers:
                    self.emit_lines(stage, "stdout" if event[0] == STDOUT else "stderr", event[2])
            elif event[0] == ECHO_STDOUT or event[0] == ECHO_STDERR:
                stream = "stdout" if event[0] == ECHO_STDOUT else "stderr"
                self._chunk(stage, event[1], stream, event[2])
            elif event[0] == STDIN_WANTED:
                if self.feed is not None:
                    self.feed.wanted = True
            elif event[0] == START:
                stage.pid, executable = event[2]
                if self.observers:
                    stage.tags = MappingProxyType({**stage.tags, "executable": executable})
                    self.emit(stage, "start")
            elif not self.observers or event[0] == EXIT:
                continue
            elif event[0] == STDIN:
                self.emit(stage, "stdin", byte_count=event[2])
            elif event[0] == STDIN_ERROR:
                self._stdin_error(stage, *event[2])

    def _chunk(self, stage: _Stage, index: int, stream: str, chunk: bytes) -> None:
        echo = self.echo_out if stream == "stdout" else self.echo_err
        if echo is not None:
            echo.write(chunk)
        if self.text_lines is not None:
            lines = self.text_lines.get((index, stream))
            if lines is None:
                lines = self.text_lines[index, stream] = TextLines(
                    self.ctx.encoding, self.ctx.errors
                )
            self.emit_lines(stage, stream, lines.feed(chunk))

    def _flush_text_lines(self) -> None:
        for (index, stream), lines in (self.text_lines or {}).items():
            self.emit_lines(self.stages[index], stream, lines.finish())

    def _stdin_error(self, stage: _Stage, operation: str, errno: int | None, message: str) -> None:
        error = OSError(errno, message) if errno is not None else OSError(message)
        error_type = type(error).__name__
        note = f"{error_type}: {error}"
        _stdin_logger.error("stdin %s failed for %s: %s", operation, stage.cmd.program, note)
        if self.observers:
            self.emit(stage, "stdin_error", operation=operation, error_type=error_type, note=note)

    # -- the run --------------------------------------------------------

    def _spawn(self) -> _native.Execution:
        ctx = self.ctx
        chunks = self.text_lines is not None
        routes = self.routes
        # A redirected stream goes to the child's target alone: not echoed.
        if self.output.echo and routes.stdout is None:
            self.echo_out = Echo(
                ctx.stdout_sink or sys.stdout, ctx.encoding, ctx.errors, allow_fd=not chunks
            )
        if self.output.echo and routes.stderr is None:
            self.echo_err = Echo(
                ctx.stderr_sink or sys.stderr, ctx.encoding, ctx.errors, allow_fd=not chunks
            )
        events_only: Literal["events"] | None = "events" if chunks else None
        portable = self.pipeline and get_stream_backend() is StreamBackend.PYTHON
        env = resolve_env(self.scope_env, ctx.env) if self.scope_env or ctx.env else None
        stdout, echo_stdout = routing.output_route(
            routes.stdout,
            self.echo_out.native if self.echo_out else events_only,
            live="stdout" in self.live,
            capture=self.output.capture,
        )
        stderr, echo_stderr = routing.output_route(
            routes.stderr,
            self.echo_err.native if self.echo_err else events_only,
            live="stderr" in self.live,
            capture=self.output.capture,
        )
        # Nothing acts on an event before the end (no hooks, no streamed
        # stdin, no echo chunks, no live streams): the engine then wakes the
        # waiter once, when the run has finished, with every event at once.
        quiet = not (
            self.observers
            or self.feed is not None
            or self.live
            or "events" in (echo_stdout, echo_stderr)
        )
        spec = _native.SpawnSpec(
            [self._exec_argv(stage) for stage in self.stages],
            env=_encode_env(env) if env is not None else None,
            cwd=os.fsencode(ctx.cwd) if ctx.cwd is not None else None,
            stdin=routing.stdin_route(
                routes.stdin, self.payload, live="stdin" in self.live, pipeline=self.pipeline
            ),
            stdout=stdout,
            stderr=stderr,
            echo_stdout=echo_stdout,
            echo_stderr=echo_stderr,
            decode="utf-8" if self.engine_decodes else "bytes",
            line_events=self.native_lines,
            timeout=self.timeout if self.timeout is None else self.timeout - self.connect_s,
            cancel_grace=max(ctx.cancel_grace, 0.0),
            relay="portable" if portable else "auto",
            ok_codes=self._ok_codes(),
            pass_fds=ctx.pass_fds,
            wake="finish" if quiet else "events",
        )
        handle = _native.spawn(spec, inline=self.inline)
        _lifecycle.track(handle, max(ctx.cancel_grace, 0.0))
        return handle

    def _exec_argv(self, stage: _Stage) -> list[bytes]:
        """What the engine executes for ``stage`` (secrets revealed), encoded."""
        view = stage.view
        if view.encoded is not None:
            return view.encoded
        argv: Sequence[str] = reveal_argv(stage.cmd.argv_with_program) if view.secret else view.argv
        if view.transport is not None:
            stage.launch = view.transport.launch(
                argv,
                stdin=self.pipeline or self.payload is not None,
                grace=max(self.ctx.cancel_grace, 0.0),
            )
            argv = stage.launch.argv
        return [os.fsencode(arg) for arg in argv]

    def _connect(self) -> Generator[_native.Execution, _native.Outcome, None]:
        """Let each remote stage's transport connect (once per transport);
        the time it takes counts against the run's timeout."""
        transports = {
            id(s.view.transport): s.view.transport for s in self.stages if s.view.transport
        }
        for transport in transports.values():
            started = time.monotonic()
            left = None if self.timeout is None else max(self.timeout - self.connect_s, 0.0)
            self.connecting = True
            try:
                yield from transport.connect(timeout=left, inline=self.inline)
            finally:
                self.connecting = False
                self.connect_s += time.monotonic() - started

    def _finish_launches(self, outcome: _native.Outcome | None) -> None:
        """Let each transport interpret its stage's exit (a transport failure
        raises); release what the launches hold on every path."""
        try:
            if outcome is not None and outcome.error is None and not outcome.timed_out:
                for stage, native in zip(self.stages, outcome.stages, strict=True):
                    if stage.launch is not None:
                        stage.launch.finish(native.exit_code)
        finally:
            for stage in self.stages:
                if stage.launch is not None:
                    stage.launch.close()

    def _wind_up(self, outcome: _native.Outcome) -> None:
        """Once the engine is done: the transports' verdicts, the last
        Python-split lines, the echoes' final partial lines."""
        if self.remote:
            self._finish_launches(outcome)
        if self.text_lines:
            self._flush_text_lines()
        if self.output.echo:
            for echo in (self.echo_out, self.echo_err):
                if echo is not None:
                    echo.close()

    def _ok_codes(self) -> list[list[int]] | None:
        """Each stage's ok codes for the engine's fail-fast; ``None`` when
        every stage accepts only 0 (the engine's default)."""
        codes = [stage.view.ok_codes for stage in self.stages]
        if all(ok is None for ok in codes):
            return None
        return [ok or [0] for ok in codes]

    def steps(self) -> Steps[_T]:
        """The run as a generator: yields a handle per execution (a remote
        stage's connection first, then the run), returns the result."""
        if self.pipeline:
            # Resolve the relay backend before anything spawns.
            get_stream_backend()
        if self.inline and self.feed is not None and self.feed.is_async:
            msg = (
                "`stdin` is an async iterable: use `await run()`, "
                "or pass an iterable of bytes to `run_sync()`"
            )
            raise TypeError(msg)
        for stage in self.stages:
            if self.observers:
                self.emit(stage, "plan")
            for hook in self.before:
                hook(stage.cmd)
        if self.remote:
            yield from self._connect()
        try:
            outcome = yield self._spawn()
        except BaseException:
            if self.remote:
                self._finish_launches(None)
            raise
        self._wind_up(outcome)
        if outcome.error is not None:
            raise outcome.error
        results = [
            self._result(stage, native)
            for stage, native in zip(self.stages, outcome.stages, strict=True)
        ]
        if outcome.timed_out:
            self._timed_out(outcome, results)
        if self.pipeline:
            return cast("_T", self._pipeline_result(outcome, results))
        return cast("_T", self._command_result(outcome, results[0]))

    def _command_result(self, outcome: _native.Outcome, result: CommandResult) -> CommandResult:
        if self.observers:
            self._emit_exit(self.stages[0], outcome.stages[0])
        for after_hook in self.after:
            after_hook(self.stages[0].cmd, result)
        if self.check and not result.ok:
            raise ExitCodeError(result, secrets=self._secrets())
        return result

    def _pipeline_result(
        self, outcome: _native.Outcome, results: list[CommandResult]
    ) -> PipelineResult:
        if self.observers:
            for stage, native in zip(self.stages, outcome.stages, strict=True):
                self._emit_exit(stage, native)
        for stage, result in zip(self.stages, results, strict=True):
            for after_hook in self.after:
                after_hook(stage.cmd, result)
        early = tuple(index for index, native in enumerate(outcome.stages) if native.early_exit)
        pipeline = PipelineResult(tuple(results), outcome.failure_index, early_exit_stages=early)
        if self.check and not pipeline.ok:
            raise ExitCodeError(pipeline, secrets=self._secrets())
        return pipeline

    def _secrets(self) -> list[Secret]:
        """Every secret of this run (argv and environment), so messages that
        quote a child's output can mask them."""
        found = [arg for stage in self.stages for arg in stage.cmd.argv if isinstance(arg, Secret)]
        overlay = merge_env_overlays(self.scope_env, self.ctx.env) or {}
        found.extend(value for value in overlay.values() if isinstance(value, Secret))
        return found

    def _emit_exit(self, stage: _Stage, native: _native.StageOutcome) -> None:
        self.emit(stage, "exit", exit_code=native.exit_code, duration_s=max(native.duration, 0.0))

    def _decode(self, value: str | bytes | None) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return value.decode(self.ctx.encoding, self.ctx.errors)

    def _result(self, stage: _Stage, native: _native.StageOutcome) -> CommandResult:
        final = stage is self.stages[-1]
        rest = self.live_rest
        stdout = rest.get("stdout", native.stdout) if final else None
        stderr = rest.get("stderr", native.stderr) if final else native.stderr
        return CommandResult(
            program=stage.cmd.program,
            argv=stage.view.result_argv,
            exit_code=native.exit_code,
            pid=native.pid,
            stdout=self._decode(stdout),
            stderr=self._decode(stderr),
            ok_codes=stage.cmd.ok_codes,
        )

    def _timed_out(self, outcome: _native.Outcome, results: list[CommandResult]) -> None:
        assert self.timeout is not None
        if self.pipeline:
            cmd: object = tuple(stage.argv for stage in self.stages)
            stderr = "".join(r.stderr or "" for r in results) if self.capture else None
        else:
            cmd = self.stages[0].argv
            stderr = results[0].stderr if self.capture else None
            if self.observers:
                self._emit_exit(self.stages[0], outcome.stages[0])
        # A redirected stream has no partial output to report: None.
        output = (results[-1].stdout or "") if self.capture and not self.routes.stdout else None
        if self.capture and stderr is None and not self.routes.stderr:
            stderr = ""
        error = TimeoutExpired(cmd=cmd, timeout=self.timeout, output=output, stderr=stderr)
        raise error from TimeoutError(f"deadline of {self.timeout} seconds passed")


def _check_timeout(timeout: float | None) -> float | None:
    """``None`` or a real number; NaN is an error, infinity means none."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        msg = f"timeout must be a number of seconds or None, got {timeout!r}"
        raise TypeError(msg)
    if math.isnan(timeout):
        msg = "timeout must be a number of seconds or None, got nan"
        raise ValueError(msg)
    return timeout


# Codec and error-handler pairs already found: most runs use the default.
_KNOWN_CODECS: set[tuple[str, str]] = set()


def _check_codec(encoding: str, errors: str) -> None:
    """Unknown codecs fail before anything is spawned (``LookupError``)."""
    if (encoding, errors) in _KNOWN_CODECS:
        return
    codecs.lookup(encoding)
    codecs.lookup_error(errors)
    _KNOWN_CODECS.add((encoding, errors))


def _payload(data: bytes | None) -> bytes | None:
    # The engine borrows a ``bytes`` object without copying it; any other
    # buffer is frozen into one first.
    if data is None or type(data) is bytes:
        return data
    return bytes(data)


def _encode_env(env: Mapping[Any, object]) -> list[tuple[bytes, bytes]]:
    encoded = []
    for key, value in env.items():
        if not isinstance(key, str) or not isinstance(value, str):
            msg = (
                "environment must map str to str, got "
                f"{type(key).__name__} key {key!r} with {type(value).__name__} value"
            )
            raise TypeError(msg)
        encoded.append((os.fsencode(key), os.fsencode(value)))
    return encoded


# -- entry points -----------------------------------------------------------


def command_run(
    cmd: SafeCmd,
    *,
    output: RunOutputOptions | None,
    timeout: float | None,
    context: ExecutionContext | None,
    stdin: routing.StdinSource | None,
    check: bool = False,
    stdout: routing.OutputTarget | None = None,
    stderr: routing.ErrorTarget | None = None,
) -> Run[CommandResult]:
    """The run behind ``SafeCmd.run``/``run_sync``."""
    return Run(
        (cmd,),
        pipeline=False,
        output=output,
        timeout=timeout,
        context=context,
        stdin=stdin,
        check=check,
        stdout=stdout,
        stderr=stderr,
    )


def _pipeline_output(
    output: RunOutputOptions | None, flags: Mapping[str, bool]
) -> RunOutputOptions | None:
    if not flags:
        return output
    if output is not None:
        msg = "pass either output= or the deprecated capture=/echo= flags, not both"
        raise ValueError(msg)
    warnings.warn(
        "Pipeline.run(capture=..., echo=...) is deprecated; pass output=RunOutputOptions(...)",
        DeprecationWarning,
        stacklevel=4,
    )
    return RunOutputOptions(capture=flags.get("capture", True), echo=flags.get("echo", False))


def pipeline_run(
    pipeline: Pipeline,
    *,
    output: RunOutputOptions | None,
    timeout: float | None,
    context: ExecutionContext | None,
    flags: Mapping[str, bool],
    check: bool = False,
    stdin: routing.StdinSource | None = None,
    stdout: routing.OutputTarget | None = None,
    stderr: routing.ErrorTarget | None = None,
) -> Run[PipelineResult]:
    """The run behind ``Pipeline.run``/``run_sync`` (``flags``: the deprecated
    ``capture=``/``echo=`` keywords)."""
    output = _pipeline_output(output, flags)
    return Run(
        pipeline.parts,
        pipeline=True,
        output=output,
        timeout=timeout,
        context=context,
        stdin=stdin,
        check=check,
        stdout=stdout,
        stderr=stderr,
    )


def _live_streams(stdin: object, stdout: object, stderr: object) -> frozenset[str]:
    """The streams ``start()`` hands to the caller; anything but ``PIPE`` or
    ``None`` (and stdin data) is a routing target, which ``run()`` handles."""
    from cuprum.routing import PIPE

    live = set()
    for name, target in (("stdin", stdin), ("stdout", stdout), ("stderr", stderr)):
        if target is PIPE:
            live.add(name)
        elif target is not None and not (name == "stdin" and isinstance(target, StdinInput)):
            msg = (
                f"`start()` takes PIPE or None for `{name}`, got {target!r}; "
                f"routing to files or descriptors is done by `run({name}=...)`"
            )
            raise ValueError(msg)
    return frozenset(live)


def start_run(
    parts: Sequence[SafeCmd],
    *,
    pipeline: bool,
    stdin: object,
    stdout: object,
    stderr: object,
    output: RunOutputOptions | None,
    timeout: float | None,
    context: ExecutionContext | None,
) -> Run[Any]:
    """The run behind ``SafeCmd.start``/``Pipeline.start``: a run whose
    ``PIPE`` streams are live, supervised by the engine's thread."""
    live = _live_streams(stdin, stdout, stderr)
    run: Run[Any] = Run(
        parts,
        pipeline=pipeline,
        output=output,
        timeout=timeout,
        context=context,
        stdin=stdin if isinstance(stdin, StdinInput) else None,
        live=live,
    )
    run.inline = False
    return run
