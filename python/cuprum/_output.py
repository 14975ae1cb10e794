"""Where a run's output goes besides capture: echo sinks and Python-side
line events (for codecs the engine does not decode)."""

from __future__ import annotations

import codecs
import io
import re
import typing as t
from typing import IO

from cuprum import _native


def is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def _raw_target(sink: IO[str] | IO[bytes]) -> IO[bytes] | None:
    """Where raw bytes go for ``sink``: its ``buffer`` (a text stream over a
    binary one), the sink itself when it is binary, else ``None`` (text only)."""
    buffer: IO[bytes] | None = getattr(sink, "buffer", None)
    if buffer is not None:
        return buffer
    if isinstance(sink, io.RawIOBase | io.BufferedIOBase) or "b" in str(getattr(sink, "mode", "")):
        return t.cast("IO[bytes]", sink)
    return None


class Echo:
    """Where one stream's echo goes: a descriptor the engine writes, or a
    Python sink this process writes: raw bytes to ``sink.buffer`` or to a
    binary sink, else text decoded incrementally so multibyte characters are
    never split."""

    __slots__ = ("_buffer", "_decoder", "_sink", "fd")

    def __init__(
        self, sink: IO[str] | IO[bytes], encoding: str, errors: str, *, allow_fd: bool
    ) -> None:
        self._sink = t.cast("IO[str]", sink)
        self._buffer = _raw_target(sink)
        self._decoder: codecs.IncrementalDecoder | None = None
        self.fd: int | None = None
        if self._buffer is not None and allow_fd:
            try:
                fd = self._buffer.fileno()
            except (AttributeError, OSError, ValueError):
                fd = None
            if fd is not None:
                sink.flush()
                self._buffer.flush()
                self.fd = fd
        else:
            self._decoder = codecs.getincrementaldecoder(encoding)(errors)

    @property
    def native(self) -> int | t.Literal["events"]:
        """The echo target of ``_native.SpawnSpec`` (``echo_stdout``,
        ``echo_stderr``): the descriptor, else ``"events"`` (this process
        writes the chunks)."""
        return self.fd if self.fd is not None else "events"

    def write(self, chunk: bytes) -> None:
        if self._buffer is not None:
            self._buffer.write(chunk)
            self._buffer.flush()
        elif self._decoder is not None:
            text = self._decoder.decode(chunk)
            if text:
                self._sink.write(text)
                self._sink.flush()

    def close(self) -> None:
        if self._decoder is not None:
            text = self._decoder.decode(b"", final=True)
            if text:
                self._sink.write(text)
                self._sink.flush()


_SURROGATE = re.compile("[\ud800-\udfff]")
# Line boundaries the splitter keeps in the line's text (it strips only one
# trailing "\r\n", "\n" or "\r").
_KEPT_BOUNDARIES = frozenset("\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


class TextLines:
    """Line events for a codec or error handler the engine does not decode:
    Python decodes incrementally, the engine's splitter cuts lines.

    Handlers such as ``surrogateescape`` produce lone surrogates, which the
    engine's strings cannot hold. The splitter therefore sees a copy with
    each surrogate replaced by one non-boundary character (same length), and
    every line it returns is cut from the decoded text kept here.
    """

    __slots__ = ("_decoder", "_held", "_splitter")

    def __init__(self, encoding: str, errors: str) -> None:
        self._decoder = codecs.getincrementaldecoder(encoding)(errors)
        self._splitter = _native.LineSplitter()
        self._held = ""

    def feed(self, chunk: bytes) -> list[str]:
        text = self._decoder.decode(chunk)
        return self._cut(self._splitter.feed(_SURROGATE.sub("\ufffd", text)), text)

    def finish(self) -> list[str]:
        text = self._decoder.decode(b"", final=True)
        proxies = self._splitter.feed(_SURROGATE.sub("\ufffd", text)) + self._splitter.finish()
        return self._cut(proxies, text)

    def _cut(self, proxies: list[str], text: str) -> list[str]:
        held = self._held + text
        lines: list[str] = []
        start = 0
        for proxy in proxies:
            end = start + len(proxy)
            lines.append(held[start:end])
            if end > start and held[end - 1] in _KEPT_BOUNDARIES:
                start = end
            elif held.startswith("\r\n", end):
                start = end + 2
            elif held.startswith(("\r", "\n"), end):
                start = end + 1
            else:
                start = end
        self._held = held[start:]
        return lines
