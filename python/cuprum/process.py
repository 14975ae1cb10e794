"""Live processes: :class:`Process` and :class:`PipelineProcess`, returned by
:meth:`SafeCmd.start <cuprum.SafeCmd.start>` and
:meth:`Pipeline.start <cuprum.Pipeline.start>`.

A started process runs while the caller reads its output line by line
(:class:`OutputStream`), writes to its stdin (:class:`InputStream`), signals
it, and finally waits for its result. Starting is the first half of a run:
``run()`` is ``start()`` plus ``wait()`` through the same code
(:class:`cuprum._drivers.Started`), so hooks and events apply exactly as
for a run.

Output reaches a live stream through a bounded buffer in the engine (1 MiB):
while it is full the engine stops reading the child's pipe, so an endless
producer with an idle consumer blocks in its own ``write`` and memory stays
flat. Lines arrive in batches (one per read of the pipe); Python runs only
to hand each line to the caller.

Semantics of teardown (each tested):

- ``cancel_sync()`` / ``await cancel()``: SIGTERM to every stage's process
  group, SIGKILL after ``cancel_grace``, then wait until every stage is
  reaped. Idempotent: later calls return at once.
- Leaving ``with``/``async with`` cancels a process that is still running
  and reaps it; the block's exception, if any, propagates.
- ``wait_sync()`` / ``await wait()`` drain what was not read from the live
  streams into the result (``stdout``/``stderr`` hold the unread rest), so
  waiting never deadlocks on a full pipe.
"""

from __future__ import annotations

import codecs
import itertools
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from cuprum import _aio as aio
from cuprum._drivers import Started, _settle_sync
from cuprum._output import is_utf8
from cuprum._results import CommandResult, PipelineResult, TimeoutExpired

if TYPE_CHECKING:
    from types import TracebackType
    from typing import Self

    from cuprum import _native
    from cuprum._execution import Run
    from cuprum.program import Program

__all__ = ["InputStream", "OutputStream", "PipelineProcess", "Process"]

_R = TypeVar("_R", CommandResult, PipelineResult)


