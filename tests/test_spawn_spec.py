"""The engine boundary: ``_native.SpawnSpec`` checks every field once, with a
typed error naming the field, and the events of a run cross as
``(kind, stage, value)`` with ``kind`` one of the module's int constants."""

from __future__ import annotations

import errno
import math
import os
from typing import Any

import pytest

from cuprum import _native
from helpers import FIXTURE_PATH

FIXTURE = os.fsencode(FIXTURE_PATH)
ECHO = [[FIXTURE, b"echo", b"hi"]]


def closed_fd() -> int:
    read, write = os.pipe()
    os.close(read)
    os.close(write)
    return read


@pytest.mark.parametrize(
    ("fields", "error", "names"),
    [
        ({"stages": []}, ValueError, "`stages` is empty"),
        ({"stages": [[FIXTURE], []]}, ValueError, "`stages[1]` is empty"),
        ({"stages": [["echo"]]}, TypeError, "stages"),
        ({"env": [("A", "b")]}, TypeError, "env"),
        ({"cwd": "/tmp"}, TypeError, "cwd"),
        ({"stdin": "pipe"}, ValueError, "`stdin`"),
        ({"stdin": 0}, TypeError, "`stdin`"),
        ({"stdin": ("path", "/tmp/x")}, TypeError, "`stdin` path"),
        ({"stdin": ("path", None)}, TypeError, "`stdin` path"),
        ({"stdin": ("append", b"/tmp/x")}, ValueError, "`stdin`"),
        ({"stdin": ("fd", -1)}, ValueError, "`stdin` descriptor -1"),
        ({"stdin": ("fd", True)}, TypeError, "`stdin` descriptor"),
        ({"stdin": ("null", b"x")}, ValueError, "`stdin`"),
        ({"stdout": "stdout"}, ValueError, "`stdout`"),
        ({"stdout": ("fd", "1")}, TypeError, "`stdout` descriptor"),
        ({"stdout": ("path",)}, TypeError, "`stdout`"),
        ({"stderr": "inherit"}, ValueError, "`stderr`"),
        ({"stdout": "echo"}, ValueError, '`stdout` "echo" needs `echo_stdout`'),
        ({"stderr": "echo"}, ValueError, '`stderr` "echo" needs `echo_stderr`'),
        ({"stdout": "null", "echo_stdout": 1}, ValueError, "`echo_stdout`"),
        ({"stdout": ("path", b"/tmp/x"), "echo_stdout": "events"}, ValueError, "`echo_stdout`"),
        ({"stderr": "stdout", "echo_stderr": 2}, ValueError, "`echo_stderr`"),
        ({"echo_stdout": "event"}, ValueError, "`echo_stdout`"),
        ({"echo_stdout": -1}, ValueError, "`echo_stdout` descriptor -1"),
        ({"echo_stderr": 1.5}, TypeError, "`echo_stderr` descriptor"),
        ({"decode": "latin-1"}, ValueError, "`decode`"),
        ({"relay": "fast"}, ValueError, "`relay`"),
        ({"timeout": math.nan}, ValueError, "`timeout`"),
        ({"timeout": "1"}, TypeError, "timeout"),
        ({"cancel_grace": -1.0}, ValueError, "`cancel_grace`"),
        ({"cancel_grace": math.nan}, ValueError, "`cancel_grace`"),
        ({"ok_codes": [[0], [1]]}, ValueError, "`ok_codes` has 2 entries for 1 stages"),
        ({"pass_fds": [3, -4]}, ValueError, "`pass_fds`"),
        ({"live_buffer": 4096}, ValueError, "`live_buffer` needs a live stream"),
        ({"stdout": "live", "live_buffer": 0}, ValueError, "`live_buffer`"),
    ],
)
def test_a_bad_or_contradictory_field_is_a_typed_error_naming_it(
    fields: dict[str, Any], error: type[Exception], names: str
) -> None:
    arguments: dict[str, Any] = {"stages": ECHO, **fields}
    with pytest.raises(error) as caught:
        _native.SpawnSpec(**arguments)
    assert names in str(caught.value)


