"""Behaviour of cuprum.context: contexts, narrowing, scopes, registrations, env overlays."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import math
import os
import threading
from collections.abc import Iterator

import pytest

from cuprum import context as context_module
from cuprum._results import CommandResult
from cuprum.catalogue import ECHO, GIT, LS, TAR
from cuprum.context import (
    AllowRegistration,
    ContextError,
    CuprumContext,
    EnvRegistration,
    ForbiddenProgramError,
    HookRegistration,
    ScopeConfig,
    after,
    allow,
    before,
    current_context,
    env,
    get_context,
    merge_env_overlays,
    observe,
    resolve_env,
    scoped,
)
from cuprum.events import ExecEvent
from cuprum.program import Program
from cuprum.sh import SafeCmd, make

CAT = Program("cat")


@pytest.fixture(autouse=True)
def _no_leaked_context() -> Iterator[None]:
    assert current_context() == CuprumContext()
    yield
    assert current_context() == CuprumContext(), "a test leaked a registration"


def _before_a(cmd: SafeCmd) -> None:
    del cmd


def _before_b(cmd: SafeCmd) -> None:
    del cmd


def _after_a(cmd: SafeCmd, result: CommandResult) -> None:
    del cmd, result


def _after_b(cmd: SafeCmd, result: CommandResult) -> None:
    del cmd, result


def _observe_a(event: ExecEvent) -> None:
    del event


def _observe_b(event: ExecEvent) -> None:
    del event


def _forbidden(ctx: CuprumContext, program: Program) -> ForbiddenProgramError:
    with pytest.raises(ForbiddenProgramError) as info:
        ctx.check_allowed(program)
    return info.value


# --- module surface ----------------------------------------------------------------


def test_all_lists_the_public_names() -> None:
    assert set(context_module.__all__) == {
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
    }
    for name in context_module.__all__:
        assert hasattr(context_module, name)


def test_context_module_does_not_expose_exec_hook() -> None:
    assert not hasattr(context_module, "ExecHook")


# --- CuprumContext -------------------------------------------------------------------


def test_context_defaults() -> None:
    ctx = CuprumContext()
    assert ctx.allowlist == frozenset()
    assert ctx.before_hooks == ()
    assert ctx.after_hooks == ()
    assert ctx.observe_hooks == ()
    assert ctx.timeout is None
    assert ctx.env_overlay is None
    assert ctx._allowlist_is_restricted is False


def test_context_is_frozen_and_slotted() -> None:
    ctx = CuprumContext()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.timeout = 1.0  # type: ignore[misc]
    assert not hasattr(ctx, "__dict__")


def test_restriction_flag_is_in_constructor_and_repr() -> None:
    ctx = CuprumContext(_allowlist_is_restricted=True)
    assert "_allowlist_is_restricted=True" in repr(ctx)
    assert ctx != CuprumContext()


def test_allowlist_given_as_a_set_is_frozen() -> None:
    ctx = CuprumContext(allowlist={ECHO})  # type: ignore[arg-type]
    assert isinstance(ctx.allowlist, frozenset)
    assert ctx.allowlist == frozenset({ECHO})


def test_env_overlay_is_an_immutable_snapshot() -> None:
    source = {"A": "1"}
    ctx = CuprumContext(env_overlay=source)
    source["A"] = "changed"
    assert ctx.env_overlay == {"A": "1"}
    with pytest.raises(TypeError):
        ctx.env_overlay["B"] = "2"  # type: ignore[index]


def test_context_with_overlay_is_hashable_and_equal_by_value() -> None:
    first = CuprumContext(env_overlay={"A": "1"}, timeout=2)
    second = CuprumContext(env_overlay={"A": "1"}, timeout=2.0)
    assert first == second
    assert hash(first) == hash(second)


def test_is_allowed_is_plain_membership() -> None:
    assert CuprumContext().is_allowed(ECHO) is False
    ctx = CuprumContext(allowlist=frozenset({ECHO}))
    assert ctx.is_allowed(ECHO) is True
    assert ctx.is_allowed(LS) is False


def test_default_context_allows_any_program() -> None:
    current_context().check_allowed(Program("anything-at-all"))
    CuprumContext().check_allowed(LS)


def test_direct_allowlist_denies_with_unrestricted_state(caplog: pytest.LogCaptureFixture) -> None:
    ctx = CuprumContext(allowlist=frozenset({ECHO}))
    ctx.check_allowed(ECHO)
    with caplog.at_level(logging.DEBUG, logger="cuprum.context"):
        error = _forbidden(ctx, LS)
    assert error.program == LS
    assert error.restricted_state is False
    records = [r for r in caplog.records if r.name == "cuprum.context"]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.DEBUG, "raised, so logged only at DEBUG"
    assert "ls" in record.getMessage()
    assert "restricted_state=False" in record.getMessage()
    assert record.operation == LS  # type: ignore[attr-defined]
    assert record.restricted_state is False  # type: ignore[attr-defined]


def test_forbidden_program_error_shape() -> None:
    error = ForbiddenProgramError(LS, restricted_state=True)
    assert str(error) == "Program 'ls' is not allowed in the current context"
    assert isinstance(error, ContextError)
    assert isinstance(error, PermissionError)
    assert issubclass(ContextError, Exception)
    assert error.program == LS
    assert error.restricted_state is True


def test_allowed_program_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="cuprum.context"):
        CuprumContext(allowlist=frozenset({ECHO})).check_allowed(ECHO)
    assert caplog.records == []


# --- timeouts (edge case 29) ----------------------------------------------------------


@pytest.mark.parametrize("owner", [ScopeConfig, CuprumContext])
def test_timeout_coerces_to_float(owner: type[ScopeConfig] | type[CuprumContext]) -> None:
    config = owner(timeout=5)
    assert config.timeout == 5.0
    assert isinstance(config.timeout, float)
    assert owner(timeout=True).timeout == 1.0
    assert owner(timeout=0).timeout == 0.0
    assert owner().timeout is None


@pytest.mark.parametrize("owner", [ScopeConfig, CuprumContext])
def test_negative_timeout_is_rejected(owner: type[ScopeConfig] | type[CuprumContext]) -> None:
    with pytest.raises(ValueError) as info:
        owner(timeout=-1)
    assert str(info.value) == f"{owner.__name__} timeout must be non-negative, got -1.0"


@pytest.mark.parametrize("owner", [ScopeConfig, CuprumContext])
@pytest.mark.parametrize(
    ("value", "shown"), [(math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf")]
)
def test_non_finite_timeout_is_rejected_first(
    owner: type[ScopeConfig] | type[CuprumContext], value: float, shown: str
) -> None:
    with pytest.raises(ValueError, match="finite") as info:
        owner(timeout=value)
    assert str(info.value) == f"{owner.__name__} timeout must be finite, got {shown}"


# --- ScopeConfig ----------------------------------------------------------------------


def test_scope_config_defaults_and_freezing() -> None:
    config = ScopeConfig()
    assert config.allowlist is None
    assert config.before_hooks == ()
    assert config.after_hooks == ()
    assert config.observe_hooks == ()
    assert config.env_overlay is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.allowlist = frozenset()  # type: ignore[misc]


def test_scope_config_snapshots_its_overlay() -> None:
    source = {"A": "1"}
    config = ScopeConfig(env_overlay=source)
    source["A"] = "2"
    assert config.env_overlay == {"A": "1"}
    with pytest.raises(TypeError):
        config.env_overlay["A"] = "3"  # type: ignore[index]


# --- narrowing (§5.4) -------------------------------------------------------------------


def test_narrow_inherits_allowlist_when_config_has_none() -> None:
    parent = CuprumContext(allowlist=frozenset({ECHO, LS}))
    child = parent.narrow(ScopeConfig())
    assert child.allowlist == {ECHO, LS}
    assert child._allowlist_is_restricted is False


def test_narrow_intersects_non_empty_parent() -> None:
    parent = CuprumContext(allowlist=frozenset({ECHO}))
    child = parent.narrow(ScopeConfig(allowlist=frozenset({ECHO, CAT})))
    assert child.allowlist == {ECHO}
    assert child._allowlist_is_restricted is True


def test_narrow_never_adds_programs() -> None:
    parent = CuprumContext(allowlist=frozenset({ECHO}))
    child = parent.narrow(ScopeConfig(allowlist=frozenset({LS})))
    assert child.allowlist == frozenset()
    _forbidden(child, ECHO)
    _forbidden(child, LS)


def test_narrow_restricted_empty_stays_empty() -> None:
    deny_all = CuprumContext(_allowlist_is_restricted=True)
    child = deny_all.narrow(ScopeConfig(allowlist=frozenset({ECHO})))
    assert child.allowlist == frozenset()
    assert _forbidden(child, ECHO).restricted_state is True


def test_narrow_unrestricted_empty_takes_config_allowlist() -> None:
    child = CuprumContext().narrow(ScopeConfig(allowlist=frozenset({ECHO})))
    assert child.allowlist == {ECHO}
    assert child._allowlist_is_restricted is True


def test_narrow_combines_hooks_timeout_and_env() -> None:
    parent = CuprumContext(
        before_hooks=(_before_a,),
        after_hooks=(_after_a,),
        observe_hooks=(_observe_a,),
        timeout=10,
        env_overlay={"A": "parent", "B": "parent"},
    )
    child = parent.narrow(
        ScopeConfig(
            before_hooks=(_before_b,),
            after_hooks=(_after_b,),
            observe_hooks=(_observe_b,),
            env_overlay={"A": "child"},
        )
    )
    assert child.before_hooks == (_before_a, _before_b)
    assert child.after_hooks == (_after_b, _after_a)
    assert child.observe_hooks == (_observe_a, _observe_b)
    assert child.timeout == 10.0
    assert child.env_overlay == {"A": "child", "B": "parent"}
    assert parent.narrow(ScopeConfig(timeout=1)).timeout == 1.0


# --- with_* / without_* ----------------------------------------------------------------


def test_with_allowlist_replaces_without_intersecting() -> None:
    ctx = CuprumContext(allowlist=frozenset({ECHO})).with_allowlist({LS, GIT})
    assert ctx.allowlist == {LS, GIT}
    assert ctx._allowlist_is_restricted is True


def test_with_allowlist_restriction_rules() -> None:
    assert CuprumContext().with_allowlist(frozenset())._allowlist_is_restricted is False
    assert CuprumContext().with_allowlist({ECHO})._allowlist_is_restricted is True
    emptied = CuprumContext(allowlist=frozenset({ECHO})).with_allowlist(())
    assert emptied._allowlist_is_restricted is True
    still = CuprumContext(_allowlist_is_restricted=True).with_allowlist(())
    assert still._allowlist_is_restricted is True


def test_with_program_and_without_program() -> None:
    ctx = CuprumContext().with_program(ECHO).with_program(LS)
    assert ctx.allowlist == {ECHO, LS}
    assert ctx.without_program(ECHO).allowlist == {LS}


def test_without_last_program_denies_everything() -> None:
    ctx = CuprumContext().with_program(ECHO).without_program(ECHO)
    assert ctx.allowlist == frozenset()
    assert _forbidden(ctx, ECHO).restricted_state is True
    _forbidden(ctx, LS)


def test_hook_methods_order_and_removal() -> None:
    ctx = (
        CuprumContext()
        .with_before_hook(_before_a)
        .with_before_hook(_before_b)
        .with_before_hook(_before_a)
        .with_after_hook(_after_a)
        .with_after_hook(_after_b)
        .with_observe_hook(_observe_a)
        .with_observe_hook(_observe_b)
    )
    assert ctx.before_hooks == (_before_a, _before_b, _before_a)
    assert ctx.after_hooks == (_after_b, _after_a)
    assert ctx.observe_hooks == (_observe_a, _observe_b)
    assert ctx.without_before_hook(_before_a).before_hooks == (_before_b,)
    assert ctx.without_after_hook(_after_b).after_hooks == (_after_a,)
    assert ctx.without_observe_hook(_observe_a).observe_hooks == (_observe_b,)


def test_with_env_overlay_merges_new_over_old() -> None:
    ctx = CuprumContext(env_overlay={"A": "1", "B": "1"}).with_env_overlay({"A": "2"})
    assert ctx.env_overlay == {"A": "2", "B": "1"}
    assert CuprumContext().with_env_overlay(None).env_overlay is None
    assert CuprumContext().with_env_overlay({}).env_overlay == {}


# --- scopes -----------------------------------------------------------------------------


def test_current_context_and_get_context_read_the_same_default() -> None:
    assert current_context() is get_context()
    assert current_context() is current_context()
    assert current_context() == CuprumContext()


def test_scoped_installs_and_restores() -> None:
    outside = current_context()
    with scoped(ScopeConfig(allowlist=frozenset({ECHO}), timeout=3)) as ctx:
        assert current_context() is ctx
        assert ctx.allowlist == {ECHO}
        assert ctx.timeout == 3.0
    assert current_context() is outside


def test_scoped_restores_on_exception() -> None:
    outside = current_context()
    with pytest.raises(RuntimeError, match="boom"), scoped(ScopeConfig(timeout=1)):
        raise RuntimeError("boom")
    assert current_context() is outside


def test_root_empty_scope_stays_permissive() -> None:
    with scoped(ScopeConfig()) as ctx:
        ctx.check_allowed(LS)
    with scoped() as ctx:
        ctx.check_allowed(LS)


def test_root_empty_allowlist_denies_everything() -> None:
    with scoped(ScopeConfig(allowlist=frozenset())):
        for program in (ECHO, LS, GIT):
            assert _forbidden(current_context(), program).restricted_state is True


def test_nested_empty_scope_stays_restricted() -> None:
    with scoped(ScopeConfig(allowlist=frozenset({ECHO}))), scoped(ScopeConfig()) as inner:
        inner.check_allowed(ECHO)
        assert _forbidden(inner, LS).restricted_state is True


def test_nested_scopes_narrow_and_keep_restricted_empty() -> None:
    with scoped(ScopeConfig(allowlist=frozenset({ECHO}))):
        with scoped(ScopeConfig(allowlist=frozenset({ECHO, CAT}))) as inner:
            assert inner.allowlist == {ECHO}
        with scoped(ScopeConfig(allowlist=frozenset({CAT}))) as empty:
            assert empty.allowlist == frozenset()
            with scoped(ScopeConfig(allowlist=frozenset({CAT, ECHO}))) as deeper:
                assert deeper.allowlist == frozenset()
                _forbidden(deeper, ECHO)


def test_scoped_computes_its_context_when_called() -> None:
    pending = scoped(ScopeConfig(timeout=4))
    with allow(LS), pending as ctx:
        assert ctx.allowlist == frozenset()
        ctx.check_allowed(GIT)
        assert ctx.timeout == 4.0


def test_scoped_hooks_nest_parent_to_child_for_before_and_child_to_parent_for_after() -> None:
    calls: list[str] = []

    def outer_before(cmd: SafeCmd) -> None:
        calls.append(f"outer-before:{cmd.program}")

    def inner_before(cmd: SafeCmd) -> None:
        calls.append(f"inner-before:{cmd.program}")

    def outer_after(cmd: SafeCmd, result: CommandResult) -> None:
        calls.append(f"outer-after:{result.exit_code}")

    def inner_after(cmd: SafeCmd, result: CommandResult) -> None:
        calls.append(f"inner-after:{result.exit_code}")

    cmd = make(ECHO)("hi")
    result = CommandResult(program=ECHO, argv=("hi",), exit_code=0, pid=1, stdout="hi\n", stderr="")
    with (
        scoped(ScopeConfig(before_hooks=(outer_before,), after_hooks=(outer_after,))),
        scoped(ScopeConfig(before_hooks=(inner_before,), after_hooks=(inner_after,))) as ctx,
    ):
        for before_hook in ctx.before_hooks:
            before_hook(cmd)
        for after_hook in ctx.after_hooks:
            after_hook(cmd, result)
    assert calls == ["outer-before:echo", "inner-before:echo", "inner-after:0", "outer-after:0"]


# --- registrations ----------------------------------------------------------------------


def test_allow_applies_immediately_and_detaches() -> None:
    registration = allow(LS)
    try:
        assert isinstance(registration, AllowRegistration)
        assert registration.programs == {LS}
        assert current_context().allowlist == {LS}
        _forbidden(current_context(), ECHO)
    finally:
        registration.detach()
    current_context().check_allowed(ECHO)


def test_allow_without_programs_keeps_default_permissive() -> None:
    with allow() as registration:
        assert isinstance(registration, AllowRegistration)
        assert current_context()._allowlist_is_restricted is False
        current_context().check_allowed(TAR)


def test_allow_inside_restricted_scope_adds_the_program() -> None:
    with scoped(ScopeConfig(allowlist=frozenset({ECHO}))), allow(LS):
        current_context().check_allowed(LS)
        current_context().check_allowed(ECHO)
        _forbidden(current_context(), GIT)


def test_allow_inside_deny_all_scope_adds_the_program() -> None:
    with scoped(ScopeConfig(allowlist=frozenset())), allow(GIT):
        current_context().check_allowed(GIT)
        _forbidden(current_context(), ECHO)


def test_out_of_order_detach_restores_creation_state() -> None:
    def scenario() -> None:
        first = allow(LS)
        second = allow(GIT)
        assert current_context().allowlist == {LS, GIT}
        first.detach()
        assert current_context() == CuprumContext()
        second.detach()
        assert current_context().allowlist == {LS}
        second.detach()
        first.detach()
        assert current_context().allowlist == {LS}

    # Run in a copy: the resurrected ``{LS}`` state must not outlive the test.
    contextvars.copy_context().run(scenario)


def test_double_detach_is_a_no_op() -> None:
    registration = allow(LS)
    registration.detach()
    assert registration.detached is True
    with scoped(ScopeConfig(timeout=2)) as ctx:
        registration.detach()
        assert current_context() is ctx


def test_hook_registrations_add_hooks() -> None:
    with before(_before_a) as b, after(_after_a) as a, observe(_observe_a) as o:
        assert (b.hook_type, a.hook_type, o.hook_type) == ("before", "after", "observe")
        assert b.hook is _before_a
        ctx = current_context()
        assert ctx.before_hooks == (_before_a,)
        assert ctx.after_hooks == (_after_a,)
        assert ctx.observe_hooks == (_observe_a,)
        with after(_after_b):
            assert current_context().after_hooks == (_after_b, _after_a)
    assert current_context() == CuprumContext()


def test_hook_registration_constructor_accepts_each_type() -> None:
    with HookRegistration(_observe_a, "observe") as registration:
        assert current_context().observe_hooks == (_observe_a,)
        assert registration.hook is _observe_a


def test_hook_registration_rejects_unknown_type() -> None:
    with pytest.raises(ValueError, match="Unsupported hook type: ") as info:
        HookRegistration(_before_a, "during")
    assert "during" in str(info.value)
    assert current_context() == CuprumContext()


def test_registration_enter_returns_handle() -> None:
    registration = env(A="1")
    with registration as entered:
        assert entered is registration
    assert registration.detached


def test_detach_from_another_thread_raises() -> None:
    registration = allow(LS)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            registration.detach()
        except ValueError as error:
            errors.append(error)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    try:
        assert len(errors) == 1
        assert "AllowRegistration" in str(errors[0])
        assert registration.detached is False
        assert current_context().allowlist == {LS}
    finally:
        registration.detach()


def test_detach_from_another_task_raises() -> None:
    async def main() -> None:
        registration = allow(LS)

        async def child() -> None:
            registration.detach()

        with pytest.raises(ValueError, match="thread or task"):
            await asyncio.create_task(child())
        assert current_context().allowlist == {LS}
        registration.detach()
        assert current_context() == CuprumContext()

    asyncio.run(main())


def test_threads_see_the_default_context() -> None:
    seen: list[CuprumContext] = []
    with scoped(ScopeConfig(allowlist=frozenset({ECHO}))), allow(LS):
        thread = threading.Thread(target=lambda: seen.append(current_context()))
        thread.start()
        thread.join()
    assert seen == [CuprumContext()]


def test_sibling_tasks_do_not_see_each_others_scopes() -> None:
    async def main() -> dict[str, frozenset[Program]]:
        entered = asyncio.Event()
        checked = asyncio.Event()
        seen: dict[str, frozenset[Program]] = {}

        async def scoped_task() -> None:
            with scoped(ScopeConfig(allowlist=frozenset({ECHO}))), allow(LS):
                entered.set()
                await checked.wait()
                seen["inside"] = current_context().allowlist

        async def sibling() -> None:
            await entered.wait()
            seen["sibling"] = current_context().allowlist
            checked.set()

        await asyncio.gather(scoped_task(), sibling())
        seen["parent"] = current_context().allowlist
        return seen

    seen = asyncio.run(main())
    assert seen == {"inside": {ECHO, LS}, "sibling": frozenset(), "parent": frozenset()}


def test_tasks_inherit_their_creators_scope() -> None:
    async def main() -> CuprumContext:
        with scoped(ScopeConfig(timeout=7)):
            return await asyncio.create_task(_read_context())

    assert asyncio.run(main()).timeout == 7.0


async def _read_context() -> CuprumContext:
    return current_context()


# --- environment overlays ----------------------------------------------------------------


def test_env_with_nothing_installs_an_empty_overlay() -> None:
    with env() as registration:
        assert current_context().env_overlay == {}
        assert current_context().env_overlay is not None
        assert registration.overlay == {}


def test_env_merges_mappings_then_keywords() -> None:
    with env({"A": "1", "B": "b"}, {"A": "2"}, A="3") as registration:
        assert isinstance(registration, EnvRegistration)
        assert registration.overlay == {"A": "3", "B": "b"}
        assert current_context().env_overlay == {"A": "3", "B": "b"}
        with pytest.raises(TypeError):
            registration.overlay["A"] = "4"  # type: ignore[index]


def test_inner_env_beats_outer_and_call_env_beats_both() -> None:
    with env(A="outer", B="outer"), env(A="inner"):
        overlay = current_context().env_overlay
        assert overlay == {"A": "inner", "B": "outer"}
        resolved = resolve_env(overlay, {"B": "call"})
        assert resolved is not None
        assert resolved["A"] == "inner"
        assert resolved["B"] == "call"


def test_env_registration_snapshots_its_input() -> None:
    source = {"A": "1"}
    with EnvRegistration(source) as registration:
        source["A"] = "2"
        assert registration.overlay == {"A": "1"}
        assert current_context().env_overlay == {"A": "1"}


def test_merge_env_overlays_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUPRUM_TEST_ONLY_IN_ENVIRON", "1")
    assert merge_env_overlays(None, None) is None
    source = {"A": "1"}
    copied = merge_env_overlays(source, None)
    source["A"] = "changed"
    assert copied == {"A": "1"}
    assert merge_env_overlays(None, {}) == {}
    assert merge_env_overlays({}, None) == {}
    merged = merge_env_overlays({"A": "1", "B": "1"}, {"B": "2"})
    assert merged == {"A": "1", "B": "2"}
    assert merged is not None
    assert "CUPRUM_TEST_ONLY_IN_ENVIRON" not in merged
    with pytest.raises(TypeError):
        merged["C"] = "3"  # type: ignore[index]


def test_resolve_env_inherits_when_every_layer_is_empty() -> None:
    assert resolve_env() is None
    assert resolve_env(None) is None
    assert resolve_env({}, None) is None


def test_resolve_env_reads_live_environ_and_never_mutates_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CUPRUM_TEST_LATE", raising=False)
    before_environ = dict(os.environ)
    with env(CUPRUM_TEST_OVERLAY="overlay"):
        monkeypatch.setenv("CUPRUM_TEST_LATE", "late")
        resolved = resolve_env(current_context().env_overlay, {"CUPRUM_TEST_CALL": "call"})
    assert resolved is not None
    assert resolved["CUPRUM_TEST_LATE"] == "late"
    assert resolved["CUPRUM_TEST_OVERLAY"] == "overlay"
    assert resolved["CUPRUM_TEST_CALL"] == "call"
    resolved["CUPRUM_TEST_MUTATION"] = "x"
    monkeypatch.delenv("CUPRUM_TEST_LATE")
    assert dict(os.environ) == before_environ


def test_resolve_env_applies_layers_left_to_right() -> None:
    resolved = resolve_env({"CUPRUM_X": "1"}, {}, None, {"CUPRUM_X": "2"})
    assert resolved is not None
    assert resolved["CUPRUM_X"] == "2"
    assert resolve_env({"CUPRUM_X": "1"}) is not resolve_env({"CUPRUM_X": "1"})
