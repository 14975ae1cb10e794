"""The async libraries the tests run cuprum under, behind one small interface.

A :class:`Flavour` is a library as a user meets it: plain asyncio, plain
trio, or anyio on its asyncio or trio back end. Each offers the same few
primitives (run, sleep, an event, a task group, the current time), each
built from that library's own API, so one test body checks every library.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from types import ModuleType
from typing import Any, Protocol, TypeVar

import anyio
import pytest
import trio

_T = TypeVar("_T")


class Event(Protocol):
    def set(self) -> None: ...

    async def wait(self) -> Any: ...


class TaskGroup(Protocol):
    def start_soon(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any: ...


@dataclasses.dataclass(frozen=True)
class Flavour:
    """One async library (``anyio-*``: anyio on that back end)."""

    name: str

    @property
    def backend(self) -> str:
        """The event loop underneath: ``"asyncio"`` or ``"trio"``."""
        return self.name.removeprefix("anyio-")

    @property
    def scopes(self) -> ModuleType:
        """The module whose cancel scopes the test uses (trio or anyio)."""
        if self.name == "asyncio":
            msg = "plain asyncio has no cancel scopes"
            raise TypeError(msg)
        return trio if self.name == "trio" else anyio

    @property
    def cancelled(self) -> type[BaseException]:
        """The library's cancellation exception."""
        return trio.Cancelled if self.backend == "trio" else asyncio.CancelledError

    @property
    def too_slow(self) -> type[BaseException]:
        """What ``fail_after`` raises."""
        return trio.TooSlowError if self.name == "trio" else TimeoutError

    def run(self, main: Callable[[], Awaitable[_T]]) -> _T:
        if self.name == "asyncio":

            async def wrapper() -> _T:
                return await main()

            return asyncio.run(wrapper())
        if self.name == "trio":
            return trio.run(main)
        return anyio.run(main, backend=self.backend)

    async def sleep(self, seconds: float) -> None:
        if self.name == "asyncio":
            await asyncio.sleep(seconds)
        elif self.name == "trio":
            await trio.sleep(seconds)
        else:
            await anyio.sleep(seconds)

    def event(self) -> Event:
        if self.name == "asyncio":
            return asyncio.Event()
        if self.name == "trio":
            return trio.Event()
        return anyio.Event()

    @contextlib.asynccontextmanager
    async def task_group(self) -> AsyncIterator[TaskGroup]:
        if self.name == "asyncio":
            async with asyncio.TaskGroup() as group:
                yield _AsyncioGroup(group)
        elif self.name == "trio":
            async with trio.open_nursery() as nursery:
                yield nursery
        else:
            async with anyio.create_task_group() as group:
                yield group


@dataclasses.dataclass
class _AsyncioGroup:
    group: asyncio.TaskGroup

    def start_soon(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        async def call() -> None:
            await fn(*args)

        self.group.create_task(call())


ALL = [Flavour("asyncio"), Flavour("trio"), Flavour("anyio-asyncio"), Flavour("anyio-trio")]
"""Every library cuprum runs under."""

SCOPED = ALL[1:]
"""The libraries with cancel scopes (trio, and anyio on both back ends)."""


def flavour_ids(flavours: list[Flavour]) -> list[Any]:
    return [pytest.param(flavour, id=flavour.name) for flavour in flavours]


class Ticker:
    """Measures the longest gap between wake-ups of a task that sleeps
    ``interval`` seconds at a time: a stalled event loop shows as a gap."""

    def __init__(self, flavour: Flavour, interval: float = 0.005) -> None:
        self.flavour = flavour
        self.interval = interval
        self.longest = 0.0
        self.ticks = 0
        self.done = False

    async def run(self) -> None:
        last = time.monotonic()
        while not self.done:
            await self.flavour.sleep(self.interval)
            now = time.monotonic()
            self.longest = max(self.longest, now - last)
            self.ticks += 1
            last = now
