"""Typed use of the private engine boundary, checked with ``mypy --strict``
(never run): each event kind narrows its value's type, and ``SpawnSpec``
takes only the route kinds it knows."""

from __future__ import annotations

from typing import Literal, assert_type

from cuprum import _native


def values_by_kind(events: list[_native.Event]) -> None:
    for event in events:
        if event[0] == _native.START:
            assert_type(event[2], tuple[int, str])
        elif event[0] == _native.STDIN:
            assert_type(event[2], int)
        elif event[0] == _native.STDIN_WANTED:
            assert_type(event[2], None)
        elif event[0] == _native.STDIN_ERROR:
            operation, code, message = event[2]
            assert_type(operation, Literal["write", "close"])
            assert_type(code, int | None)
            assert_type(message, str)
        elif event[0] == _native.STDOUT or event[0] == _native.STDERR:
            assert_type(event[2], list[str])
        elif event[0] == _native.ECHO_STDOUT or event[0] == _native.ECHO_STDERR:
            assert_type(event[2], bytes)
        elif event[0] == _native.EXIT:
            assert_type(event[2], tuple[int, float])


def routes() -> None:
    _native.SpawnSpec([[b"true"]], stdin=b"payload", stdout=("append", b"log"), stderr="stdout")
    _native.SpawnSpec([[b"true"]], stdout="echo", echo_stdout="events")
    _native.SpawnSpec([[b"true"]], stdin="pipe")  # type: ignore[arg-type]
    _native.SpawnSpec([[b"true"]], stdout="stdout")  # type: ignore[arg-type]
    _native.SpawnSpec([[b"true"]], echo_stdout=-1.0)  # type: ignore[arg-type]
