"""The public surface as an API: exact ``__all__`` sets, where names live,
and what must not be exported."""

from __future__ import annotations

import importlib
import subprocess
import types

import pytest

import cuprum
from cuprum import exceptions, sh

TOP_LEVEL = {
    "PACKAGE_NAME",
    "EngineError",
    "Program",
    "ProjectSettings",
    "ProgramEntry",
    "ProgramCatalogue",
    "UnknownProgramError",
    "DEFAULT_CATALOGUE",
    "DEFAULT_PROJECTS",
    "CORE_OPS_PROJECT",
    "DOCUMENTATION_PROJECT",
    "COREUTILS",
    "COREUTILS_PROJECT",
    "ContextError",
    "DuplicateProgramError",
    "DuplicateProjectError",
    "ECHO",
    "GIT",
    "LS",
    "RSYNC",
    "TAR",
    "DOC_TOOL",
    "SafeCmd",
    "Pipeline",
    "SafeCmdBuilder",
    "CommandResult",
    "PipelineResult",
    "ExecutionContext",
    "RunOutputOptions",
    "StdinInput",
    "IOOptions",
    "TimeoutExpired",
    "CuprumContext",
    "ScopeConfig",
    "ForbiddenProgramError",
    "BeforeHook",
    "AfterHook",
    "AllowRegistration",
    "HookRegistration",
    "EnvRegistration",
    "scoped",
    "allow",
    "before",
    "after",
    "observe",
    "env",
    "current_context",
    "get_context",
    "merge_env_overlays",
    "resolve_env",
    "ExecEvent",
    "ExecHook",
    "logging_hook",
    "LoggingHookRegistration",
    "run_concurrent",
    "run_concurrent_sync",
    "ConcurrentConfig",
    "ConcurrentResult",
    "is_rust_available",
    "builders",
    "sh",
    # beyond.md §14 and §18
    "ExitCodeError",
    "Secret",
    "redact",
    # beyond.md §15
    "DEVNULL",
    "STDOUT",
    "PIPE",
    "Append",
    "Redirect",
    "StdinSource",
    "OutputTarget",
    "ErrorTarget",
    # beyond.md §19
    "SshError",
    "SshHost",
    "remote",
    # beyond.md §16
    "Process",
    "PipelineProcess",
    "InputStream",
    "OutputStream",
}

SH = {
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
}

EXCEPTIONS = {
    "ContextError",
    "DuplicateProgramError",
    "DuplicateProjectError",
    "EngineError",
    "ForbiddenProgramError",
    "TimeoutExpired",
    "UnhandledMetricsPhaseError",
    "UnknownProgramError",
    "ExitCodeError",
    "SshError",
}

REMOTE = {"RemoteCmd", "SshError", "SshHost"}

# Where each top-level name is defined (spec §1, "Home").
HOMES = {
    "cuprum.program": ("Program",),
    "cuprum.exceptions": (
        "EngineError",
        "ExitCodeError",
        "ContextError",
        "DuplicateProgramError",
        "DuplicateProjectError",
    ),
    "cuprum.catalogue": (
        "ProjectSettings",
        "ProgramEntry",
        "ProgramCatalogue",
        "UnknownProgramError",
        "DEFAULT_CATALOGUE",
        "DEFAULT_PROJECTS",
        "CORE_OPS_PROJECT",
        "DOCUMENTATION_PROJECT",
        "COREUTILS",
        "COREUTILS_PROJECT",
        "ECHO",
        "GIT",
        "LS",
        "RSYNC",
        "TAR",
        "DOC_TOOL",
    ),
    "cuprum.sh": (
        "SafeCmd",
        "Pipeline",
        "SafeCmdBuilder",
        "CommandResult",
        "PipelineResult",
        "ExecutionContext",
        "RunOutputOptions",
        "StdinInput",
        "IOOptions",
        "TimeoutExpired",
    ),
    "cuprum.context": (
        "CuprumContext",
        "ScopeConfig",
        "ForbiddenProgramError",
        "BeforeHook",
        "AfterHook",
        "AllowRegistration",
        "HookRegistration",
        "EnvRegistration",
        "scoped",
        "allow",
        "before",
        "after",
        "observe",
        "env",
        "current_context",
        "get_context",
        "merge_env_overlays",
        "resolve_env",
    ),
    "cuprum.events": ("ExecEvent", "ExecHook"),
    "cuprum.logging_hooks": ("logging_hook", "LoggingHookRegistration"),
    "cuprum.concurrent": (
        "run_concurrent",
        "run_concurrent_sync",
        "ConcurrentConfig",
        "ConcurrentResult",
    ),
    "cuprum.rust": ("is_rust_available",),
    "cuprum.secrets": ("Secret", "redact"),
    "cuprum.routing": (
        "DEVNULL",
        "STDOUT",
        "PIPE",
        "Append",
        "Redirect",
        "StdinSource",
        "OutputTarget",
        "ErrorTarget",
    ),
    "cuprum.remote": ("SshHost", "SshError"),
    "cuprum.process": ("Process", "PipelineProcess", "InputStream", "OutputStream"),
}


