"""One engine hub per asyncio event loop.

Every run awaited on a loop is watched by that loop's :class:`_native.Hub`:
the loop waits on the hub's one descriptor (registered once, with
``loop.add_reader``) instead of on a descriptor per run, so starting or
finishing a run costs the loop no descriptor to create, register,
unregister and close, and a burst of runs finishing together wakes it once.

The hub is made when a run is first awaited on the loop and lives as long
as the loop: only the loop's reader registration holds it, so closing the
loop (which drops its registrations) closes the descriptor at once, with no
garbage collection. Keeping it between runs costs the loop nothing per run:
closing it when idle would cost a loop iteration after every run, and a new
descriptor for every burst. Runs hold their hub weakly.

A run's token is the ``id()`` of its handle, so watching the same handle
again (the shielded teardown after a cancellation does) reuses it. A token
that arrives for a run no longer watched is dropped; one that arrives while
its run is not waiting is kept until it waits: a wake-up is never lost, and
a spurious one only makes the run look once more.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Awaitable, Callable

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
    """The hub of one event loop. It holds no reference to the loop, and
    only the loop's reader registration holds it."""

    __slots__ = ("__weakref__", "fd", "hub", "watches")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.hub = _native.Hub()
        self.fd = self.hub.fileno()
        self.watches: dict[int, _Watch] = {}
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

    def watching(self, handle: _native.Execution) -> _Watching:
        return _Watching(self, handle)


class _Watching:
    """The context in which one run is watched (a class, not a generator:
    it is entered once per awaited run)."""

    __slots__ = ("hub", "token")

    def __init__(self, hub: _LoopHub, handle: _native.Execution) -> None:
        self.hub = hub
        self.token = id(handle)
        handle.watch(hub.hub, self.token)

    def __enter__(self) -> Callable[[], Awaitable[None]]:
        watch = self.hub.watches[self.token] = _Watch()
        return watch.wait

    def __exit__(self, *exc: object) -> None:
        self.hub.watches.pop(self.token, None)


# Each loop's hub, held weakly: the loop's reader registration keeps it.
_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.ref[_LoopHub]] = (
    weakref.WeakKeyDictionary()
)
# A child made by `fork()` has an engine of its own: it starts without hubs.
os.register_at_fork(after_in_child=_hubs.clear)


def loop_hub() -> _LoopHub:
    """The running loop's hub, made on first use."""
    loop = asyncio.get_running_loop()
    ref = _hubs.get(loop)
    hub = ref() if ref is not None else None
    if hub is None:
        hub = _LoopHub(loop)
        _hubs[loop] = weakref.ref(hub)
    return hub