class _AsyncWaiter:
    """Waits for the run's notify descriptor under the running async
    library. Each stream waits on its own duplicate of the descriptor, so
    two tasks can wait at once (one reading stdout, one writing stdin)."""

    def __init__(self, handle: _native.Execution) -> None:
        self._handle = handle
        self._fd: int | None = None

    async def wait(self) -> None:
        if self._fd is None:
            self._fd = os.dup(self._handle.notify_fd())
        with aio.current().readable(self._fd) as readable:
            await readable()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class OutputStream:
    """A live output stream (``stdout`` or ``stderr`` of a started process).

    ``for line in stream`` blocks (GIL released) and ``async for line in
    stream`` awaits; lines are decoded (the context's encoding) and keep
    their line ending (``\\n``, ``\\r\\n`` or ``\\r``). ``read_sync()`` /
    ``await read()`` return the rest as text; ``iter_bytes()`` /
    ``aiter_bytes()`` yield raw chunks. Mixing lines and bytes on one stream
    is allowed: each call takes what the other has not.
    """

    __slots__ = ("_current", "_decoder", "_native", "_started", "_text", "_waiter", "name")

    def __init__(self, started: Started[Any], native: _native.LiveStream, name: str) -> None:
        self._started = started
        self._native = native
        self.name = name
        ctx = started.run.ctx
        # The engine decodes UTF-8 with replacement itself; any other codec
        # or error handler decodes here, chunk by chunk.
        self._decoder = (
            None
            if is_utf8(ctx.encoding) and ctx.errors == "replace"
            else codecs.getincrementaldecoder(ctx.encoding)(ctx.errors)
        )
        self._text = ""
        # The batch being handed out: lines taken from the engine but not
        # yet given to the caller stay here for the next loop or the result.
        self._current: Iterator[str] | None = None
        self._waiter = _AsyncWaiter(started.handle)

    def __repr__(self) -> str:
        return f"<OutputStream {self.name}>"

    # -- lines --------------------------------------------------------------

    def _cut(self, chunk: bytes | None) -> list[str] | None:
        """Python-side decoding: complete lines of ``chunk`` (``None``: end
        of stream, the tail included)."""
        assert self._decoder is not None
        eof = chunk is None
        text = self._text + self._decoder.decode(chunk or b"", final=eof)
        lines = text.splitlines(keepends=True)
        self._text = ""
        if lines and not eof:
            last = lines[-1]
            # Only `\n` and `\r` end a line; a final `\r` may become `\r\n`.
            if last.endswith("\r") or not last.endswith(("\n", "\r")):
                self._text = lines.pop()
        merged: list[str] = []
        for line in lines:
            if merged and not merged[-1].endswith(("\n", "\r")):
                merged[-1] += line
            else:
                merged.append(line)
        if merged and not eof and not merged[-1].endswith(("\n", "\r")):
            self._text = merged.pop() + self._text
        if eof and not merged:
            return None
        return merged

    def _next_sync(self) -> list[str] | None:
        if self._decoder is None:
            return self._native.read_lines(None)
        while True:
            lines = self._cut(self._native.read_bytes(None))
            if lines is None or lines:
                return lines

    def _take(self) -> list[str] | None:
        if self._decoder is None:
            return self._native.take_lines()
        chunk = self._native.take_bytes()
        if chunk == b"":
            return []
        return self._cut(chunk)

    def __iter__(self) -> Iterator[str]:
        # `chain` hands out the lines of each batch in C; Python runs once
        # per batch. The batch's iterator is kept, so lines of a loop left
        # early stay for the next loop (or the result of `wait`).
        return itertools.chain.from_iterable(self._batches())

    def _batches(self) -> Iterator[Iterator[str]]:
        pump = self._started.pump
        read = self._next_sync
        if self._current is not None:
            yield self._current
        while True:
            pump()
            got = read()
            if got is None:
                self._current = None
                return
            self._current = current = iter(got)
            yield current

    async def __aiter__(self) -> AsyncIterator[str]:
        pump, take, wait = self._started.pump, self._take, self._waiter.wait
        try:
            while True:
                current = self._current
                if current is not None:
                    for line in current:
                        yield line
                pump()
                got = take()
                if got is None:
                    self._current = None
                    return
                if got:
                    self._current = iter(got)
                else:
                    await wait()
        finally:
            self._waiter.close()

    # -- text and bytes -----------------------------------------------------

    def read_sync(self) -> str:
        """Everything left in the stream, as text (blocks until it ends)."""
        return "".join(self)

    async def read(self) -> str:
        """Everything left in the stream, as text (awaits its end)."""
        return "".join([line async for line in self])

    def iter_bytes(self) -> Iterator[bytes]:
        """Raw chunks as they arrive (blocking, GIL released)."""
        while True:
            self._started.pump()
            chunk = self._native.read_bytes(None)
            if chunk is None:
                return
            if chunk:
                yield chunk

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """Raw chunks as they arrive."""
        try:
            while True:
                self._started.pump()
                chunk = self._native.take_bytes()
                if chunk is None:
                    return
                if chunk:
                    yield chunk
                else:
                    await self._waiter.wait()
        finally:
            self._waiter.close()

    def _drain(self) -> None:
        self._native.unbound()

    def _rest(self) -> str | bytes:
        pending = "".join(self._current) if self._current is not None else ""
        self._current = None
        if self._decoder is None:
            return pending + str(self._native.rest(text=True))
        rest = self._native.rest(text=False)
        assert isinstance(rest, bytes)
        text = pending + self._text
        return text + self._decoder.decode(rest, final=True)


class InputStream:
    """The live stdin of a started process (``stdin=PIPE``).

    ``write_sync(data)`` blocks (GIL released) and ``await write(data)``
    awaits until the child's pipe has taken every byte; ``str`` is encoded
    with the context's encoding. A write after the child closed its stdin
    (or exited) raises :class:`BrokenPipeError`; a write after
    :meth:`close` raises :class:`ValueError`.
    """

    __slots__ = ("_closed", "_encoding", "_native", "_started", "_waiter")

    def __init__(self, started: Started[Any], native: _native.LiveStdin) -> None:
        self._started = started
        self._native = native
        self._encoding = started.run.ctx.encoding
        self._closed = False
        self._waiter = _AsyncWaiter(started.handle)

    def __repr__(self) -> str:
        return f"<InputStream closed={self._closed}>"

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _submit(self, data: str | bytes) -> int:
        if self._closed:
            msg = "write to a closed `stdin` of a started process"
            raise ValueError(msg)
        payload: object = data
        if isinstance(payload, str):
            payload = payload.encode(self._encoding)
        if not isinstance(payload, bytes | bytearray | memoryview):
            msg = f"`stdin` takes str or bytes, got {type(data).__name__}"
            raise TypeError(msg)
        return self._native.submit(bytes(payload))

    def write_sync(self, data: str | bytes) -> None:
        """Write ``data``, blocking until the pipe has taken it."""
        self._native.wait(self._submit(data))

    async def write(self, data: str | bytes) -> None:
        """Write ``data``, awaiting until the pipe has taken it."""
        ticket = self._submit(data)
        try:
            while True:
                self._started.pump()
                if self._native.written(ticket):
                    return
                await self._waiter.wait()
        finally:
            self._waiter.close()

    def close(self) -> None:
        """Close the child's stdin once everything written is delivered
        (the child sees end of file). Idempotent."""
        self._closed = True
        self._native.close()


