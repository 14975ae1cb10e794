"""One engine hub per asyncio event loop.

Every run awaited on a loop is watched by that loop's :class:`_native.Hub`:
the loop waits on the hub's one descriptor (registered once, with
``loop.add_reader``) instead of on a descriptor per run, so starting or
finishing a run costs the loop no descriptor to create, register,
unregister and close, and a burst of runs finishing together wakes it once.

The hub is made when a run is first awaited on the loop and closed once a
full loop iteration passes with no run watched; back-to-back runs and
overlapping bursts share one. Runs hold their hub weakly, so closing it is
immediate and a closed loop keeps no descriptor open.

A run's token is the ``id()`` of its handle, so watching the same handle
again (the shielded teardown after a cancellation does) reuses it. A token
that arrives for a run no longer watched is dropped; one that arrives while
its run is not waiting is kept until it waits: a wake-up is never lost, and
a spurious one only makes the run look once more.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from collections.abc import Awaitable, Callable, Iterator

from cuprum import _native


class _Watch:
    """One watched run: whether its token arrived, and who waits for it."""

    __slots__ = ("ready", "waiter")

    def __init__(self) -> None:
        self.ready = False
        self.waiter: asyncio.Future[None] | None = None

    async def wait(self) -> None:
        if not self.ready:
            waiter = asyncio.get_running_loop().create_future()
            self.waiter = waiter
            try:
                await waiter
            finally:
                self.waiter = None
        self.ready = False


class _LoopHub:
    """The hub of one event loop. It holds no reference to the loop: a
    loop that is dropped takes its hub with it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.hub = _native.Hub()
        self.fd = self.hub.fileno()
        self.watches: dict[int, _Watch] = {}
        self.closing = False
        loop.add_reader(self.fd, self._on_ready)

    def _on_ready(self) -> None:
        watches = self.watches
        for token in self.hub.take():
            watch = watches.get(token)
            if watch is None:
                continue
            watch.ready = True
            waiter = watch.waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    @contextlib.contextmanager
    def watching(self, handle: _native.Execution) -> Iterator[Callable[[], Awaitable[None]]]:
        token = id(handle)
        handle.watch(self.hub, token)
        watch = self.watches[token] = _Watch()
        try:
            yield watch.wait
        finally:
            self.watches.pop(token, None)
            if not self.watches and not self.closing:
                self.closing = True
                asyncio.get_running_loop().call_soon(self._close_if_idle)

    def _close_if_idle(self) -> None:
        self.closing = False
        if self.watches:
            return
        loop = asyncio.get_running_loop()
        if _hubs.get(loop) is self:
            del _hubs[loop]
        loop.remove_reader(self.fd)
        # The last reference: the descriptor closes now.
        del self.hub


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopHub] = weakref.WeakKeyDictionary()
# A child made by `fork()` has an engine of its own: it starts without hubs.
os.register_at_fork(after_in_child=_hubs.clear)


def loop_hub() -> _LoopHub:
    """The running loop's hub, made on first use."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = _LoopHub(loop)
    return hub
