"""Every exception cuprum raises, in one place.

::

    Exception
    ├── LookupError
    │   └── UnknownProgramError          a program is not in the catalogue
    ├── ValueError
    │   ├── DuplicateProjectError        a catalogue repeats a project name
    │   └── DuplicateProgramError        two projects claim one program
    ├── RuntimeError
    │   └── EngineError                  the native engine failed internally (a caught panic)
    ├── ContextError                     base of the context domain
    │   └── ForbiddenProgramError        (also PermissionError) the scope denies a program
    └── OSError
        ├── TimeoutError
        │   └── TimeoutExpired           a run outlived its deadline
        └── PermissionError
            └── ForbiddenProgramError

Running a program can also raise the standard ``OSError`` subclasses:
``FileNotFoundError`` (missing program or working directory),
``PermissionError`` (program not executable); a NUL character in argv or the
environment raises ``ValueError`` before anything is spawned.
"""

from __future__ import annotations

from cuprum._results import TimeoutExpired
from cuprum.catalogue import DuplicateProgramError, DuplicateProjectError, UnknownProgramError
from cuprum.context import ContextError, ForbiddenProgramError

__all__ = [
    "ContextError",
    "DuplicateProgramError",
    "DuplicateProjectError",
    "EngineError",
    "ForbiddenProgramError",
    "TimeoutExpired",
    "UnknownProgramError",
]


class EngineError(RuntimeError):
    """The native engine failed internally: a panic caught at its boundary.

    The run it happened in was torn down before this was raised — every
    child terminated and reaped — so nothing of it is left behind.
    """

    __module__ = "cuprum"
