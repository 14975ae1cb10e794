"""Run many commands at once: :func:`run_concurrent` and :func:`run_concurrent_sync`.

Semantics, each of which has a test:

- **Pre-flight.** Every command is checked against the current scope's
  allowlist, in submission order, before anything starts; the first
  forbidden program raises :class:`~cuprum.context.ForbiddenProgramError`
  and no command runs.
- **Limit and order.** Each command runs as ``cmd.run(output=..., context=...)``
  in its own task (an asyncio task, or a task of a trio nursery); a
  semaphore of size ``concurrency`` gates them (``None`` is unbounded, ``1``
  is strictly sequential). Commands start in submission order and results
  are reported in submission order, whatever order they finish in.
- **Collect-all** (default). Every command runs to completion. If any
  raised, the first exception *in submission order* is re-raised unchanged
  once all have finished.
- **Fail-fast.** The first non-zero exit stops the batch: commands still
  running are cancelled, which tears their children down (SIGTERM, then
  SIGKILL after ``cancel_grace``, then reap); queued commands never spawn.
  Results of commands that completed are kept. An exception raised by a
  command also stops the batch; every such exception is raised together in
  an :class:`ExceptionGroup` once the batch has wound down.
- **Cancellation.** Cancelling the awaiting task (or a trio/anyio cancel
  scope around it) cancels every command once; the library's cancellation
  exception propagates only after every child has been torn down and
  reaped, however often the cancellation is delivered meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import threading
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

import sniffio

from cuprum import _aio as aio
from cuprum._command import SafeCmd
from cuprum._options import ExecutionContext, RunOutputOptions
from cuprum._results import CommandResult
from cuprum.context import current_context

__all__ = ["ConcurrentConfig", "ConcurrentResult", "run_concurrent", "run_concurrent_sync"]

_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True, slots=True)
class ConcurrentConfig:
    """How :func:`run_concurrent` runs a batch.

    ``concurrency`` caps how many commands run at once (``None``: no cap);
    ``capture``/``echo`` build the :class:`~cuprum.sh.RunOutputOptions` every
    command runs with; ``context`` is passed to every run (its ``timeout``
    is the only per-batch deadline); ``fail_fast`` stops the batch at the
    first non-zero exit.

    Raises:
        ValueError: ``concurrency`` is less than 1.
    """

    concurrency: int | None = None
    capture: bool = True
    echo: bool = False
    context: ExecutionContext | None = None
    fail_fast: bool = False

    def __post_init__(self) -> None:
        if self.concurrency is not None and self.concurrency < 1:
            msg = f"concurrency must be >= 1, got {self.concurrency}"
            raise ValueError(msg)


@dataclasses.dataclass(frozen=True, slots=True, init=False)
class ConcurrentResult:
    """The outcome of a batch.

    ``results`` are in submission order; after a fail-fast stop they hold
    only the commands that completed. ``submission_indices[i]`` is the
    position in the submitted batch of ``results[i]`` (by default
    ``range(len(results))``). ``failures`` lists positions *within
    ``results``* of non-zero exits, ascending; use
    :attr:`failure_submission_indices` for positions in the batch.
    """

    results: tuple[CommandResult, ...]
    failures: tuple[int, ...]
    submission_indices: tuple[int, ...]

    def __init__(
        self,
        results: Iterable[CommandResult],
        failures: Iterable[int] = (),
        submission_indices: Iterable[int] | None = None,
    ) -> None:
        """Build a result; ``submission_indices`` defaults to ``range(len(results))``.

        Raises:
            ValueError: ``submission_indices`` is given with a length other
                than that of ``results``.
        """
        outcomes = tuple(results)
        if submission_indices is None:
            indices = tuple(range(len(outcomes)))
        else:
            indices = tuple(submission_indices)
            if len(indices) != len(outcomes):
                msg = (
                    f"submission_indices length {len(indices)} does not match "
                    f"results length {len(outcomes)}"
                )
                raise ValueError(msg)
        object.__setattr__(self, "results", outcomes)
        object.__setattr__(self, "failures", tuple(failures))
        object.__setattr__(self, "submission_indices", indices)

    @property
    def ok(self) -> bool:
        """Whether no command failed."""
        return not self.failures

    @property
    def first_failure(self) -> CommandResult | None:
        """The first failed result in submission order, or ``None``."""
        return self.results[self.failures[0]] if self.failures else None

    @property
    def failure_submission_indices(self) -> tuple[int, ...]:
        """Batch positions of the failed commands (``failures`` mapped through
        ``submission_indices``)."""
        return tuple(self.submission_indices[position] for position in self.failures)


@dataclasses.dataclass(slots=True)
class _Batch:
    """Shared state of one :func:`run_concurrent` call."""

    commands: tuple[SafeCmd, ...]
    output: RunOutputOptions
    context: ExecutionContext | None
    fail_fast: bool
    semaphore: aio.Semaphore | None
    group: aio.TaskGroup | None = None
    started: int = 0
    stopping: bool = False
    outcomes: dict[int, CommandResult | Exception] = dataclasses.field(default_factory=dict)

    async def admit(self, group: aio.TaskGroup) -> None:
        """Start the commands in submission order, each once the limit allows."""
        self.group = group
        for index in range(len(self.commands)):
            if self.semaphore is not None:
                await self.semaphore.acquire()
            if self.stopping:
                # Fail-fast stopped the batch: queued commands never spawn.
                if self.semaphore is not None:
                    self.semaphore.release()
                return
            self.started += 1
            await group.start(
                functools.partial(self.run_one, index), name=f"cuprum.concurrent[{index}]"
            )

    async def run_one(self, index: int) -> None:
        """Run command ``index`` and record its result or exception."""
        try:
            try:
                result = await self.commands[index].run(output=self.output, context=self.context)
            except Exception as error:
                self.outcomes[index] = error
                if self.fail_fast:
                    self.stop(index)
                return
            self.outcomes[index] = result
            # Stop before releasing the limit, so no queued command starts.
            if self.fail_fast and not result.ok:
                self.stop(index)
        finally:
            if self.semaphore is not None:
                self.semaphore.release()

    def stop(self, failed: int) -> None:
        """Fail-fast: cancel every other command that has started."""
        if self.stopping:
            return
        self.stopping = True
        assert self.group is not None  # commands run only once admitted
        for position in range(self.started):
            if position != failed:
                self.group.cancel(position)


async def run_concurrent(
    *commands: SafeCmd,
    config: ConcurrentConfig | None = None,
) -> ConcurrentResult:
    """Run ``commands`` concurrently and report their results in submission order.

    See the module documentation for the exact semantics of the limit,
    collect-all, fail-fast and cancellation. Works under asyncio, trio and
    anyio (commands run as tasks of an asyncio task group or of a trio
    nursery). Timeouts come only from ``config.context.timeout`` or the
    current scope.

    Raises:
        ValueError: no commands were given.
        ForbiddenProgramError: a command is not allowed in the current scope
            (checked for all commands before any starts).
        Exception: collect-all only: the first exception raised by a command,
            in submission order, after all have finished.
        ExceptionGroup: fail-fast only: every exception raised by a command,
            in submission order, after the batch has wound down.
        asyncio.CancelledError: the awaiting task was cancelled; every child
            has been torn down first (``trio.Cancelled`` under trio).
    """
    cfg = config if config is not None else ConcurrentConfig()
    if not commands:
        msg = "At least one command must be provided"
        raise ValueError(msg)
    scope = current_context()
    for command in commands:
        scope.check_allowed(command.program)

    library = aio.current()
    batch = _Batch(
        commands=commands,
        output=RunOutputOptions(capture=cfg.capture, echo=cfg.echo),
        context=cfg.context,
        fail_fast=cfg.fail_fast,
        semaphore=None if cfg.concurrency is None else library.semaphore(cfg.concurrency),
    )
    # Leaving the group waits for every command; if this task is cancelled,
    # every command is cancelled (once) and torn down before the
    # cancellation propagates.
    async with library.task_group() as group:
        await batch.admit(group)
    return _collect(batch)


def _collect(batch: _Batch) -> ConcurrentResult:
    errors: list[BaseException] = []
    completed: list[tuple[int, CommandResult]] = []
    # Commands that never started or were cancelled have no outcome.
    for index in sorted(batch.outcomes):
        outcome = batch.outcomes[index]
        if isinstance(outcome, Exception):
            errors.append(outcome)
        else:
            completed.append((index, outcome))
    if errors:
        if batch.fail_fast:
            count = len(errors)
            msg = f"run_concurrent: {count} command{'s' if count != 1 else ''} raised"
            raise BaseExceptionGroup(msg, errors)
        raise errors[0]
    results = tuple(result for _, result in completed)
    return ConcurrentResult(
        results=results,
        failures=tuple(position for position, result in enumerate(results) if not result.ok),
        submission_indices=tuple(index for index, _ in completed),
    )


def run_concurrent_sync(
    *commands: SafeCmd,
    config: ConcurrentConfig | None = None,
) -> ConcurrentResult:
    """Blocking twin of :func:`run_concurrent`: the same coroutine, run to completion.

    In a thread without a running event loop the coroutine runs on a fresh
    asyncio event loop in this thread. In a thread that is already running
    an event loop (for instance, called from a coroutine, under asyncio or
    trio), it runs on a fresh asyncio event loop in a helper thread while
    this thread waits, so the caller's loop is blocked for the duration,
    exactly as with any blocking call. Either way the caller's context
    (scopes, hooks, environment overlays) applies.

    Raises:
        The same exceptions as :func:`run_concurrent`.
        KeyboardInterrupt: the wait was interrupted; the batch was cancelled
            and torn down before this propagates.
    """
    coroutine = run_concurrent(*commands, config=config)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        # A trio loop in this thread would make the batch think it runs
        # under trio: it needs a thread of its own then too.
        if sniffio.thread_local.name is None:
            return asyncio.run(coroutine)
    return _run_on_helper_thread(coroutine)


def _run_on_helper_thread(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coroutine`` on a new event loop in a helper thread and wait for it.

    The caller's :mod:`contextvars` context is copied into the helper. If
    the wait is interrupted (``KeyboardInterrupt``), the coroutine is
    cancelled, awaited to the end, and the interruption re-raised.
    """
    context = contextvars.copy_context()
    started = threading.Event()
    finished = threading.Event()
    outcome: list[_T] = []
    failure: list[BaseException] = []
    handle: list[tuple[asyncio.AbstractEventLoop, asyncio.Task[_T]]] = []

    async def main() -> _T:
        task = asyncio.current_task()
        assert task is not None  # a coroutine run by asyncio.run is always a task
        handle.append((asyncio.get_running_loop(), task))
        # The copied context may name the caller's library (anyio sets
        # sniffio's variable); this loop is asyncio's.
        sniffio.current_async_library_cvar.set("asyncio")
        started.set()
        return await coroutine

    def target() -> None:
        try:
            outcome.append(context.run(asyncio.run, main()))
        except BaseException as error:  # handed to the waiting thread
            failure.append(error)
        finally:
            started.set()
            finished.set()

    helper = threading.Thread(target=target, name="cuprum.run_concurrent_sync", daemon=True)
    helper.start()
    # Wait on an Event rather than Thread.join: on CPython 3.11 a join
    # interrupted by a signal can mark a running thread as stopped, so a
    # second join would return at once.
    try:
        finished.wait()
    except BaseException:
        started.wait()
        if handle:
            loop, task = handle[0]
            # The loop may already have finished and closed.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        finished.wait()
        raise
    helper.join()
    if failure:
        raise failure[0]
    return outcome[0]
