"""Run many commands at once: :func:`run_concurrent` and :func:`run_concurrent_sync`.

Semantics, each of which has a test:

- **Pre-flight.** Every command is checked against the current scope's
  allowlist, in submission order, before anything starts; the first
  forbidden program raises :class:`~cuprum.context.ForbiddenProgramError`
  and no command runs.
- **Limit and order.** Each command runs as ``cmd.run(output=..., context=...)``
  in its own task; a semaphore of size ``concurrency`` gates them (``None``
  is unbounded, ``1`` is strictly sequential). Commands start in submission
  order and results are reported in submission order, whatever order they
  finish in.
- **Collect-all** (default). Every command runs to completion. If any
  raised, the first exception *in submission order* is re-raised unchanged
  once all have finished.
- **Fail-fast.** The first non-zero exit stops the batch: commands still
  running are cancelled, which tears their children down (SIGTERM, then
  SIGKILL after ``cancel_grace``, then reap); queued commands never spawn.
  Results of commands that completed are kept. An exception raised by a
  command also stops the batch; every such exception is raised together in
  an :class:`ExceptionGroup` once the batch has wound down.
- **Cancellation.** Cancelling the awaiting task cancels every command; the
  :class:`asyncio.CancelledError` propagates only after every child has
  been torn down and reaped.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import threading
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

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
    semaphore: asyncio.Semaphore | None
    tasks: list[asyncio.Task[CommandResult | None]] = dataclasses.field(default_factory=list)
    stopping: bool = False

    async def run_one(self, index: int) -> CommandResult | None:
        """Run command ``index`` under the limit; ``None`` if the batch stopped first."""
        if self.semaphore is None:
            return await self._run_unlimited(index)
        async with self.semaphore:
            return await self._run_unlimited(index)

    async def _run_unlimited(self, index: int) -> CommandResult | None:
        if self.stopping:
            return None
        try:
            result = await self.commands[index].run(output=self.output, context=self.context)
        except Exception:
            if self.fail_fast:
                self.stop(index)
            raise
        # Stop before releasing the semaphore, so no queued command starts.
        if self.fail_fast and not result.ok:
            self.stop(index)
        return result

    def stop(self, failed: int) -> None:
        """Fail-fast: cancel every other command that has not finished."""
        if self.stopping:
            return
        self.stopping = True
        for index, task in enumerate(self.tasks):
            if index != failed:
                task.cancel()

    def cancel_all(self) -> None:
        """Cancel every command (external cancellation)."""
        self.stopping = True
        for task in self.tasks:
            task.cancel()


async def run_concurrent(
    *commands: SafeCmd,
    config: ConcurrentConfig | None = None,
) -> ConcurrentResult:
    """Run ``commands`` concurrently and report their results in submission order.

    See the module documentation for the exact semantics of the limit,
    collect-all, fail-fast and cancellation. Timeouts come only from
    ``config.context.timeout`` or the current scope.

    Raises:
        ValueError: no commands were given.
        ForbiddenProgramError: a command is not allowed in the current scope
            (checked for all commands before any starts).
        Exception: collect-all only: the first exception raised by a command,
            in submission order, after all have finished.
        ExceptionGroup: fail-fast only: every exception raised by a command,
            in submission order, after the batch has wound down.
        asyncio.CancelledError: the awaiting task was cancelled; every child
            has been torn down first.
    """
    cfg = config if config is not None else ConcurrentConfig()
    if not commands:
        msg = "At least one command must be provided"
        raise ValueError(msg)
    scope = current_context()
    for command in commands:
        scope.check_allowed(command.program)

    batch = _Batch(
        commands=commands,
        output=RunOutputOptions(capture=cfg.capture, echo=cfg.echo),
        context=cfg.context,
        fail_fast=cfg.fail_fast,
        semaphore=None if cfg.concurrency is None else asyncio.Semaphore(cfg.concurrency),
    )
    # Tasks are created, and so first scheduled, in submission order; the
    # semaphore queues its waiters in that order too.
    batch.tasks.extend(
        asyncio.create_task(batch.run_one(index), name=f"cuprum.concurrent[{index}]")
        for index in range(len(commands))
    )
    try:
        await asyncio.wait(batch.tasks)
    except asyncio.CancelledError:
        batch.cancel_all()
        await _wait_through_cancellation(batch.tasks)
        raise
    return _collect(batch)


async def _wait_through_cancellation(tasks: list[asyncio.Task[CommandResult | None]]) -> None:
    """Wait until every task has finished, even if cancelled again meanwhile."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        try:
            _, pending = await asyncio.wait(pending)
        except asyncio.CancelledError:
            for task in pending:
                task.cancel()
    for task in tasks:
        if not task.cancelled():
            task.exception()  # mark as retrieved; CancelledError wins


def _collect(batch: _Batch) -> ConcurrentResult:
    errors: list[BaseException] = []
    completed: list[tuple[int, CommandResult]] = []
    for index, task in enumerate(batch.tasks):
        if task.cancelled():
            continue
        error = task.exception()
        if error is not None:
            errors.append(error)
            continue
        result = task.result()
        if result is not None:
            completed.append((index, result))
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
    event loop in this thread. In a thread that is already running an event
    loop (for instance, called from a coroutine), it runs on a fresh event
    loop in a helper thread while this thread waits, so the caller's loop is
    blocked for the duration, exactly as with any blocking call. Either way
    the caller's context (scopes, hooks, environment overlays) applies.

    Raises:
        The same exceptions as :func:`run_concurrent`.
        KeyboardInterrupt: the wait was interrupted; the batch was cancelled
            and torn down before this propagates.
    """
    coroutine = run_concurrent(*commands, config=config)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
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
