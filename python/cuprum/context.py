"""Ambient execution policy: allowlists, hooks, timeouts and environment overlays.

Every run consults the *current context*, a :class:`CuprumContext` held in a
:class:`contextvars.ContextVar`. The default context allows every catalogued
program and has no hooks, no timeout and no environment overlay.

Two ways change it:

* :func:`scoped` narrows the current context with a :class:`ScopeConfig` for
  the body of a ``with`` block. Narrowing never adds programs.
* :func:`allow`, :func:`before`, :func:`after`, :func:`observe` and :func:`env`
  apply a change at once and return a handle whose ``detach()`` restores the
  context that was active when the handle was created. The handles are also
  context managers.

Context values follow :mod:`contextvars`: a new thread starts from the default
context, an asyncio task starts from a copy of its creator's context, so
sibling tasks never see each other's scopes.

>>> from cuprum.catalogue import ECHO, LS
>>> with scoped(ScopeConfig(allowlist=frozenset({ECHO}))) as ctx:
...     ctx.is_allowed(ECHO), ctx.is_allowed(LS)
(True, False)
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import logging
import math
import os
import types
import typing as t
from collections.abc import Callable, Iterable, Mapping

from cuprum import events as _events
from cuprum._command import SafeCmd
from cuprum._results import CommandResult
from cuprum.program import Program
from cuprum.secrets import reveal_env

__all__ = [
    "AfterHook",
    "AllowRegistration",
    "BeforeHook",
    "ContextError",
    "CuprumContext",
    "EnvRegistration",
    "ForbiddenProgramError",
    "HookRegistration",
    "ScopeConfig",
    "after",
    "allow",
    "before",
    "current_context",
    "env",
    "get_context",
    "merge_env_overlays",
    "observe",
    "resolve_env",
    "scoped",
]

_logger = logging.getLogger("cuprum.context")

BeforeHook: t.TypeAlias = Callable[[SafeCmd], None]
"""A hook called with the command just before it spawns."""

AfterHook: t.TypeAlias = Callable[[SafeCmd, CommandResult], None]
"""A hook called with the command and its result after it exits."""

_ObserveHook: t.TypeAlias = _events.ExecHook

_HookType: t.TypeAlias = t.Literal["before", "after", "observe"]
_HOOK_TYPES: tuple[str, ...] = t.get_args(_HookType)


class ContextError(Exception):
    """Base class of errors raised by the context machinery."""


class ForbiddenProgramError(ContextError, PermissionError):
    """The current context's allowlist does not permit a program.

    ``restricted_state`` is the context's restriction flag: ``True`` when a
    scope or registration restricted it, ``False`` for a context constructed
    directly with a non-empty allowlist.
    """

    def __init__(self, program: Program, *, restricted_state: bool) -> None:
        super().__init__(f"Program '{program}' is not allowed in the current context")
        self.program = program
        self.restricted_state = restricted_state


def _validated_timeout(owner: str, value: float | None) -> float | None:
    if value is None:
        return None
    seconds = float(value)
    if not math.isfinite(seconds):
        msg = f"{owner} timeout must be finite, got {seconds}"
        raise ValueError(msg)
    if seconds < 0:
        msg = f"{owner} timeout must be non-negative, got {seconds}"
        raise ValueError(msg)
    return seconds


def _frozen_overlay(overlay: Mapping[str, str] | None) -> Mapping[str, str] | None:
    if overlay is None:
        return None
    return types.MappingProxyType(dict(overlay))


def merge_env_overlays(
    parent: Mapping[str, str] | None, child: Mapping[str, str] | None
) -> Mapping[str, str] | None:
    """Merge two environment overlays; ``child`` wins on shared keys.

    Both ``None`` gives ``None``; one ``None`` gives an immutable copy of the
    other (an empty overlay stays empty, not ``None``). The process
    environment is never read.

    >>> dict(merge_env_overlays({"A": "1", "B": "1"}, {"A": "2"}))
    {'A': '2', 'B': '1'}
    """
    if parent is None and child is None:
        return None
    merged: dict[str, str] = {}
    merged.update(parent or {})
    merged.update(child or {})
    return types.MappingProxyType(merged)


def resolve_env(*layers: Mapping[str, str] | None) -> dict[str, str] | None:
    """The environment for a child: ``None`` (inherit) or a full fresh ``dict``.

    When every layer is ``None`` or empty the child inherits the parent's
    environment and the result is ``None``. Otherwise the result is a copy of
    the live :data:`os.environ` updated by each non-empty layer from left to
    right. Variables can be added or overridden, never removed, and
    :data:`os.environ` itself is never changed. A :class:`~cuprum.Secret`
    value is revealed: this is the environment the child receives.
    """
    present = [layer for layer in layers if layer]
    if not present:
        return None
    resolved = dict(os.environ)
    for layer in present:
        resolved.update(reveal_env(layer))
    return resolved


@dataclasses.dataclass(frozen=True, slots=True)
class ScopeConfig:
    """The change a :func:`scoped` block applies to the current context.

    ``allowlist`` ``None`` inherits the parent's; a set narrows it (see
    :meth:`CuprumContext.narrow`). Hooks are added to the parent's, ``timeout``
    replaces the parent's when set, and ``env_overlay`` is merged over the
    parent's overlay.

    Raises:
        ValueError: ``timeout`` is not finite or is negative.
    """

    allowlist: frozenset[Program] | None = None
    before_hooks: tuple[BeforeHook, ...] = ()
    after_hooks: tuple[AfterHook, ...] = ()
    observe_hooks: tuple[_ObserveHook, ...] = ()
    timeout: float | None = None
    env_overlay: Mapping[str, str] | None = dataclasses.field(default=None, hash=False)

    def __post_init__(self) -> None:
        if self.allowlist is not None:
            object.__setattr__(self, "allowlist", frozenset(self.allowlist))
        object.__setattr__(self, "before_hooks", tuple(self.before_hooks))
        object.__setattr__(self, "after_hooks", tuple(self.after_hooks))
        object.__setattr__(self, "observe_hooks", tuple(self.observe_hooks))
        object.__setattr__(self, "timeout", _validated_timeout("ScopeConfig", self.timeout))
        object.__setattr__(self, "env_overlay", _frozen_overlay(self.env_overlay))


@dataclasses.dataclass(frozen=True, slots=True)
class CuprumContext:
    """The ambient policy a run consults: allowlist, hooks, timeout, environment.

    An empty ``allowlist`` means "allow everything" unless the private flag
    ``_allowlist_is_restricted`` is set, in which case it means "allow
    nothing". Before hooks run in order (FIFO), after hooks are stored
    newest-first and so run LIFO, observe hooks run FIFO. ``env_overlay`` is
    kept as an immutable snapshot.

    Raises:
        ValueError: ``timeout`` is not finite or is negative.
    """

    allowlist: frozenset[Program] = frozenset()
    before_hooks: tuple[BeforeHook, ...] = ()
    after_hooks: tuple[AfterHook, ...] = ()
    observe_hooks: tuple[_ObserveHook, ...] = ()
    timeout: float | None = None
    env_overlay: Mapping[str, str] | None = dataclasses.field(default=None, hash=False)
    _allowlist_is_restricted: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowlist", frozenset(self.allowlist))
        object.__setattr__(self, "before_hooks", tuple(self.before_hooks))
        object.__setattr__(self, "after_hooks", tuple(self.after_hooks))
        object.__setattr__(self, "observe_hooks", tuple(self.observe_hooks))
        object.__setattr__(self, "timeout", _validated_timeout("CuprumContext", self.timeout))
        object.__setattr__(self, "env_overlay", _frozen_overlay(self.env_overlay))

    def is_allowed(self, program: Program) -> bool:
        """Whether ``program`` is in the allowlist (plain membership).

        An empty allowlist gives ``False`` here even though
        :meth:`check_allowed` lets everything through an unrestricted one.
        """
        return program in self.allowlist

    def check_allowed(self, program: Program) -> None:
        """Require that this context permits ``program``.

        An empty, unrestricted allowlist permits everything; otherwise the
        program must be a member. A denial raises; the exception is the
        report, so it is logged only at DEBUG, once, on the ``cuprum.context``
        logger (extras ``operation`` and ``restricted_state``) before raising.

        Raises:
            ForbiddenProgramError: the program is not permitted.
        """
        restricted = self._allowlist_is_restricted
        if not self.allowlist and not restricted:
            return
        if program in self.allowlist:
            return
        _logger.debug(
            "program %r is not allowed in the current context restricted_state=%s",
            str(program),
            restricted,
            extra={"operation": program, "restricted_state": restricted},
        )
        raise ForbiddenProgramError(program, restricted_state=restricted)

    def narrow(self, config: ScopeConfig) -> CuprumContext:
        """This context narrowed by ``config``; the allowlist never grows.

        Allowlist: ``None`` in ``config`` keeps this one; a restricted empty
        allowlist stays empty; a non-empty one is intersected with
        ``config``'s; an unrestricted empty one becomes ``config``'s. The
        result is restricted when this context is or ``config`` sets an
        allowlist. Before and observe hooks are this context's then
        ``config``'s; after hooks are ``config``'s then this context's.
        ``config.timeout`` wins when set; overlays merge with ``config``
        winning.
        """
        if config.allowlist is None:
            allowlist = self.allowlist
        elif self.allowlist:
            allowlist = self.allowlist & config.allowlist
        elif self._allowlist_is_restricted:
            allowlist = frozenset()
        else:
            allowlist = config.allowlist
        return CuprumContext(
            allowlist=allowlist,
            before_hooks=(*self.before_hooks, *config.before_hooks),
            after_hooks=(*config.after_hooks, *self.after_hooks),
            observe_hooks=(*self.observe_hooks, *config.observe_hooks),
            timeout=config.timeout if config.timeout is not None else self.timeout,
            env_overlay=merge_env_overlays(self.env_overlay, config.env_overlay),
            _allowlist_is_restricted=(
                self._allowlist_is_restricted or config.allowlist is not None
            ),
        )

    def with_allowlist(self, allowlist: Iterable[Program]) -> CuprumContext:
        """This context with ``allowlist`` replacing the current one (no intersection).

        The result is restricted if this context is restricted, its allowlist
        was non-empty, or the new one is non-empty; so emptying a non-empty
        allowlist denies everything.
        """
        new = frozenset(allowlist)
        restricted = self._allowlist_is_restricted or bool(self.allowlist) or bool(new)
        return dataclasses.replace(self, allowlist=new, _allowlist_is_restricted=restricted)

    def with_program(self, program: Program) -> CuprumContext:
        """This context with ``program`` added to the allowlist."""
        return self.with_allowlist(self.allowlist | {program})

    def without_program(self, program: Program) -> CuprumContext:
        """This context with ``program`` removed; removing the last one denies all."""
        return self.with_allowlist(self.allowlist - {program})

    def with_before_hook(self, hook: BeforeHook) -> CuprumContext:
        """This context with ``hook`` appended to the before hooks."""
        return dataclasses.replace(self, before_hooks=(*self.before_hooks, hook))

    def without_before_hook(self, hook: BeforeHook) -> CuprumContext:
        """This context without any before-hook entry that is ``hook``."""
        kept = tuple(h for h in self.before_hooks if h is not hook)
        return dataclasses.replace(self, before_hooks=kept)

    def with_after_hook(self, hook: AfterHook) -> CuprumContext:
        """This context with ``hook`` prepended to the after hooks (so it runs first)."""
        return dataclasses.replace(self, after_hooks=(hook, *self.after_hooks))

    def without_after_hook(self, hook: AfterHook) -> CuprumContext:
        """This context without any after-hook entry that is ``hook``."""
        kept = tuple(h for h in self.after_hooks if h is not hook)
        return dataclasses.replace(self, after_hooks=kept)

    def with_observe_hook(self, hook: _ObserveHook) -> CuprumContext:
        """This context with ``hook`` appended to the observe hooks."""
        return dataclasses.replace(self, observe_hooks=(*self.observe_hooks, hook))

    def without_observe_hook(self, hook: _ObserveHook) -> CuprumContext:
        """This context without any observe-hook entry that is ``hook``."""
        kept = tuple(h for h in self.observe_hooks if h is not hook)
        return dataclasses.replace(self, observe_hooks=kept)

    def with_env_overlay(self, overlay: Mapping[str, str] | None) -> CuprumContext:
        """This context with ``overlay`` merged over its overlay (``overlay`` wins)."""
        return dataclasses.replace(self, env_overlay=merge_env_overlays(self.env_overlay, overlay))


_DEFAULT_CONTEXT = CuprumContext()
_CURRENT: contextvars.ContextVar[CuprumContext] = contextvars.ContextVar(
    "cuprum_context", default=_DEFAULT_CONTEXT
)


def current_context() -> CuprumContext:
    """The context active in this thread or task (the permissive default if none)."""
    return _CURRENT.get()


def get_context() -> CuprumContext:
    """Alias of :func:`current_context`."""
    return _CURRENT.get()


class _Scope:
    """The context manager returned by :func:`scoped`."""

    __slots__ = ("_context", "_tokens")

    def __init__(self, context: CuprumContext) -> None:
        self._context = context
        self._tokens: list[contextvars.Token[CuprumContext]] = []

    def __enter__(self) -> CuprumContext:
        self._tokens.append(_CURRENT.set(self._context))
        return self._context

    def __exit__(self, *exc_info: object) -> None:
        _CURRENT.reset(self._tokens.pop())


def scoped(config: ScopeConfig | None = None) -> contextlib.AbstractContextManager[CuprumContext]:
    """A context manager that installs the current context narrowed by ``config``.

    The narrowed context is computed **now**, when ``scoped`` is called, from
    the context active at this moment; ``with`` installs it (and returns it)
    and restores the previous context on exit, also when the body raises.
    ``None`` stands for ``ScopeConfig()``.
    """
    return _Scope(current_context().narrow(config if config is not None else ScopeConfig()))


class _Registration:
    """Shared mechanics of the detachable handles: install now, restore on detach."""

    __slots__ = ("__weakref__", "_detached", "_token")

    def __init__(self) -> None:
        self._detached = True

    def _install(self, context: CuprumContext) -> None:
        self._token = _CURRENT.set(context)
        self._detached = False

    @property
    def detached(self) -> bool:
        """Whether :meth:`detach` has already run."""
        return self._detached

    def detach(self) -> None:
        """Restore the context that was active when this handle was created.

        Idempotent. Detaching out of order restores creation-time state and
        can therefore bring back what a later handle had replaced.

        Raises:
            ValueError: called from another thread or asyncio task context
                (the message says "different Context", as ``contextvars``
                does); the handle stays attached, so detaching it again from
                the context that created it works.
        """
        if self._detached:
            return
        try:
            _CURRENT.reset(self._token)
        except ValueError as error:
            msg = (
                f"cannot detach {type(self).__name__}: it was created in a different Context; "
                "detach it from the thread or task that created it"
            )
            raise ValueError(msg) from error
        self._detached = True

    def __enter__(self) -> t.Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.detach()


class AllowRegistration(_Registration):
    """Adds programs to the current allowlist at construction; see :func:`allow`.

    ``programs`` is the set of programs it added.
    """

    __slots__ = ("programs",)

    def __init__(self, *programs: Program) -> None:
        super().__init__()
        self.programs: frozenset[Program] = frozenset(programs)
        current = current_context()
        self._install(current.with_allowlist(current.allowlist | self.programs))

    def __repr__(self) -> str:
        return f"AllowRegistration(programs={sorted(self.programs)!r}, detached={self.detached})"


class HookRegistration(_Registration):
    """Registers one hook at construction; see :func:`before`, :func:`after`, :func:`observe`.

    ``hook`` is the registered callable; ``hook_type`` is ``"before"``,
    ``"after"`` or ``"observe"``.

    Raises:
        ValueError: ``hook_type`` is none of those.
    """

    __slots__ = ("hook", "hook_type")

    def __init__(self, hook: BeforeHook | AfterHook | _ObserveHook, hook_type: str) -> None:
        super().__init__()
        if hook_type not in _HOOK_TYPES:
            msg = f"Unsupported hook type: {hook_type} (expected one of: {', '.join(_HOOK_TYPES)})"
            raise ValueError(msg)
        self.hook = hook
        self.hook_type: _HookType = t.cast("_HookType", hook_type)
        current = current_context()
        if hook_type == "before":
            updated = current.with_before_hook(t.cast("BeforeHook", hook))
        elif hook_type == "after":
            updated = current.with_after_hook(t.cast("AfterHook", hook))
        else:
            updated = current.with_observe_hook(t.cast("_ObserveHook", hook))
        self._install(updated)

    def __repr__(self) -> str:
        return (
            f"HookRegistration(hook={self.hook!r}, hook_type={self.hook_type!r}, "
            f"detached={self.detached})"
        )


class EnvRegistration(_Registration):
    """Merges an environment overlay over the current one at construction; see :func:`env`.

    ``overlay`` is the immutable overlay this registration applied.
    """

    __slots__ = ("overlay",)

    def __init__(self, overlay: Mapping[str, str]) -> None:
        super().__init__()
        self.overlay: Mapping[str, str] = types.MappingProxyType(dict(overlay))
        self._install(current_context().with_env_overlay(self.overlay))

    def __repr__(self) -> str:
        return f"EnvRegistration(overlay={dict(self.overlay)!r}, detached={self.detached})"


def allow(*programs: Program) -> AllowRegistration:
    """Add ``programs`` to the current allowlist, now.

    Unlike :func:`scoped`, this can add programs inside a restricted (even
    deny-all) scope. With no programs on the permissive default context the
    context stays permissive; with programs on it, only those are allowed.
    """
    return AllowRegistration(*programs)


def before(hook: BeforeHook) -> HookRegistration:
    """Register ``hook`` to run before each command spawns (FIFO), now."""
    return HookRegistration(hook, "before")


def after(hook: AfterHook) -> HookRegistration:
    """Register ``hook`` to run after each command exits (newest first), now."""
    return HookRegistration(hook, "after")


def observe(hook: _ObserveHook) -> HookRegistration:
    """Register ``hook`` to receive every :class:`~cuprum.events.ExecEvent` (FIFO), now."""
    return HookRegistration(hook, "observe")


def env(*mappings: Mapping[str, str], **variables: str) -> EnvRegistration:
    """Overlay environment variables for commands run in this context, now.

    ``mappings`` merge left to right and keyword ``variables`` win. The
    overlay sits above the live process environment and below a call's
    ``ExecutionContext.env``; an inner overlay beats an outer one. ``env()``
    with nothing installs an empty overlay. A value may be a
    :class:`~cuprum.Secret`: the child receives it, events and reprs show
    ``***``.

    >>> with env({"A": "1"}, {"A": "2"}, A="3") as registration:
    ...     dict(registration.overlay)
    {'A': '3'}
    """
    merged: dict[str, str] = {}
    for mapping in mappings:
        merged.update(mapping)
    merged.update(variables)
    return EnvRegistration(merged)
