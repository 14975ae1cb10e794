"""Shared pytest fixtures."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

import pytest


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
