"""Drivers: how a run waits for its engine handle, and how pending async
observe tasks are settled.

- the async driver waits through the running library's adapter
  (:mod:`cuprum._aio`: the loop's one engine hub under asyncio, the
  handle's notify descriptor with ``trio.lowlevel.wait_readable`` under
  trio; no thread, no polling);
- the blocking driver waits in the engine with the GIL released, and the
  engine supervises the children on that same thread.

Whatever interrupts the wait (a raising hook, a cancelled task or scope,
Ctrl-C), the handle is cancelled and waited for — shielded from further
cancellation — before the exception propagates.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeAlias, TypeVar

from cuprum import _aio as aio
from cuprum import _lifecycle, _native
from cuprum._native import EXIT

if TYPE_CHECKING:
    from cuprum._aio import Library
    from cuprum._execution import Run
    from cuprum._results import CommandResult, PipelineResult
    from cuprum.routing import StdinFeed

_R = TypeVar("_R", bound="CommandResult | PipelineResult")
Events: TypeAlias = "list[_native.Event]"
"""A batch of engine events: ``(kind, stage, value)``, ``kind`` one of the
``_native`` event constants (``START``, ``EXIT``, …)."""
Steps = Generator[_native.Execution, _native.Outcome, _R]
"""A run as a generator: yields a handle per execution it needs (a remote
command's connection, then the run itself) and receives each outcome."""


def _outcome(handle: _native.Execution) -> _native.Outcome:
    outcome = handle.outcome()
    # The run is over: release its descriptors now rather than whenever the
    # handle is collected.
    handle.close()
    _lifecycle.untrack(handle)
    if outcome is None:  # pragma: no cover - the engine publishes it with the last batch
        msg = "the engine finished without an outcome"
        raise RuntimeError(msg)
    return outcome


def _drain_sync(
    handle: _native.Execution,
    sink: Callable[[Events], None] | None,
    feed: StdinFeed | None = None,
) -> _native.Outcome:
    while True:
        events, finished = handle.wait_events(None)
        if events and sink is not None:
            sink(events)
        if finished:
            return _outcome(handle)
        if feed is not None:
            # A streamed stdin: the next chunk, if the engine asked for one.
            feed.feed_sync(handle)


async def _drain_async(
    handle: _native.Execution,
    sink: Callable[[Events], None] | None,
    library: Library,
    feed: StdinFeed | None = None,
) -> _native.Outcome:
    # Watch before the first look: from then on the engine signals whenever
    # events wait. Look before each wait, so a wait that is cancelled again
    # on every attempt (a teardown under a redelivering scope) still sees
    # the run finish.
    with library.watching(handle) as readable:
        while True:
            events, finished = handle.take_events()
            if events and sink is not None:
                sink(events)
            if finished:
                break
            if feed is not None and feed.wanted:
                await feed.feed_async(handle)
                continue
            await readable()
    return _outcome(handle)


class Started(Generic[_R]):
    """A run that has been started: its handle, and the one way to finish
    it. ``run()``/``run_sync()`` are a start plus a wait; a live
    :class:`~cuprum.Process` keeps the ``Started`` and waits later.

    Whatever interrupts the wait (a raising hook, a cancelled task or scope,
    Ctrl-C), the handle is cancelled and waited for before the exception
    propagates. The result (or the error) is kept: waiting again returns
    (or raises) the same.
    """

    def __init__(self, run: Run[_R]) -> None:
        self.run = run
        self.steps = run.steps()
        self.handle = next(self.steps)
        self.exit_codes: list[int | None] = [None] * len(run.stages)
        self.finished = False
        self.done = False
        self.result: _R | None = None
        self.error: BaseException | None = None
        self.before_finish: Callable[[], None] | None = None

    def dispatch(self, events: Events) -> None:
        for event in events:
            if event[0] == EXIT:
                self.exit_codes[event[1]] = event[2][0]
        self.run.dispatch(events)

    def pump(self) -> None:
        """Take and dispatch the events waiting now (never blocks)."""
        if self.finished:
            return
        events, finished = self.handle.take_events()
        if events:
            self.dispatch(events)
        self.finished = finished

    def _fail(self, error: BaseException) -> NoReturn:
        self.done = True
        self.error = error
        self.steps.close()
        raise error

    def _next(self, outcome: _native.Outcome) -> bool:
        """Hand ``outcome`` to the run: ``True`` once it has its result,
        ``False`` when it needs another execution (a remote command's
        connection came first), whose handle is then ``self.handle``."""
        if self.before_finish is not None:
            self.before_finish()
        try:
            self.handle = self.steps.send(outcome)
        except StopIteration as stop:
            self.done = True
            self.result = stop.value
            return True
        except BaseException as exc:
            self.done = True
            self.error = exc
            raise
        self.finished = False
        return False

    def _cached(self) -> _R:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    def wait_sync(self) -> _R:
        if self.done:
            return self._cached()
        feed = self.run.feed
        try:
            while True:
                try:
                    outcome = _drain_sync(self.handle, self.dispatch, feed)
                except BaseException as error:
                    _teardown_sync(self.handle, max(self.run.ctx.cancel_grace, 0.0))
                    return self._fail(error)
                if self._next(outcome):
                    return self._cached()
        finally:
            if feed is not None:
                feed.close_sync()

    async def wait_async(self, library: Library) -> _R:
        if self.done:
            return self._cached()
        feed = self.run.feed
        while True:
            handle = self.handle
            try:
                outcome = await _drain_async(handle, self.dispatch, library, feed)
            except BaseException as error:
                handle.cancel(max(self.run.ctx.cancel_grace, 0.0))
                # Wait until the run is reaped, even if cancelled again meanwhile.
                await library.shielded(functools.partial(_drain_async, handle, None, library))
                return self._fail(error)
            if self._next(outcome):
                if feed is not None:
                    # A generator the child stopped reading from early is closed now.
                    await feed.close_async()
                return self._cached()


def _teardown_sync(handle: _native.Execution, grace: float) -> None:
    """Cancel and wait until every child is reaped. A further Ctrl-C during
    the wait skips the rest of the grace (SIGKILL at once) and keeps
    waiting: the teardown always completes."""
    handle.cancel(grace)
    while True:
        try:
            _drain_sync(handle, None)
        except KeyboardInterrupt:
            handle.cancel(0.0)
            continue
        return


# -- awaiting observe tasks -----------------------------------------------


def _settle_sync(pending: list[Awaitable[object]]) -> BaseException | None:
    if not pending:
        return None

    async def settle() -> BaseException | None:
        first: BaseException | None = None
        for awaitable in pending:
            try:
                await awaitable
            except Exception as exc:  # re-raised by the caller
                first = first or exc
        return first

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(settle())
    # This thread already runs a loop: settle on a helper thread's loop.
    box: list[BaseException | None] = []
    worker = threading.Thread(
        target=lambda: box.append(asyncio.run(settle())), name="cuprum-observe"
    )
    worker.start()
    worker.join()
    return box[0] if box else None


def _raise_settled(
    run: Run[Any], error: BaseException | None, task_error: BaseException | None
) -> None:
    if task_error is None:
        return
    if error is not None and run.pipeline:
        raise BaseExceptionGroup("pipeline finalization failed", [error, task_error])
    if error is not None:
        raise task_error from error
    raise task_error


def execute_sync(run: Run[_R]) -> _R:
    try:
        result = Started(run).wait_sync()
    except BaseException as error:
        _raise_settled(run, error, _settle_sync(run.pending))
        raise
    if run.pending:
        _raise_settled(run, None, _settle_sync(run.pending))
    return result


async def execute_async(run: Run[_R]) -> _R:
    library = aio.current()
    run.inline = False
    if not run.observers:
        # No observe hook: nothing is ever scheduled to settle.
        return await Started(run).wait_async(library)
    error: BaseException | None = None
    # Observe tasks run alongside the run and are settled when the context
    # closes; nothing raises inside it (under trio it is a nursery, which
    # would wrap the exception in a group).
    async with library.observers() as observers:
        run.schedule = observers.schedule
        try:
            result = await Started(run).wait_async(library)
        except BaseException as exc:
            error = exc
    if error is None:
        _raise_settled(run, None, observers.error)
        return result
    try:
        raise error
    except BaseException:
        # Raised while handling the run's error, so a failed observe task
        # keeps it as its context.
        _raise_settled(run, error, observers.error)
        raise
    finally:
        del error  # no reference cycle through this frame