def test_top_level_all_is_exact() -> None:
    assert set(cuprum.__all__) == TOP_LEVEL
    assert len(cuprum.__all__) == len(TOP_LEVEL), "no duplicates in __all__"


def test_every_top_level_name_resolves() -> None:
    for name in cuprum.__all__:
        assert hasattr(cuprum, name), name


def test_top_level_names_are_the_objects_of_their_home_modules() -> None:
    for module_name, names in HOMES.items():
        module = importlib.import_module(module_name)
        for name in names:
            assert getattr(cuprum, name) is getattr(module, name), f"{module_name}.{name}"


def test_package_name_and_submodules() -> None:
    assert cuprum.PACKAGE_NAME == "cuprum"
    assert isinstance(cuprum.sh, types.ModuleType)
    assert cuprum.sh is sh
    assert isinstance(cuprum.builders, types.ModuleType)
    assert cuprum.builders.__name__ == "cuprum.builders"


def test_sh_all_is_exact() -> None:
    assert set(sh.__all__) == SH
    assert len(sh.__all__) == len(SH)


def test_sh_observe_and_scoped_are_the_context_objects() -> None:
    from cuprum import context

    assert sh.observe is context.observe
    assert sh.scoped is context.scoped


def test_public_but_not_top_level_names() -> None:
    from cuprum import catalogue, context, events

    assert issubclass(catalogue.DuplicateProjectError, ValueError)
    assert issubclass(catalogue.DuplicateProgramError, ValueError)
    assert issubclass(context.ContextError, Exception)
    assert callable(sh.make)
    assert callable(sh.build_argv)
    assert events.ExecId is not None
    assert events.ExecPhase is not None
    assert callable(events.new_exec_id)
    assert "make" not in cuprum.__all__


def test_context_module_does_not_expose_exec_hook() -> None:
    from cuprum import context

    assert not hasattr(context, "ExecHook")
    assert "ExecHook" not in getattr(context, "__all__", ())


def test_exceptions_module_is_the_home_of_every_exception() -> None:
    assert set(exceptions.__all__) == EXCEPTIONS
    from cuprum import catalogue, context

    assert exceptions.TimeoutExpired is sh.TimeoutExpired
    assert exceptions.UnknownProgramError is catalogue.UnknownProgramError
    assert exceptions.DuplicateProjectError is catalogue.DuplicateProjectError
    assert exceptions.DuplicateProgramError is catalogue.DuplicateProgramError
    assert exceptions.ContextError is context.ContextError
    assert exceptions.ForbiddenProgramError is context.ForbiddenProgramError
    from cuprum.adapters import metrics_adapter

    assert exceptions.UnhandledMetricsPhaseError is metrics_adapter.UnhandledMetricsPhaseError


def test_every_exception_is_also_top_level() -> None:
    for name in exceptions.__all__:
        if name == "UnhandledMetricsPhaseError":
            continue  # lives with its adapter, a public module
        assert name in cuprum.__all__, name
        assert getattr(exceptions, name).__module__ == "cuprum", name
        assert getattr(cuprum, name) is getattr(exceptions, name), name


def test_every_public_exception_names_a_public_module() -> None:
    # Tracebacks print `<__module__>.<name>`: never a private module.
    for name in exceptions.__all__:
        cls = getattr(exceptions, name)
        assert not any(part.startswith("_") for part in cls.__module__.split(".")), name
        assert getattr(importlib.import_module(cls.__module__), name) is cls


