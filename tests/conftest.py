"""Shared pytest fixtures."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cuprum import _native
from cuprum.sh import Pipeline, SafeCmd, SafeCmdBuilder, make
from helpers import FIXTURE, TEST_CATALOGUE


@pytest.fixture
def make_pipe() -> Iterator[Callable[[], tuple[int, int]]]:
    """Create pipes with ``os.pipe()``; any end still open is closed at teardown."""
    created: list[int] = []

    def make() -> tuple[int, int]:
        read_fd, write_fd = os.pipe()
        created.extend((read_fd, write_fd))
        return read_fd, write_fd

    yield make
    for fd in created:
        with contextlib.suppress(OSError):
            os.close(fd)


@pytest.fixture
def spawned_specs(monkeypatch: pytest.MonkeyPatch) -> list[_native.SpawnSpec]:
    """Every spec the runs hand to the engine, in order (they still run)."""
    seen: list[_native.SpawnSpec] = []
    real_spawn = _native.spawn

    def spawn(spec: _native.SpawnSpec, **kwargs: Any) -> Any:
        seen.append(spec)
        return real_spawn(spec, **kwargs)

    monkeypatch.setattr(_native, "spawn", spawn)
    return seen


@pytest.fixture
def fx() -> SafeCmdBuilder:
    """Builds commands running the fixture program: ``fx("echo", "hi")``."""
    return make(FIXTURE, catalogue=TEST_CATALOGUE)


@pytest.fixture(params=["sync", "async"])
def runner(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Runs a command or pipeline with ``run_sync(**kw)`` or, in a fresh event
    loop, ``await run(**kw)``: tests taking it run once per flavour."""

    def run(target: SafeCmd | Pipeline, **kwargs: Any) -> Any:
        if request.param == "sync":
            return target.run_sync(**kwargs)
        return asyncio.run(target.run(**kwargs))

    return run