class _Live(Generic[_R]):
    """What :class:`Process` and :class:`PipelineProcess` share."""

    def __init__(self, run: Run[_R]) -> None:
        self._started: Started[_R] = Started(run)
        self._run: Run[_R] = run
        handle = self._started.handle
        out = handle.live_stream("stdout")
        err = handle.live_stream("stderr")
        stdin = handle.live_stdin()
        self.stdout: OutputStream | None = (
            OutputStream(self._started, out, "stdout") if out is not None else None
        )
        self.stderr: OutputStream | None = (
            OutputStream(self._started, err, "stderr") if err is not None else None
        )
        self.stdin: InputStream | None = (
            InputStream(self._started, stdin) if stdin is not None else None
        )
        self._pids = tuple(handle.pids())
        self._started.before_finish = self._collect_rest

    def _collect_rest(self) -> None:
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                self._run.live_rest[stream.name] = stream._rest()

    def _prepare_wait(self, check: bool) -> None:
        self._run.check = check
        if self.stdin is not None and not self.stdin.closed:
            # Waiting means no more input: the child sees end of file.
            self.stdin.close()
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                stream._drain()

    # -- state --------------------------------------------------------------

    def poll(self) -> int | None:
        """The exit code once the process has exited, else ``None`` (never
        blocks)."""
        self._started.pump()
        return self.returncode

    @property
    def returncode(self) -> int | None:
        """The exit code (``-N`` for death by signal N), ``None`` while
        running (for a pipeline: the last stage's, once every stage
        exited)."""
        codes = self._started.exit_codes
        if any(code is None for code in codes):
            return None
        return codes[-1]

    # -- signals ------------------------------------------------------------

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to every stage's process group (nothing once the
        process has been reaped)."""
        self._started.pump()
        if self._started.finished:
            return
        for pid in self._pids:
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                continue

    def terminate(self) -> None:
        """SIGTERM to the process group."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to the process group."""
        self.send_signal(signal.SIGKILL)

    # -- waiting ------------------------------------------------------------

    def _wait_sync(self, timeout: float | None, check: bool) -> _R:
        if timeout is not None and not self._started.done:
            deadline = time.monotonic() + timeout
            handle = self._started.handle
            while not handle.join(max(deadline - time.monotonic(), 0.0)):
                self._started.pump()
                if time.monotonic() >= deadline:
                    raise TimeoutExpired(cmd=self._argv_for_error(), timeout=timeout)
        self._prepare_wait(check)
        try:
            result = self._started.wait_sync()
        except BaseException as error:
            _raise_pending(self._run, error)
            raise
        _raise_pending(self._run, None)
        return result

    async def _wait_async(self, timeout: float | None, check: bool) -> _R:
        library = aio.current()
        if timeout is not None and not self._started.done:
            await _within(timeout, self._exited_async(), self._argv_for_error())
        self._prepare_wait(check)
        try:
            result = await self._started.wait_async(library)
        except BaseException:
            await _settle_async(self._run)
            raise
        error = await _settle_async(self._run)
        if error is not None:
            raise error
        return result

    async def _exited_async(self) -> None:
        waiter = _AsyncWaiter(self._started.handle)
        try:
            while self.poll() is None:
                await waiter.wait()
        finally:
            waiter.close()

    def _argv_for_error(self) -> object:
        stages = self._run.stages
        if len(stages) == 1:
            return stages[0].argv
        return tuple(stage.argv for stage in stages)

    def cancel_sync(self) -> None:
        """SIGTERM, ``cancel_grace``, SIGKILL, then wait until reaped.
        Idempotent."""
        if not self._started.done:
            self._started.handle.cancel(max(self._run.ctx.cancel_grace, 0.0))
        self._quiet_wait_sync()

    async def cancel(self) -> None:
        """SIGTERM, ``cancel_grace``, SIGKILL, then await the reaping.
        Idempotent."""
        if not self._started.done:
            self._started.handle.cancel(max(self._run.ctx.cancel_grace, 0.0))
        library = aio.current()
        try:
            await library.shielded(lambda: self._started.wait_async(library))
        except Exception:
            return

    def _quiet_wait_sync(self) -> None:
        try:
            self._wait_sync(None, check=False)
        except Exception:
            return

    # -- context managers ---------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._started.done:
            self.cancel_sync()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._started.done:
            await self.cancel()


