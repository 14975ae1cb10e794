"""Availability of the native engine.

cuprum moves bytes with its native extension module, ``cuprum._native``.
:func:`is_rust_available` reports whether that module can be imported.
"""

from __future__ import annotations

import functools
import importlib
import logging

__all__ = ["is_rust_available"]

_NATIVE_MODULE = "cuprum._native"
_logger = logging.getLogger(__name__)

# Set by `cuprum._backend.set_rust_availability_for_testing`; `None` probes.
_availability_override: bool | None = None


@functools.cache
def is_rust_available() -> bool:
    """Report whether the native extension ``cuprum._native`` can be imported.

    The answer is computed once per process and cached. It is ``False`` only
    when importing the module fails with a :class:`ModuleNotFoundError` that
    names ``cuprum._native`` itself. Any other import failure (a missing
    dependency, a broken or incompatible binary) is logged at WARNING level
    and re-raised, because hiding it would silently change behaviour; such a
    failure is not cached, so the next call probes again.

    Returns:
        ``True`` if the native module imports, ``False`` if it is absent.

    Raises:
        ImportError: the module exists but failed to import.
    """
    if _availability_override is not None:
        return _availability_override
    try:
        importlib.import_module(_NATIVE_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name == _NATIVE_MODULE:
            return False
        _logger.warning("importing %s failed: %s", _NATIVE_MODULE, exc)
        raise
    except ImportError as exc:
        _logger.warning("importing %s failed: %s", _NATIVE_MODULE, exc)
        raise
    return True


def _set_availability_override(value: bool | None) -> None:
    """Force :func:`is_rust_available` to ``value`` (``None`` probes again)."""
    global _availability_override  # noqa: PLW0603 - a process-wide test seam
    _availability_override = value
    is_rust_available.cache_clear()
