"""Build and run commands: the typed front door of cuprum.

``make(program)`` returns a builder of :class:`SafeCmd`; ``cmd.run()`` (async)
and ``cmd.run_sync()`` execute it on the native engine; ``a | b`` builds a
:class:`Pipeline`.
"""

from __future__ import annotations

from cuprum._command import Pipeline, SafeCmd, SafeCmdBuilder, build_argv, make
from cuprum._options import ExecutionContext, IOOptions, RunOutputOptions, StdinInput
from cuprum._results import CommandResult, PipelineResult, TimeoutExpired
from cuprum.catalogue import UnknownProgramError
from cuprum.context import observe, scoped

__all__ = [
    "CommandResult",
    "ExecutionContext",
    "IOOptions",
    "Pipeline",
    "PipelineResult",
    "RunOutputOptions",
    "SafeCmd",
    "SafeCmdBuilder",
    "StdinInput",
    "TimeoutExpired",
    "UnknownProgramError",
    "build_argv",
    "make",
    "observe",
    "scoped",
]