class Process(_Live[CommandResult]):
    """A started command (see the module documentation)."""

    @property
    def pid(self) -> int:
        """The child's process id (also its process group id)."""
        return self._pids[0]

    @property
    def program(self) -> Program:
        """The program that runs."""
        program: Program = self._run.stages[0].cmd.program
        return program

    @property
    def argv(self) -> tuple[str, ...]:
        """The arguments after the program (secrets shown as ``***``)."""
        argv: tuple[str, ...] = self._run.stages[0].argv[1:]
        return argv

    def __repr__(self) -> str:
        return f"<Process pid={self.pid} program={self.program!r} returncode={self.returncode}>"

    def wait_sync(self, timeout: float | None = None, *, check: bool = False) -> CommandResult:
        """Wait for exit (blocking) and return the result; output not read
        from ``PIPE`` streams is in the result. ``timeout``: raise
        :class:`~cuprum.TimeoutExpired` if the process has not exited by
        then (it keeps running). ``check``: raise
        :class:`~cuprum.ExitCodeError` for a failing exit code."""
        return self._wait_sync(timeout, check)

    async def wait(self, timeout: float | None = None, *, check: bool = False) -> CommandResult:
        """As :meth:`wait_sync`, awaiting instead of blocking."""
        return await self._wait_async(timeout, check)


class PipelineProcess(_Live[PipelineResult]):
    """A started pipeline: ``stdin`` feeds the first stage, ``stdout`` is
    the last stage's output, ``stderr`` carries every stage's stderr."""

    @property
    def pids(self) -> tuple[int, ...]:
        """Every stage's process id, in stage order."""
        return self._pids

    def __repr__(self) -> str:
        return f"<PipelineProcess pids={self.pids} returncode={self.returncode}>"

    def wait_sync(self, timeout: float | None = None, *, check: bool = False) -> PipelineResult:
        """Wait for every stage (blocking); see :meth:`Process.wait_sync`."""
        return self._wait_sync(timeout, check)

    async def wait(self, timeout: float | None = None, *, check: bool = False) -> PipelineResult:
        """As :meth:`wait_sync`, awaiting instead of blocking."""
        return await self._wait_async(timeout, check)


def _raise_pending(run: Run[_R], error: BaseException | None) -> None:
    """Settle awaitables returned by observe hooks (sync wait)."""
    pending, run.pending = run.pending, []
    failure = _settle_sync(pending)
    if failure is not None:
        if error is not None:
            raise failure from error
        raise failure


async def _settle_async(run: Run[_R]) -> BaseException | None:
    pending, run.pending = run.pending, []
    first: BaseException | None = None
    for awaitable in pending:
        try:
            await awaitable
        except Exception as exc:
            first = first or exc
    return first


async def _within(timeout: float, work: object, cmd: object) -> None:
    """Await ``work`` for at most ``timeout`` seconds under the running
    library, raising :class:`~cuprum.TimeoutExpired` when it takes longer."""
    from collections.abc import Coroutine

    import sniffio

    assert isinstance(work, Coroutine)
    if sniffio.current_async_library() == "trio":
        import trio

        with trio.move_on_after(timeout) as scope:
            await work
        if scope.cancelled_caught:
            raise TimeoutExpired(cmd=cmd, timeout=timeout)
        return
    import asyncio

    try:
        async with asyncio.timeout(timeout):
            await work
    except TimeoutError:
        raise TimeoutExpired(cmd=cmd, timeout=timeout) from None
