"""The five behaviours existing cuprum users' tests rely on (spec api.md),
each pinned to the exact wording or member those tests check."""

from __future__ import annotations

import contextvars
import logging
import threading

import pytest

from cuprum import LS, HookRegistration, allow, current_context
from cuprum.adapters.tracing_adapter import TracingHook
from cuprum.adapters.tracing_memory import InMemoryTracer
from cuprum.builders.args import PathRejection, classify_path_string
from cuprum.events import ExecEvent, new_exec_id
from cuprum.program import Program
from cuprum.sh import build_argv


@pytest.mark.parametrize(
    ("args", "kwargs", "where"),
    [
        ((None,), {}, "positional argument 0"),
        (("log", None), {}, "positional argument 1"),
        ((), {"author": None}, "keyword argument 'author'"),
    ],
)
def test_build_argv_none_says_it_is_not_a_valid_argv_element(
    args: tuple[object, ...], kwargs: dict[str, object], where: str
) -> None:
    with pytest.raises(TypeError, match="None is not a valid argv element") as info:
        build_argv(*args, **kwargs)
    assert where in str(info.value)


def test_unsupported_hook_type_is_named_unquoted() -> None:
    with pytest.raises(ValueError, match="Unsupported hook type: invalid") as info:
        HookRegistration(lambda _cmd: None, "invalid")
    assert "'invalid'" not in str(info.value)


def test_detach_from_a_different_context_says_different_context() -> None:
    registration = allow(LS)
    errors: list[ValueError] = []

    def elsewhere() -> None:
        try:
            registration.detach()
        except ValueError as error:
            errors.append(error)

    contextvars.Context().run(elsewhere)
    try:
        assert len(errors) == 1
        assert "different Context" in str(errors[0])
    finally:
        registration.detach()


def test_a_failed_cross_context_detach_can_be_retried_from_the_right_context() -> None:
    before = current_context()
    registration = allow(LS)
    errors: list[ValueError] = []

    def elsewhere() -> None:
        try:
            registration.detach()
        except ValueError as error:
            errors.append(error)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert len(errors) == 1
    assert registration.detached is False
    assert current_context().allowlist == {LS}
    registration.detach()
    assert registration.detached is True
    assert current_context() is before


def _event(phase: str) -> ExecEvent:
    return ExecEvent(
        phase,  # type: ignore[arg-type]
        Program("ls"),
        ("ls",),
        None,
        None,
        123,
        0.0,
        None,
        None,
        None,
        {},
        exec_id=new_exec_id(),
    )


def test_tracing_hook_logs_unknown_phases_with_the_original_wording(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hook = TracingHook(InMemoryTracer())
    with caplog.at_level(logging.DEBUG, logger="cuprum"):
        hook(_event("teleport"))
    messages = [record.getMessage() for record in caplog.records]
    assert "Ignoring unhandled tracing adapter phase: teleport" in messages


def test_path_rejection_has_not_absolute_for_a_relative_path() -> None:
    assert classify_path_string("relative/x", allow_relative=False) is PathRejection.NOT_ABSOLUTE
    assert PathRejection.NOT_ABSOLUTE.value == "SafePath requires an absolute path by default"
    assert PathRejection.RELATIVE is PathRejection.NOT_ABSOLUTE, "the old name stays an alias"
    assert classify_path_string("relative/x", allow_relative=True) is None
