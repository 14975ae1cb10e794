"""I/O routing: where a child's stdin comes from and its stdout and stderr go.

``run()``/``run_sync()`` of commands and pipelines take ``stdin=``,
``stdout=`` and ``stderr=``:

- a path (``os.PathLike``), :class:`Append`, an ``int`` descriptor, an object
  with ``fileno()`` and :data:`DEVNULL` are handed to the child itself: the
  engine opens files close-on-exec and installs them as the child's
  descriptor 0, 1 or 2, so no byte passes through cuprum;
- ``stderr=STDOUT`` is ``2>&1``;
- an iterable or async iterable of ``bytes`` as ``stdin`` is streamed: the
  engine asks for one chunk at a time, once the previous one is written;
- :data:`PIPE` is for live processes (``start()``), not for ``run()``.

A redirected stream is neither captured (its result field is ``None``) nor
echoed, and produces no line events. This module turns those values into
the engine's routes; the users' guide page "Routing input and output" has
the whole story.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Final, Literal, Protocol, TypeAlias, overload

from cuprum._options import ExecutionContext, StdinInput

if TYPE_CHECKING:
    from cuprum import _native

__all__ = [
    "DEVNULL",
    "PIPE",
    "STDOUT",
    "Append",
    "ErrorTarget",
    "HasFileno",
    "OutputTarget",
    "Redirect",
    "StdinSource",
]


class Redirect(enum.Enum):
    """The special routes: :data:`DEVNULL`, :data:`STDOUT`, :data:`PIPE`."""

    DEVNULL = "DEVNULL"
    """The null device: no input, output thrown away."""
    STDOUT = "STDOUT"
    """``stderr`` only: wherever stdout goes (``2>&1``)."""
    PIPE = "PIPE"
    """A pipe to a live process's stream (``start()`` only)."""

    def __repr__(self) -> str:
        return f"cuprum.{self.name}"


DEVNULL: Final = Redirect.DEVNULL
STDOUT: Final = Redirect.STDOUT
PIPE: Final = Redirect.PIPE


@dataclasses.dataclass(frozen=True, slots=True)
class Append:
    """An output file opened for appending (created if missing): the shell's
    ``>> path``."""

    path: str | os.PathLike[str]

    def __post_init__(self) -> None:
        path: object = self.path
        if not isinstance(path, str | os.PathLike):
            msg = f"Append() needs a path (str or os.PathLike), got {type(path).__name__}"
            raise TypeError(msg)


class HasFileno(Protocol):
    """An object backed by a descriptor: an open file, a socket."""

    def fileno(self) -> int: ...


StdinSource: TypeAlias = (
    StdinInput
    | os.PathLike[str]
    | int
    | HasFileno
    | Literal[Redirect.DEVNULL]
    | Iterable[bytes]
    | AsyncIterable[bytes]
)
"""What ``stdin=`` of ``run()`` accepts."""
OutputTarget: TypeAlias = os.PathLike[str] | Append | int | HasFileno | Literal[Redirect.DEVNULL]
"""What ``stdout=`` of ``run()`` accepts."""
ErrorTarget: TypeAlias = OutputTarget | Literal[Redirect.STDOUT]
"""What ``stderr=`` of ``run()`` accepts."""

# subprocess's constants are small negative ints; a user switching over may
# pass them where cuprum expects a descriptor.
_SUBPROCESS_CONSTANTS = {-1: "PIPE", -2: "STDOUT", -3: "DEVNULL"}


@dataclasses.dataclass(frozen=True, slots=True)
class Routes:
    """The routes of one run: the stdin payload (``StdinInput``), each
    redirected stream's engine route (``None``: not redirected), and the feed
    of a streamed stdin. ``keep`` holds the objects whose descriptors the
    engine borrows until it spawns."""

    payload: bytes | None = None
    stdin: _native.StdinRoute | None = None
    stdout: _native.OutputRoute | None = None
    stderr: _native.ErrorRoute | None = None
    feed: StdinFeed | None = None
    keep: tuple[object, ...] = ()


_UNROUTED = Routes()
"""The routes of a run that redirects nothing (most runs): one shared value."""


