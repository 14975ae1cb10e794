"""Selection of the stream backend from ``CUPRUM_STREAM_BACKEND``.

Every byte is moved by the native engine; the backend only chooses how.
``rust`` (and ``auto`` when the engine is available) lets the engine use its
zero-copy fast paths, such as ``splice(2)`` between pipes. ``python`` keeps
the same engine but makes it use its portable read/write copy loops: the
behaviour reference against which the fast paths are compared.

The variable is read (trimmed and case-insensitive) the first time a
pipeline relay needs a backend; the result is cached for the process and
later changes to the variable are ignored until
``get_stream_backend.cache_clear()``. A failed resolution is not cached.
"""

from __future__ import annotations

import enum
import functools
import logging
import os

from cuprum import rust

__all__ = [
    "ENV_VAR",
    "StreamBackend",
    "get_stream_backend",
    "set_rust_availability_for_testing",
]

ENV_VAR = "CUPRUM_STREAM_BACKEND"
_logger = logging.getLogger(__name__)


class StreamBackend(enum.StrEnum):
    """The values ``CUPRUM_STREAM_BACKEND`` accepts."""

    AUTO = "auto"
    RUST = "rust"
    PYTHON = "python"


def _requested_backend() -> StreamBackend:
    """Parse ``CUPRUM_STREAM_BACKEND``; unset or empty means ``auto``."""
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if not value:
        return StreamBackend.AUTO
    try:
        return StreamBackend(value)
    except ValueError:
        choices = ", ".join(sorted(member.value for member in StreamBackend))
        msg = f"invalid {ENV_VAR} value {value!r}; expected one of: {choices}"
        raise ValueError(msg) from None


@functools.cache
def get_stream_backend() -> StreamBackend:
    """Resolve the stream backend for this process.

    ``python`` is returned without probing the native module. ``auto``
    resolves to ``rust`` when :func:`cuprum.rust.is_rust_available` is true
    and to ``python`` otherwise (also when the probe raises
    :class:`ImportError`). ``rust`` requires the native module.

    Returns:
        :attr:`StreamBackend.RUST` or :attr:`StreamBackend.PYTHON`, never
        :attr:`StreamBackend.AUTO`.

    Raises:
        ValueError: the variable holds something other than ``auto``,
            ``python`` or ``rust``.
        ImportError: ``rust`` was requested but the native module is missing
            (or the probe's own import error).
    """
    requested = _requested_backend()
    if requested is StreamBackend.PYTHON:
        return StreamBackend.PYTHON
    if requested is StreamBackend.AUTO:
        try:
            available = rust.is_rust_available()
        except ImportError:
            return StreamBackend.PYTHON
        return StreamBackend.RUST if available else StreamBackend.PYTHON
    if rust.is_rust_available():
        return StreamBackend.RUST
    msg = (
        f"{ENV_VAR}=rust requires the native extension module `cuprum._native`, "
        "which is not available"
    )
    _logger.warning("%s", msg)
    raise ImportError(msg)


def set_rust_availability_for_testing(*, is_available: bool | None) -> None:
    """Override what :func:`cuprum.rust.is_rust_available` reports.

    A test seam: ``True`` or ``False`` replaces the probe, ``None`` restores
    probing. Both the availability cache and the backend cache are cleared,
    so the next :func:`get_stream_backend` call resolves afresh.
    """
    rust._set_availability_override(is_available)
    get_stream_backend.cache_clear()
