"""The native stream pump and stream reader.

Thin wrappers over :mod:`cuprum._native`: all checks, I/O and decoding
happen in the engine, with the GIL released.
"""

from __future__ import annotations

from cuprum import _native

__all__ = ["DEFAULT_BUFFER_SIZE", "rust_consume_stream", "rust_pump_stream"]

DEFAULT_BUFFER_SIZE = 65536


def rust_pump_stream(
    reader_fd: int, writer_fd: int, *, buffer_size: int = DEFAULT_BUFFER_SIZE
) -> int:
    """Copy everything from ``reader_fd`` to ``writer_fd``.

    On Linux the bytes move with ``splice(2)`` when either descriptor is a
    pipe; otherwise (or when the kernel refuses) a read/write loop copies
    them. ``reader_fd`` is borrowed and never closed. ``writer_fd`` is
    consumed: it is closed before the call returns, on success or error, so
    the far end sees end of input.

    If the writer's far end goes away (broken pipe or connection reset), the
    pump stops writing, reads and discards ``reader_fd`` to end of input and
    returns the bytes delivered until then.

    Args:
        reader_fd: descriptor to read from.
        writer_fd: descriptor to write to; ownership passes to this call.
        buffer_size: most bytes moved per system call, ``1 <= n <= 2**30``.

    Returns:
        The number of bytes the writer accepted.

    Raises:
        ValueError: ``buffer_size`` is out of range, or a descriptor is
            negative or beyond a C ``int`` (checked in that order, before any
            descriptor is touched).
        OSError: a system call failed; ``errno`` is set and the subclass
            matches it (for example ``errno == EBADF`` for a closed reader).
    """
    return _native.rust_pump_stream(reader_fd, writer_fd, buffer_size)


def rust_consume_stream(reader_fd: int, *, buffer_size: int = DEFAULT_BUFFER_SIZE) -> str:
    """Read ``reader_fd`` to end of input and decode it as UTF-8.

    Invalid input becomes U+FFFD, one per maximal invalid sequence and one
    for an incomplete sequence at the end; the result does not depend on
    ``buffer_size``. The descriptor is never closed.

    Args:
        reader_fd: descriptor to read from.
        buffer_size: most bytes read per system call, ``1 <= n <= 2**30``.

    Returns:
        The decoded text.

    Raises:
        ValueError: ``buffer_size`` or ``reader_fd`` is out of range.
        OSError: a read failed (for example :class:`IsADirectoryError`).
    """
    return _native.rust_consume_stream(reader_fd, buffer_size)