def routes(stdin: object, stdout: object, stderr: object, ctx: ExecutionContext) -> Routes:
    """Check and normalise ``stdin=``, ``stdout=`` and ``stderr=`` (before
    anything is spawned).

    Raises:
        TypeError: a value of a kind the stream does not take (a bare
            ``str``/``bytes`` as ``stdin`` names the spellings that work).
        ValueError: :data:`PIPE` (``start()`` only), :data:`STDOUT` outside
            ``stderr``, a negative descriptor.
    """
    if stdin is None and stdout is None and stderr is None:
        return _UNROUTED
    payload: bytes | None = None
    stdin_route: _native.StdinRoute | None = None
    feed: StdinFeed | None = None
    if isinstance(stdin, StdinInput):
        payload = stdin.resolve(ctx)
    elif stdin is not None:
        stdin_route, feed = _stdin(stdin)
    return Routes(
        payload=payload,
        stdin=stdin_route,
        stdout=_output(stdout, "stdout"),
        stderr=_output(stderr, "stderr"),
        feed=feed,
        keep=(stdin, stdout, stderr),
    )


def stdin_route(
    route: _native.StdinRoute | None, payload: bytes | None, *, live: bool, pipeline: bool
) -> _native.StdinRoute:
    """The engine's stdin route: live (``start(stdin=PIPE)``), the payload,
    the route of ``stdin=``, else inherited — or, for a pipeline, the null
    device, as in a shell."""
    if live:
        return "live"
    if payload is not None:
        return payload
    if route is not None:
        return route
    return "null" if pipeline else "inherit"


@overload
def output_route(
    route: _native.OutputRoute | None,
    echo: _native.EchoTarget,
    *,
    live: bool,
    capture: bool,
) -> tuple[_native.OutputRoute, _native.EchoTarget]: ...
@overload
def output_route(
    route: _native.ErrorRoute | None,
    echo: _native.EchoTarget,
    *,
    live: bool,
    capture: bool,
) -> tuple[_native.ErrorRoute, _native.EchoTarget]: ...
def output_route(
    route: _native.ErrorRoute | None,
    echo: _native.EchoTarget,
    *,
    live: bool,
    capture: bool,
) -> tuple[_native.ErrorRoute, _native.EchoTarget]:
    """An output stream's engine route and echo target: a redirected stream
    goes to its target alone (never echoed); any other is read by the
    engine — live, captured, or only echoed — or else thrown away."""
    if route is not None:
        return route, None
    if live:
        return "live", echo
    if capture:
        return "capture", echo
    if echo is not None:
        return "echo", echo
    return "null", None


def _stdin(value: object) -> tuple[_native.StdinRoute, StdinFeed | None]:
    if isinstance(value, str | bytes | bytearray | memoryview):
        kind = type(value).__name__
        msg = (
            f"`stdin` does not take a bare {kind}: pass StdinInput(text=...) to send text, "
            "StdinInput(data=...) to send bytes, or Path(...) to read a file"
        )
        raise TypeError(msg)
    if isinstance(value, Redirect):
        if value is DEVNULL:
            return "null", None
        if value is PIPE:
            msg = "`stdin=PIPE` needs a live process (`start()`); `run()` cannot write to it"
            raise ValueError(msg)
        msg = "`stdin` cannot be STDOUT: STDOUT is only for `stderr` (2>&1)"
        raise ValueError(msg)
    route = _file(value, "stdin")
    if route is not None:
        return route, None
    if isinstance(value, AsyncIterable | Iterable):
        return "stream", StdinFeed(value)
    msg = (
        f"`stdin` does not take {type(value).__name__}: pass StdinInput, a path, a descriptor, "
        "a file, DEVNULL, or an iterable or async iterable of bytes"
    )
    raise TypeError(msg)


@overload
def _output(value: object, name: Literal["stdout"]) -> _native.OutputRoute | None: ...
@overload
def _output(value: object, name: Literal["stderr"]) -> _native.ErrorRoute | None: ...
def _output(value: object, name: Literal["stdout", "stderr"]) -> _native.ErrorRoute | None:
    if value is None:
        return None
    if isinstance(value, Redirect):
        if value is DEVNULL:
            return "null"
        if value is STDOUT and name == "stderr":
            return "stdout"
        if value is PIPE:
            msg = (
                f"`{name}=PIPE` needs a live process (`start()`); "
                f"`run()` captures {name} by default"
            )
            raise ValueError(msg)
        msg = "`stdout` cannot be STDOUT: STDOUT is only for `stderr` (2>&1)"
        raise ValueError(msg)
    if isinstance(value, Append):
        return ("append", os.fsencode(value.path))
    if isinstance(value, str | bytes):
        msg = (
            f"`{name}` does not take a bare {type(value).__name__}: pass Path(...) to write "
            "a file or Append(...) to append to one"
        )
        raise TypeError(msg)
    route = _file(value, name)
    if route is None:
        msg = (
            f"`{name}` does not take {type(value).__name__}: pass a path, Append(...), "
            "a descriptor, a file or DEVNULL" + (", or STDOUT" if name == "stderr" else "")
        )
        raise TypeError(msg)
    if not isinstance(value, int | os.PathLike):
        _flush(value)
    return route


