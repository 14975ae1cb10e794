"""cuprum: run external programs safely, typed and fast.

Programs come from a curated catalogue, commands are typed values, and every
byte of child I/O is moved by a native engine outside the GIL::

    from cuprum import ECHO, sh

    result = sh.make(ECHO)("hello").run_sync()
    assert result.stdout == "hello\\n"
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cuprum import builders as builders
from cuprum import remote as remote
from cuprum import sh as sh
from cuprum.catalogue import CORE_OPS_PROJECT as CORE_OPS_PROJECT
from cuprum.catalogue import COREUTILS as COREUTILS
from cuprum.catalogue import COREUTILS_PROJECT as COREUTILS_PROJECT
from cuprum.catalogue import DEFAULT_CATALOGUE as DEFAULT_CATALOGUE
from cuprum.catalogue import DEFAULT_PROJECTS as DEFAULT_PROJECTS
from cuprum.catalogue import DOC_TOOL as DOC_TOOL
from cuprum.catalogue import DOCUMENTATION_PROJECT as DOCUMENTATION_PROJECT
from cuprum.catalogue import ECHO as ECHO
from cuprum.catalogue import GIT as GIT
from cuprum.catalogue import LS as LS
from cuprum.catalogue import RSYNC as RSYNC
from cuprum.catalogue import TAR as TAR
from cuprum.catalogue import ProgramCatalogue as ProgramCatalogue
from cuprum.catalogue import ProgramEntry as ProgramEntry
from cuprum.catalogue import ProjectSettings as ProjectSettings
from cuprum.catalogue import UnknownProgramError as UnknownProgramError
from cuprum.concurrent import ConcurrentConfig as ConcurrentConfig
from cuprum.concurrent import ConcurrentResult as ConcurrentResult
from cuprum.concurrent import run_concurrent as run_concurrent
from cuprum.concurrent import run_concurrent_sync as run_concurrent_sync
from cuprum.context import AfterHook as AfterHook
from cuprum.context import AllowRegistration as AllowRegistration
from cuprum.context import BeforeHook as BeforeHook
from cuprum.context import CuprumContext as CuprumContext
from cuprum.context import EnvRegistration as EnvRegistration
from cuprum.context import ForbiddenProgramError as ForbiddenProgramError
from cuprum.context import HookRegistration as HookRegistration
from cuprum.context import ScopeConfig as ScopeConfig
from cuprum.context import after as after
from cuprum.context import allow as allow
from cuprum.context import before as before
from cuprum.context import current_context as current_context
from cuprum.context import env as env
from cuprum.context import get_context as get_context
from cuprum.context import merge_env_overlays as merge_env_overlays
from cuprum.context import observe as observe
from cuprum.context import resolve_env as resolve_env
from cuprum.context import scoped as scoped
from cuprum.events import ExecEvent as ExecEvent
from cuprum.events import ExecHook as ExecHook
from cuprum.exceptions import ContextError as ContextError
from cuprum.exceptions import DuplicateProgramError as DuplicateProgramError
from cuprum.exceptions import DuplicateProjectError as DuplicateProjectError
from cuprum.exceptions import EngineError as EngineError
from cuprum.exceptions import ExitCodeError as ExitCodeError
from cuprum.exceptions import SshError as SshError
from cuprum.logging_hooks import LoggingHookRegistration as LoggingHookRegistration
from cuprum.logging_hooks import logging_hook as logging_hook
from cuprum.process import InputStream as InputStream
from cuprum.process import OutputStream as OutputStream
from cuprum.process import PipelineProcess as PipelineProcess
from cuprum.process import Process as Process
from cuprum.program import Program as Program
from cuprum.remote import SshHost as SshHost
from cuprum.routing import DEVNULL as DEVNULL
from cuprum.routing import PIPE as PIPE
from cuprum.routing import STDOUT as STDOUT
from cuprum.routing import Append as Append
from cuprum.routing import ErrorTarget as ErrorTarget
from cuprum.routing import OutputTarget as OutputTarget
from cuprum.routing import Redirect as Redirect
from cuprum.routing import StdinSource as StdinSource
from cuprum.rust import is_rust_available as is_rust_available
from cuprum.secrets import Secret as Secret
from cuprum.secrets import redact as redact
from cuprum.sh import CommandResult as CommandResult
from cuprum.sh import ExecutionContext as ExecutionContext
from cuprum.sh import IOOptions as IOOptions
from cuprum.sh import Pipeline as Pipeline
from cuprum.sh import PipelineResult as PipelineResult
from cuprum.sh import RunOutputOptions as RunOutputOptions
from cuprum.sh import SafeCmd as SafeCmd
from cuprum.sh import SafeCmdBuilder as SafeCmdBuilder
from cuprum.sh import StdinInput as StdinInput
from cuprum.sh import TimeoutExpired as TimeoutExpired

PACKAGE_NAME = "cuprum"

if TYPE_CHECKING:
    __version__: str
else:

    def __getattr__(name: str) -> str:
        # `__version__` comes from the installed distribution's metadata, read
        # on first use: importing `importlib.metadata` up front would add about
        # a fifth to the cost of `import cuprum`.
        if name == "__version__":
            from importlib.metadata import version

            globals()["__version__"] = found = version(PACKAGE_NAME)
            return found
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "COREUTILS",
    "COREUTILS_PROJECT",
    "CORE_OPS_PROJECT",
    "DEFAULT_CATALOGUE",
    "DEFAULT_PROJECTS",
    "DEVNULL",
    "DOCUMENTATION_PROJECT",
    "DOC_TOOL",
    "ECHO",
    "GIT",
    "LS",
    "PACKAGE_NAME",
    "PIPE",
    "RSYNC",
    "STDOUT",
    "TAR",
    "AfterHook",
    "AllowRegistration",
    "Append",
    "BeforeHook",
    "CommandResult",
    "ConcurrentConfig",
    "ConcurrentResult",
    "ContextError",
    "CuprumContext",
    "DuplicateProgramError",
    "DuplicateProjectError",
    "EngineError",
    "EnvRegistration",
    "ErrorTarget",
    "ExecEvent",
    "ExecHook",
    "ExecutionContext",
    "ExitCodeError",
    "ForbiddenProgramError",
    "HookRegistration",
    "IOOptions",
    "InputStream",
    "LoggingHookRegistration",
    "OutputStream",
    "OutputTarget",
    "Pipeline",
    "PipelineProcess",
    "PipelineResult",
    "Process",
    "Program",
    "ProgramCatalogue",
    "ProgramEntry",
    "ProjectSettings",
    "Redirect",
    "RunOutputOptions",
    "SafeCmd",
    "SafeCmdBuilder",
    "ScopeConfig",
    "Secret",
    "SshError",
    "SshHost",
    "StdinInput",
    "StdinSource",
    "TimeoutExpired",
    "UnknownProgramError",
    "after",
    "allow",
    "before",
    "builders",
    "current_context",
    "env",
    "get_context",
    "is_rust_available",
    "logging_hook",
    "merge_env_overlays",
    "observe",
    "redact",
    "remote",
    "resolve_env",
    "run_concurrent",
    "run_concurrent_sync",
    "scoped",
    "sh",
]
