"""Every exception cuprum raises, in one place.

::

    Exception
    ├── LookupError
    │   └── UnknownProgramError          a program is not in the catalogue
    ├── ValueError
    │   ├── DuplicateProjectError        a catalogue repeats a project name
    │   ├── DuplicateProgramError        two projects claim one program
    │   └── UnhandledMetricsPhaseError   the metrics adapter met an unknown event phase
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

Every class listed here is also importable from :mod:`cuprum` (except
``UnhandledMetricsPhaseError``, which lives with its adapter in
:mod:`cuprum.adapters.metrics_adapter`), and that is the name tracebacks show
(``cuprum.TimeoutExpired``), never the private module that defines it.
"""

from __future__ import annotations

from cuprum._results import TimeoutExpired
from cuprum.adapters.metrics_adapter import UnhandledMetricsPhaseError
from cuprum.catalogue import DuplicateProgramError, DuplicateProjectError, UnknownProgramError
from cuprum.context import ContextError, ForbiddenProgramError

__all__ = [
    "ContextError",
    "DuplicateProgramError",
    "DuplicateProjectError",
    "EngineError",
    "ForbiddenProgramError",
    "TimeoutExpired",
    "UnhandledMetricsPhaseError",
    "UnknownProgramError",
]


class EngineError(RuntimeError):
    """The native engine failed internally: a panic caught at its boundary.

    The run it happened in was torn down before this was raised — every
    child terminated and reaped — so nothing of it is left behind.
    """


# Tracebacks and reprs name a class by its ``__module__``: show the package
# it is imported from, as trio does, not the module that happens to define
# it. Adapter errors stay with their (public) adapter module.
_WITH_THEIR_ADAPTER = frozenset({"UnhandledMetricsPhaseError"})
for _name in set(__all__) - _WITH_THEIR_ADAPTER:
    globals()[_name].__module__ = "cuprum"
del _name
