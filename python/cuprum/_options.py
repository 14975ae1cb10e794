"""Per-call settings: output options, execution context and stdin input."""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping
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
    decode output and encode text stdin; ``tags`` are merged into events.
    An ``env`` value may be a :class:`~cuprum.Secret` (the ``repr`` shows
    ``***``).
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

    def __post_init__(self) -> None:
        grace = self.cancel_grace
        if isinstance(grace, bool) or not isinstance(grace, int | float):
            msg = f"cancel_grace must be a number of seconds, got {grace!r}"
            raise TypeError(msg)
        if not math.isfinite(grace):
            msg = f"cancel_grace must be finite, got {grace!r}"
            raise ValueError(msg)


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
