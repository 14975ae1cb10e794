"""Per-call settings: output options, execution context and stdin input."""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

__all__ = ["ExecutionContext", "IOOptions", "RunOutputOptions", "StdinInput"]


@dataclasses.dataclass(frozen=True, slots=True)
class RunOutputOptions:
    """What happens to a child's stdout and stderr.

    ``capture`` keeps the text in the result; ``echo`` forwards it to the
    context's sinks as it arrives. Both together tee from one read.
    """

    capture: bool = True
    echo: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class IOOptions(RunOutputOptions):
    """Deprecated alias of :class:`RunOutputOptions`."""

    def __post_init__(self) -> None:
        warnings.warn(
            "IOOptions is deprecated; use RunOutputOptions instead",
            DeprecationWarning,
            stacklevel=3,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class ExecutionContext:
    """Per-call execution settings.

    ``env`` overlays the environment with the highest precedence; ``cwd`` is
    the child's working directory; ``cancel_grace`` is the pause between
    SIGTERM and SIGKILL (negative acts as 0); ``timeout`` is the call's
    default deadline; sinks receive echoed output (``None`` means
    ``sys.stdout``/``sys.stderr`` at call time): a binary sink (``IO[bytes]``,
    e.g. ``open(path, "wb")``) and a text sink's ``buffer`` receive the raw
    bytes, any other text sink decoded text; ``encoding``/``errors``
    decode output and encode text stdin; ``tags`` are merged into events;
    ``pass_fds`` are descriptors the child receives besides 0, 1 and 2 (every
    other descriptor is closed in the child, even an inheritable one), stored
    sorted without repeats. An ``env`` value may be a :class:`~cuprum.Secret`
    (the ``repr`` shows ``***``).

    Raises:
        TypeError: ``cancel_grace`` is not a number, or ``pass_fds`` holds
            something other than ``int``s.
        ValueError: ``cancel_grace`` is not finite, or ``pass_fds`` holds a
            descriptor below 3.
    """

    env: Mapping[str, str] | None = None
    cwd: str | Path | None = None
    cancel_grace: float = 0.5
    timeout: float | None = None
    stdout_sink: IO[str] | IO[bytes] | None = None
    stderr_sink: IO[str] | IO[bytes] | None = None
    encoding: str = "utf-8"
    errors: str = "replace"
    tags: Mapping[str, object] | None = None
    pass_fds: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        grace = self.cancel_grace
        if isinstance(grace, bool) or not isinstance(grace, int | float):
            msg = f"cancel_grace must be a number of seconds, got {grace!r}"
            raise TypeError(msg)
        if not math.isfinite(grace):
            msg = f"cancel_grace must be finite, got {grace!r}"
            raise ValueError(msg)
        if self.pass_fds != ():
            object.__setattr__(self, "pass_fds", _descriptors(self.pass_fds))


def _descriptors(fds: object) -> tuple[int, ...]:
    """``fds`` checked (ints, 3 or above), sorted, without repeats."""
    if isinstance(fds, (str, bytes)) or not isinstance(fds, Iterable):
        msg = f"`pass_fds` must be a collection of descriptors, not {type(fds).__name__}"
        raise TypeError(msg)
    checked: set[int] = set()
    for fd in fds:
        if isinstance(fd, bool) or not isinstance(fd, int):
            msg = f"`pass_fds` holds {fd!r}; descriptors are ints"
            raise TypeError(msg)
        if fd < 3:
            msg = (
                f"`pass_fds` holds {fd}; pass descriptors 3 and above "
                "(0, 1 and 2 are the child's stdin, stdout and stderr)"
            )
            raise ValueError(msg)
        checked.add(fd)
    return tuple(sorted(checked))


@dataclasses.dataclass(frozen=True, slots=True)
class StdinInput:
    """A payload for the child's stdin: ``text`` (encoded) or raw ``data``.

    Neither set means no payload: the child inherits the parent's stdin.
    """

    text: str | None = None
    data: bytes | None = None

    def __post_init__(self) -> None:
        if self.text is not None and self.data is not None:
            msg = "text and data cannot both be provided"
            raise ValueError(msg)

    def resolve(self, ctx: ExecutionContext) -> bytes | None:
        """The bytes to send, encoding ``text`` with ``ctx.encoding``/``ctx.errors``."""
        if self.text is not None:
            return self.text.encode(ctx.encoding, ctx.errors)
        return self.data