def test_a_traceback_names_the_public_class() -> None:
    import traceback

    error = exceptions.TimeoutExpired(cmd=("sleep", "9"), timeout=1.0)
    assert traceback.format_exception_only(error)[0].startswith("cuprum.TimeoutExpired: ")


def test_exceptions_docstring_draws_the_whole_tree() -> None:
    tree = exceptions.__doc__ or ""
    for name in exceptions.__all__:
        assert name in tree, name


def test_exception_tree() -> None:
    assert issubclass(exceptions.UnknownProgramError, LookupError)
    assert issubclass(exceptions.DuplicateProjectError, ValueError)
    assert issubclass(exceptions.DuplicateProgramError, ValueError)
    assert issubclass(exceptions.ForbiddenProgramError, exceptions.ContextError)
    assert issubclass(exceptions.ForbiddenProgramError, PermissionError)
    assert issubclass(exceptions.TimeoutExpired, TimeoutError)
    assert issubclass(exceptions.TimeoutExpired, OSError)
    assert issubclass(exceptions.ExitCodeError, subprocess.CalledProcessError)
    assert issubclass(exceptions.SshError, ConnectionError)


def test_secrets_module_exports_the_secret_and_its_renderer() -> None:
    secrets = importlib.import_module("cuprum.secrets")
    assert set(secrets.__all__) == {"MASK", "Secret", "redact"}
    assert secrets.MASK == "***"


def test_routing_module_exports_the_constants_append_and_the_target_types() -> None:
    routing = importlib.import_module("cuprum.routing")
    assert set(routing.__all__) == {*HOMES["cuprum.routing"], "HasFileno"}
    assert [repr(c) for c in (cuprum.DEVNULL, cuprum.STDOUT, cuprum.PIPE)] == [
        "cuprum.DEVNULL",
        "cuprum.STDOUT",
        "cuprum.PIPE",
    ]
    assert len({cuprum.DEVNULL, cuprum.STDOUT, cuprum.PIPE}) == 3
    assert cuprum.Append("log.txt") == cuprum.Append("log.txt")


def test_adapters_package_exports_nothing() -> None:
    adapters = importlib.import_module("cuprum.adapters")
    assert list(adapters.__all__) == []


@pytest.mark.parametrize(
    "module_name",
    [
        "cuprum.program",
        "cuprum.catalogue",
        "cuprum.sh",
        "cuprum.context",
        "cuprum.events",
        "cuprum.logging_hooks",
        "cuprum.concurrent",
        "cuprum.rust",
        "cuprum.builders",
        "cuprum.builders.args",
        "cuprum.builders.git",
        "cuprum.builders.rsync",
        "cuprum.builders.tar",
        "cuprum.adapters.logging_adapter",
        "cuprum.adapters.metrics_adapter",
        "cuprum.adapters.tracing_adapter",
        "cuprum.adapters.tracing_memory",
        "cuprum.exceptions",
        "cuprum.secrets",
        "cuprum.routing",
    ],
)
def test_module_all_names_resolve(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name in getattr(module, "__all__", ()):
        assert hasattr(module, name), f"{module_name}.{name}"


def test_native_module_is_private() -> None:
    assert "_native" not in cuprum.__all__
    assert not any(name.startswith("_") for name in cuprum.__all__)


def test_version_is_the_installed_distributions_and_outside_all() -> None:
    from importlib.metadata import version

    assert cuprum.__version__ == version("cuprum")
    assert "__version__" not in cuprum.__all__


def test_unknown_top_level_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match=r"^module 'cuprum' has no attribute 'no_such_name'$"):
        getattr(cuprum, "no_such_name")  # noqa: B009 - the lookup itself is under test


def test_remote_module_exports_the_host_its_command_and_its_error() -> None:
    from cuprum import remote

    assert set(remote.__all__) == REMOTE
    assert cuprum.remote is remote
    assert remote.SshHost is cuprum.SshHost
    assert remote.SshError is exceptions.SshError
    assert issubclass(remote.RemoteCmd, cuprum.SafeCmd)
    assert "RemoteCmd" not in cuprum.__all__


def test_ssh_error_pickles_with_its_host_and_detail() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(exceptions.SshError("web1", "Connection refused")))
    assert (error.host, error.detail) == ("web1", "Connection refused")
    assert str(error) == "ssh to 'web1' failed: Connection refused"