def test_a_closed_descriptor_is_an_ebadf_oserror_naming_the_field() -> None:
    fd = closed_fd()
    for fields in ({"stdin": ("fd", fd)}, {"stdout": ("fd", fd)}, {"echo_stderr": fd}):
        with pytest.raises(OSError) as caught:
            _native.SpawnSpec(ECHO, **fields)
        assert caught.value.errno == errno.EBADF
        field = next(iter(fields))
        assert f"`{field}` descriptor {fd} cannot be used" in str(caught.value)


def test_every_route_the_package_produces_is_accepted() -> None:
    read, write = os.pipe()
    try:
        for stdin in ("inherit", "null", "stream", "live", b"data", ("path", b"/dev/null")):
            _native.SpawnSpec(ECHO, stdin=stdin)
        _native.SpawnSpec(ECHO, stdin=("fd", read))
        for stdout in ("capture", "live", "null", ("path", b"/dev/null")):
            _native.SpawnSpec(ECHO, stdout=stdout, stderr=stdout)
        _native.SpawnSpec(ECHO, stdout=("append", b"/dev/null"), stderr=("fd", write))
        _native.SpawnSpec(ECHO, stdout="echo", echo_stdout=write, stderr="stdout")
        _native.SpawnSpec(ECHO, stdout="live", echo_stdout="events", live_buffer=1 << 16)
    finally:
        os.close(read)
        os.close(write)


def drain(handle: _native.Execution) -> list[_native.Event]:
    events: list[_native.Event] = []
    while True:
        batch, finished = handle.wait_events(None)
        events.extend(batch)
        if finished:
            handle.close()
            return events


def test_a_spec_is_spawned_once() -> None:
    spec = _native.SpawnSpec(ECHO)
    drain(_native.spawn(spec, inline=True))
    with pytest.raises(ValueError, match="already spawned"):
        _native.spawn(spec)


def test_the_event_kinds_are_distinct_int_constants() -> None:
    kinds = {
        name: getattr(_native, name)
        for name in (
            "START",
            "STDIN",
            "STDIN_WANTED",
            "STDIN_ERROR",
            "STDOUT",
            "STDERR",
            "ECHO_STDOUT",
            "ECHO_STDERR",
            "EXIT",
        )
    }
    assert all(type(kind) is int for kind in kinds.values())
    assert len(set(kinds.values())) == len(kinds)


def test_a_run_reports_each_event_with_its_kind_and_typed_value() -> None:
    fed = _native.SpawnSpec([[FIXTURE, b"cat"]], stdin=b"fed\n", decode="utf-8", line_events=True)
    both = _native.SpawnSpec(
        [[FIXTURE, b"both", b"out", b"err"]],
        stdin="null",
        stderr="echo",
        echo_stderr="events",
        decode="utf-8",
        line_events=True,
    )
    events = drain(_native.spawn(fed, inline=True)) + drain(_native.spawn(both, inline=True))
    seen: list[tuple[int, object]] = []
    for event in events:
        assert event[1] == 0
        if event[0] == _native.START:
            pid, executable = event[2]
            assert pid > 0
            assert executable == str(FIXTURE_PATH)
            seen.append((event[0], None))
        elif event[0] == _native.EXIT:
            exit_code, duration = event[2]
            assert exit_code == 0
            assert duration >= 0.0
            seen.append((event[0], None))
        elif event[0] in {_native.STDIN, _native.STDOUT, _native.STDERR, _native.ECHO_STDERR}:
            seen.append((event[0], event[2]))
        else:
            pytest.fail(f"unexpected event {event!r}")
    assert sorted(seen, key=repr) == sorted(
        [
            (_native.START, None),
            (_native.STDIN, len(b"fed\n")),
            (_native.STDOUT, ["fed"]),
            (_native.EXIT, None),
            (_native.START, None),
            (_native.STDOUT, ["out"]),
            (_native.STDERR, ["err"]),
            (_native.ECHO_STDERR, b"err\n"),
            (_native.EXIT, None),
        ],
        key=repr,
    )


def test_consecutive_lines_of_one_stream_travel_as_one_event() -> None:
    spec = _native.SpawnSpec(
        [[FIXTURE, b"lines", b"500"]], stdin="null", decode="utf-8", line_events=True
    )
    events = drain(_native.spawn(spec, inline=True))
    batches = [event[2] for event in events if event[0] == _native.STDOUT]
    assert sum(len(lines) for lines in batches) == 500
    assert len(batches) < 500, "lines read together arrive as one list"
