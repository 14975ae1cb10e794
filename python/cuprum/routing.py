"""Where a child's standard streams go: the routing sentinels.

``PIPE`` asks :meth:`cuprum.SafeCmd.start` / :meth:`cuprum.Pipeline.start`
for a live stream the caller reads (or, for stdin, writes); ``DEVNULL`` is
the null device; ``STDOUT`` sends stderr wherever stdout goes.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEVNULL", "PIPE", "STDOUT"]


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"cuprum.{self._name}"


PIPE: Final = _Sentinel("PIPE")
DEVNULL: Final = _Sentinel("DEVNULL")
STDOUT: Final = _Sentinel("STDOUT")
