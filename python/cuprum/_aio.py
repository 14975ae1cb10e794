"""The async libraries cuprum runs under: asyncio, trio, and anyio on either
of its back ends.

One async driver serves them all (:mod:`cuprum._drivers`); what differs is
gathered here as a small adapter per library, picked at run time with
:mod:`sniffio` (anyio needs no adapter of its own: ``sniffio`` names the back
end it runs on). An adapter knows how to

- wait until a run has something for its caller (asyncio: the loop's one
  engine hub, :mod:`cuprum._loop_hub`; trio: the run's own notify
  descriptor), or until a descriptor is readable (``loop.add_reader`` for
  asyncio, ``trio.lowlevel.wait_readable`` for trio);
- finish a piece of work even if the caller is cancelled again meanwhile
  (asyncio: keep waiting through every further ``CancelledError``, inside an
  anyio shield when anyio is loaded so it stops redelivering; trio: a
  shielded ``trio.CancelScope``). The caller then re-raises the library's own
  cancellation exception;
- run the awaitables returned by observe hooks as background tasks
  (asyncio tasks; under trio, tasks of a nursery that lives as long as the
  run);
- run a group of jobs whose failures are their own business (asyncio tasks;
  a trio nursery), for :func:`cuprum.concurrent.run_concurrent`.

trio and anyio are optional: nothing here imports them before a run happens
under them.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Protocol, TypeVar

import sniffio

from cuprum._loop_hub import loop_hub

if TYPE_CHECKING:
    import trio

    from cuprum import _native

_T = TypeVar("_T")

Job = Callable[[], Awaitable[None]]
"""A job of a :class:`TaskGroup`: raises nothing but the library's cancellation."""


class Semaphore(Protocol):
    """What :func:`~cuprum.concurrent.run_concurrent` needs of a semaphore."""

    async def acquire(self) -> object: ...

    def release(self) -> None: ...


class Observers(Protocol):
    """Background tasks running the awaitables that observe hooks return."""

    def schedule(self, awaitable: Awaitable[object], phase: str) -> None:
        """Start running ``awaitable`` in the background."""

    @property
    def error(self) -> BaseException | None:
        """Once settled: the first failure in scheduling order, or ``None``."""


class TaskGroup(Protocol):
    """Jobs started in order, each cancellable on its own; the group waits
    for every job when it closes."""

    async def start(self, job: Job, name: str) -> None:
        """Start ``job``; under trio, return once it has run to its first
        checkpoint, so jobs begin in the order they are started."""

    def cancel(self, position: int) -> None:
        """Cancel the job started at ``position`` (0 for the first)."""


class Library(Protocol):
    """One async library as the driver sees it."""

    def watching(
        self, handle: _native.Execution
    ) -> contextlib.AbstractContextManager[Callable[[], Awaitable[object]]]:
        """A context in which the returned callable waits until ``handle`` may
        have events or its outcome to take (it may also return early)."""

    def readable(
        self, fd: int
    ) -> contextlib.AbstractContextManager[Callable[[], Awaitable[object]]]:
        """A context in which the returned callable waits until ``fd`` is readable."""

    async def shielded(self, work: Callable[[], Awaitable[_T]]) -> _T:
        """Run ``work`` to completion even if cancelled meanwhile. ``work`` may
        be started again after a cancellation, so it must be restartable."""

    def observers(self) -> contextlib.AbstractAsyncContextManager[Observers]:
        """Observe tasks for one run; leaving the context settles them all."""

    def task_group(self) -> contextlib.AbstractAsyncContextManager[TaskGroup]:
        """A group of jobs. If the caller is cancelled, every job is
        cancelled and waited for before the cancellation propagates."""

    def semaphore(self, value: int) -> Semaphore:
        """A FIFO semaphore of this library."""


# -- asyncio -------------------------------------------------------------------


class _AsyncioObservers:
    def __init__(self) -> None:
        self.pending: list[asyncio.Future[object]] = []
        self.error: BaseException | None = None

    def schedule(self, awaitable: Awaitable[object], phase: str) -> None:
        if inspect.iscoroutine(awaitable):
            loop = asyncio.get_running_loop()
            self.pending.append(loop.create_task(awaitable, name=f"cuprum.observe.{phase}"))
        else:
            self.pending.append(asyncio.ensure_future(awaitable))

    async def settle(self) -> None:
        """Wait for every task, even through cancellations (the first of
        which is re-raised afterwards), and keep the first failure."""
        if not self.pending:
            return
        cancelled: asyncio.CancelledError | None = None
        with _anyio_shield():
            for future in self.pending:
                while not future.done():
                    try:
                        await asyncio.wait((future,))
                    except asyncio.CancelledError as exc:
                        cancelled = cancelled or exc
                if future.cancelled():
                    continue
                error = future.exception()
                if error is not None and not isinstance(error, Exception):
                    raise error
                self.error = self.error or error
        if cancelled is not None:
            raise cancelled


class _AsyncioGroup:
    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self, job: Job, name: str) -> None:
        self.tasks.append(asyncio.get_running_loop().create_task(_as_coroutine(job), name=name))

    def cancel(self, position: int) -> None:
        self.tasks[position].cancel()

    async def wait(self) -> None:
        # Restartable: it looks before it waits, so a cancellation that is
        # redelivered on every loop iteration cannot keep it from noticing
        # that the jobs are done.
        pending = [task for task in self.tasks if not task.done()]
        if pending:
            await asyncio.wait(pending)


async def _as_coroutine(job: Job) -> None:
    await job()


