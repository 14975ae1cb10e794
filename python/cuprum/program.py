"""The identifier of an executable program."""

from __future__ import annotations

from typing import NewType

__all__ = ["Program"]

Program = NewType("Program", str)
"""The name (or path) of an executable, as looked up in a catalogue."""