def _file(
    value: object, name: str
) -> tuple[Literal["path"], bytes] | tuple[Literal["fd"], int] | None:
    """The route of a path, a descriptor or an object with ``fileno()``;
    ``None`` for anything else."""
    if isinstance(value, bool):
        msg = f"`{name}` does not take a bool"
        raise TypeError(msg)
    if isinstance(value, int):
        return ("fd", _descriptor(value, name))
    if isinstance(value, os.PathLike):
        return ("path", os.fsencode(value))
    fileno = getattr(value, "fileno", None)
    if not callable(fileno):
        return None
    try:
        fd = fileno()
    except (OSError, ValueError) as error:
        # io.BytesIO/StringIO have fileno() but no descriptor; a closed file
        # raises ValueError.
        msg = (
            f"`{name}` got a {type(value).__name__} without a usable descriptor ({error}); "
            "pass a real file, or its contents as StdinInput(data=...)"
        )
        raise TypeError(msg) from error
    return ("fd", _descriptor(fd, name))


def _descriptor(fd: int, name: str) -> int:
    if fd < 0:
        hint = _SUBPROCESS_CONSTANTS.get(fd)
        extra = f" (subprocess.{hint}? use cuprum.{hint})" if hint else ""
        msg = f"`{name}` descriptor {fd} is negative{extra}"
        raise ValueError(msg)
    return fd


def _flush(target: object) -> None:
    """Write out a file object's own buffer first, so what the caller wrote
    before the run comes before the child's output."""
    flush = getattr(target, "flush", None)
    if callable(flush):
        with contextlib.suppress(OSError, ValueError):
            flush()


class StdinFeed:
    """The chunks of an iterable or async iterable ``stdin``, pulled one at a
    time when the engine asks for the next (a ``STDIN_WANTED`` event). Only
    the chunk being written is held: nothing is collected in memory."""

    __slots__ = ("_iterator", "is_async", "source", "wanted")

    def __init__(self, source: Iterable[object] | AsyncIterable[object]) -> None:
        self.source = source
        self.is_async = isinstance(source, AsyncIterable)
        self.wanted = False
        self._iterator: Iterator[object] | AsyncIterator[object] | None = None

    def feed_sync(self, handle: _native.Execution) -> None:
        """Answer the engine's request, if any, with the next chunk."""
        if not self.wanted:
            return
        self.wanted = False
        if self._iterator is None:
            self._iterator = iter(self.source)  # type: ignore[arg-type]
        iterator = self._iterator
        assert isinstance(iterator, Iterator)
        for chunk in iterator:
            data = _chunk(chunk)
            if data:
                handle.feed_stdin(data)
                return
        handle.feed_stdin(None)

    async def feed_async(self, handle: _native.Execution) -> None:
        """Answer the engine's request, if any, with the next chunk; an async
        iterable is awaited."""
        if not self.wanted:
            return
        if not self.is_async:
            self.feed_sync(handle)
            return
        self.wanted = False
        if self._iterator is None:
            self._iterator = aiter(self.source)  # type: ignore[arg-type]
        iterator = self._iterator
        assert isinstance(iterator, AsyncIterator)
        while True:
            try:
                chunk = await anext(iterator)
            except StopAsyncIteration:
                handle.feed_stdin(None)
                return
            data = _chunk(chunk)
            if data:
                handle.feed_stdin(data)
                return

    def close_sync(self) -> None:
        """Close a generator that was not run to its end."""
        close = getattr(self._iterator, "close", None)
        if callable(close):
            close()

    async def close_async(self) -> None:
        """Close a generator or async generator not run to its end."""
        aclose = getattr(self._iterator, "aclose", None)
        if callable(aclose):
            await aclose()
            return
        self.close_sync()


def _chunk(chunk: object) -> bytes:
    if type(chunk) is bytes:
        return chunk
    if isinstance(chunk, bytes | bytearray | memoryview):
        return bytes(chunk)
    msg = f"`stdin` chunks must be bytes, got {type(chunk).__name__}"
    raise TypeError(msg)