class _Asyncio:
    def watching(
        self, handle: _native.Execution
    ) -> contextlib.AbstractContextManager[Callable[[], Awaitable[object]]]:
        return loop_hub().watching(handle)

    @contextlib.contextmanager
    def readable(self, fd: int) -> Iterator[Callable[[], Awaitable[object]]]:
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()

        async def wait() -> None:
            await ready.wait()
            ready.clear()

        loop.add_reader(fd, ready.set)
        try:
            yield wait
        finally:
            loop.remove_reader(fd)

    async def shielded(self, work: Callable[[], Awaitable[_T]]) -> _T:
        with _anyio_shield():
            while True:
                try:
                    return await work()
                except asyncio.CancelledError:
                    continue

    @contextlib.asynccontextmanager
    async def observers(self) -> AsyncIterator[Observers]:
        observers = _AsyncioObservers()
        yield observers
        await observers.settle()

    @contextlib.asynccontextmanager
    async def task_group(self) -> AsyncIterator[TaskGroup]:
        group = _AsyncioGroup()
        try:
            yield group
            await group.wait()
        except BaseException:
            # Cancel each job once; do not cancel again when the caller's
            # cancellation is redelivered (anyio does so on every iteration).
            for task in group.tasks:
                task.cancel()
            await self.shielded(group.wait)
            raise

    def semaphore(self, value: int) -> Semaphore:
        return asyncio.Semaphore(value)


def _anyio_shield() -> contextlib.AbstractContextManager[object]:
    """An anyio shield when anyio is loaded, else nothing.

    On its asyncio back end, a cancelled anyio scope cancels its task again
    on every loop iteration until the task leaves the scope; inside a shield
    it stops, so a teardown waits without spinning. The scope works in any
    asyncio task, whether or not anyio started it.
    """
    anyio = sys.modules.get("anyio")
    if anyio is None:
        return contextlib.nullcontext()
    shield: contextlib.AbstractContextManager[object] = anyio.CancelScope(shield=True)
    return shield


# -- trio ----------------------------------------------------------------------


class _TrioObservers:
    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        self._errors: list[BaseException | None] = []

    def schedule(self, awaitable: Awaitable[object], phase: str) -> None:
        position = len(self._errors)
        self._errors.append(None)
        self._nursery.start_soon(self._settle, awaitable, position, name=f"cuprum.observe.{phase}")

    async def _settle(self, awaitable: Awaitable[object], position: int) -> None:
        import trio

        # Like asyncio's observe tasks, these finish even when the run is
        # cancelled.
        with trio.CancelScope(shield=True):
            try:
                await awaitable
            except Exception as exc:  # raised by the driver
                self._errors[position] = exc

    @property
    def error(self) -> BaseException | None:
        return next((error for error in self._errors if error is not None), None)


class _TrioGroup:
    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        self._scopes: list[trio.CancelScope] = []

    async def start(self, job: Job, name: str) -> None:
        import trio

        scope = trio.CancelScope()
        self._scopes.append(scope)
        await self._nursery.start(self._guard, job, scope, name=name)

    @staticmethod
    async def _guard(job: Job, scope: trio.CancelScope, task_status: trio.TaskStatus[None]) -> None:
        import trio

        task_status.started()
        try:
            with scope:
                await job()
        except trio.Cancelled:
            # The group's own task was cancelled; it re-raises once every
            # job is done.
            return

    def cancel(self, position: int) -> None:
        self._scopes[position].cancel()


class _Trio:
    def watching(
        self, handle: _native.Execution
    ) -> contextlib.AbstractContextManager[Callable[[], Awaitable[object]]]:
        # trio lets one task at a time wait on a descriptor: each run waits
        # on its own.
        return self.readable(handle.notify_fd())

    @contextlib.contextmanager
    def readable(self, fd: int) -> Iterator[Callable[[], Awaitable[object]]]:
        import trio

        yield lambda: trio.lowlevel.wait_readable(fd)

    async def shielded(self, work: Callable[[], Awaitable[_T]]) -> _T:
        import trio

        with trio.CancelScope(shield=True):
            return await work()
        # A shielded scope that is never cancelled catches nothing.
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.asynccontextmanager
    async def observers(self) -> AsyncIterator[Observers]:
        import trio

        async with trio.open_nursery() as nursery:
            yield _TrioObservers(nursery)

    @contextlib.asynccontextmanager
    async def task_group(self) -> AsyncIterator[TaskGroup]:
        import trio

        cancelled: trio.Cancelled | None = None
        # The jobs never raise into the nursery and neither does the body
        # (a cancellation is held until the nursery has closed), so nothing
        # arrives wrapped in an exception group.
        async with trio.open_nursery() as nursery:
            try:
                yield _TrioGroup(nursery)
            except trio.Cancelled as exc:
                cancelled = exc
        if cancelled is not None:
            raise cancelled
        # Cancelled while the nursery waited for its jobs.
        await trio.lowlevel.checkpoint_if_cancelled()

    def semaphore(self, value: int) -> Semaphore:
        import trio

        return trio.Semaphore(value)


_ASYNCIO = _Asyncio()
_TRIO = _Trio()


def current() -> Library:
    """The adapter for the async library running this coroutine.

    Raises:
        RuntimeError: no async library is running, or one cuprum does not
            support.
    """
    try:
        name = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        msg = (
            "`run()` must be awaited under asyncio, trio or anyio; "
            "no running async library was found (use `run_sync()` outside one)"
        )
        raise RuntimeError(msg) from None
    if name == "asyncio":
        return _ASYNCIO
    if name == "trio":
        return _TRIO
    msg = f"cuprum runs under asyncio, trio or anyio, not under {name!r}"
    raise RuntimeError(msg)
