"""Behaviour of cuprum.events: the event value, phases, exec ids and default tags."""

from __future__ import annotations

import collections.abc
import dataclasses
import typing as t
import uuid
from pathlib import Path

import pytest

from cuprum import events as events_module
from cuprum.catalogue import ECHO, ProjectSettings
from cuprum.events import ExecEvent, ExecHook, ExecId, ExecPhase, default_tags, new_exec_id
from cuprum.program import Program
from cuprum.sh import SafeCmd, make

REQUIRED = (
    "phase",
    "program",
    "argv",
    "cwd",
    "env",
    "pid",
    "timestamp",
    "line",
    "exit_code",
    "duration_s",
    "tags",
)
OPTIONAL = ("note", "byte_count", "operation", "error_type", "exec_id")


def _event(**overrides: t.Any) -> ExecEvent:
    fields: dict[str, t.Any] = {
        "phase": "start",
        "program": ECHO,
        "argv": ("echo", "hi"),
        "cwd": None,
        "env": None,
        "pid": 42,
        "timestamp": 1.5,
        "line": None,
        "exit_code": None,
        "duration_s": None,
        "tags": {"project": "core-ops"},
    }
    fields.update(overrides)
    return ExecEvent(**fields)


def test_all_lists_the_public_names() -> None:
    assert set(events_module.__all__) == {
        "ExecEvent",
        "ExecHook",
        "ExecId",
        "ExecPhase",
        "new_exec_id",
    }
    assert "default_tags" not in events_module.__all__


def test_phases_are_exactly_seven() -> None:
    assert t.get_args(ExecPhase) == (
        "plan",
        "start",
        "stdout",
        "stderr",
        "stdin",
        "stdin_error",
        "exit",
    )


def test_exec_event_field_order_and_defaults() -> None:
    fields = dataclasses.fields(ExecEvent)
    assert tuple(f.name for f in fields) == REQUIRED + OPTIONAL
    for field in fields:
        if field.name in REQUIRED:
            assert field.default is dataclasses.MISSING, field.name
        else:
            assert field.default is None, field.name


def test_exec_event_optional_fields_default_to_none() -> None:
    event = _event()
    for name in OPTIONAL:
        assert getattr(event, name) is None


def test_exec_event_requires_every_required_field() -> None:
    with pytest.raises(TypeError):
        ExecEvent(phase="plan", program=ECHO, argv=("echo",))  # type: ignore[call-arg]


def test_exec_event_is_frozen_slotted_and_compares_by_value() -> None:
    exec_id = new_exec_id()
    first = _event(exec_id=exec_id, cwd=Path("/tmp"))
    second = _event(exec_id=exec_id, cwd=Path("/tmp"))
    assert first == second
    assert first != _event(exec_id=new_exec_id(), cwd=Path("/tmp"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.pid = 1  # type: ignore[misc]
    assert not hasattr(first, "__dict__")


def test_exec_event_carries_phase_specific_fields() -> None:
    event = _event(
        phase="stdin_error",
        operation="write",
        error_type="BrokenPipeError",
        note="BrokenPipeError: [Errno 32] Broken pipe",
    )
    assert event.operation == "write"
    assert event.error_type == "BrokenPipeError"
    assert event.note is not None
    assert event.note.startswith("BrokenPipeError: ")
    stdin = _event(phase="stdin", byte_count=0)
    assert stdin.byte_count == 0


def test_new_exec_id_is_a_fresh_uuid4() -> None:
    ids = {new_exec_id() for _ in range(100)}
    assert len(ids) == 100
    sample = next(iter(ids))
    assert isinstance(sample, uuid.UUID)
    assert sample.version == 4
    assert ExecId(sample) == sample


def test_exec_hook_alias_describes_a_callable_returning_optional_awaitable() -> None:
    assert t.get_origin(ExecHook) is collections.abc.Callable
    params, returned = t.get_args(ExecHook)
    assert params == [ExecEvent]
    assert set(t.get_args(returned)) == {collections.abc.Awaitable[None], type(None)}


# --- default tags -------------------------------------------------------------------------


def _cmd() -> SafeCmd:
    return make(ECHO)("hi")


def test_default_tags_for_a_command() -> None:
    tags = default_tags(_cmd(), capture=True, echo=False)
    assert list(tags.items()) == [("project", "core-ops"), ("capture", True), ("echo", False)]


def test_default_tags_for_a_pipeline_stage() -> None:
    tags = default_tags(_cmd(), capture=False, echo=True, stage_index=1, stage_count=3)
    assert list(tags) == ["project", "capture", "echo", "pipeline_stage_index", "pipeline_stages"]
    assert tags["pipeline_stage_index"] == 1
    assert tags["pipeline_stages"] == 3
    assert tags["capture"] is False
    assert tags["echo"] is True


def test_caller_tags_override_defaults_even_project() -> None:
    tags = default_tags(
        _cmd(),
        capture=True,
        echo=False,
        stage_index=0,
        stage_count=2,
        extra={"project": "mine", "pipeline_stages": 9, "team": "ops"},
    )
    assert tags["project"] == "mine"
    assert tags["pipeline_stages"] == 9
    assert tags["team"] == "ops"
    assert tags["pipeline_stage_index"] == 0


def test_default_tags_are_read_only() -> None:
    tags = default_tags(_cmd(), capture=True, echo=False)
    with pytest.raises(TypeError):
        tags["project"] = "x"  # type: ignore[index]


def test_default_tags_use_the_commands_project() -> None:
    project = ProjectSettings(
        name="custom", programs=(Program("tool"),), documentation_locations=(), noise_rules=()
    )
    cmd = SafeCmd(program=Program("tool"), argv=(), project=project)
    assert default_tags(cmd, capture=True, echo=False)["project"] == "custom"


@pytest.mark.parametrize(("index", "count"), [(0, None), (None, 2)])
def test_default_tags_need_both_stage_values(index: int | None, count: int | None) -> None:
    with pytest.raises(ValueError, match="together"):
        default_tags(_cmd(), capture=True, echo=False, stage_index=index, stage_count=count)
