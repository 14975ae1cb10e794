"""Structured logging of execution events.

:func:`structured_logging_hook` returns an observe hook that logs one record
per event, with the event's fields as ``cuprum_*`` record attributes;
:class:`JsonLoggingFormatter` renders such records as one JSON object each::

    handler = logging.StreamHandler()
    handler.setFormatter(JsonLoggingFormatter())
    logging.getLogger("cuprum.exec").addHandler(handler)
    with observe(structured_logging_hook()):
        ...  # commands run here are logged as JSON lines
"""

from __future__ import annotations

import dataclasses
import json
import logging
import typing as t
from collections.abc import Mapping

from cuprum.events import present_fields

if t.TYPE_CHECKING:
    from cuprum.events import ExecEvent, ExecHook

__all__ = ["JsonLoggingFormatter", "LogLevels", "structured_logging_hook"]

_EXTRA_PREFIX = "cuprum_"


@dataclasses.dataclass(slots=True)
class LogLevels:
    """The level of each phase's record; phases not listed here log at DEBUG.

    ``output_level`` applies to both ``stdout`` and ``stderr`` lines.
    """

    plan_level: int = logging.DEBUG
    start_level: int = logging.INFO
    output_level: int = logging.DEBUG
    exit_level: int = logging.INFO

    def level_for(self, phase: str) -> int:
        """The level used for events of ``phase``."""
        if phase == "plan":
            return self.plan_level
        if phase == "start":
            return self.start_level
        if phase in {"stdout", "stderr"}:
            return self.output_level
        if phase == "exit":
            return self.exit_level
        return logging.DEBUG


def _message(event: ExecEvent) -> tuple[str, tuple[object, ...]]:
    phase = event.phase
    if phase == "plan":
        return "cuprum.plan program=%s argv=%r", (event.program, event.argv)
    if phase == "start":
        return "cuprum.start program=%s pid=%s", (event.program, event.pid)
    if phase in {"stdout", "stderr"}:
        return f"cuprum.{phase} pid=%s line=%r", (event.pid, event.line)
    if phase == "exit":
        duration = "unknown" if event.duration_s is None else f"{event.duration_s:.6f}"
        return (
            "cuprum.exit program=%s pid=%s exit_code=%s duration_s=%s",
            (event.program, event.pid, event.exit_code, duration),
        )
    return "cuprum.%s program=%s", (phase, event.program)


def _extras(event: ExecEvent) -> dict[str, object]:
    extras: dict[str, object] = {
        "cuprum_phase": event.phase,
        "cuprum_program": str(event.program),
        "cuprum_argv": tuple(event.argv),
    }
    extras.update((f"cuprum_{name}", value) for name, value in present_fields(event))
    extras["cuprum_tags"] = dict(event.tags)
    return extras


def structured_logging_hook(
    *, logger: logging.Logger | None = None, levels: LogLevels | None = None
) -> ExecHook:
    """An observe hook that logs every event as a structured record.

    ``logger`` defaults to ``logging.getLogger("cuprum.exec")``, ``levels`` to
    :class:`LogLevels()`. When a phase's level is disabled nothing is built
    for that event. Record attributes: ``cuprum_phase``, ``cuprum_program``,
    ``cuprum_argv`` (tuple); ``cuprum_pid``, ``cuprum_cwd`` (str),
    ``cuprum_exit_code``, ``cuprum_duration_s`` and ``cuprum_line`` when set;
    and always ``cuprum_tags`` (a dict copy). The event's ``env``,
    ``exec_id``, ``note``, ``byte_count``, ``operation`` and ``error_type``
    are not projected.
    """
    log = logger if logger is not None else logging.getLogger("cuprum.exec")
    chosen = levels if levels is not None else LogLevels()

    def hook(event: ExecEvent) -> None:
        level = chosen.level_for(event.phase)
        if not log.isEnabledFor(level):
            return
        message, args = _message(event)
        log.log(level, message, *args, extra=_extras(event))

    return hook


def _json_safe(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_json_safe(item) for item in value]
    return str(value)


class JsonLoggingFormatter(logging.Formatter):
    """Formats a record as one JSON object.

    Keys: ``timestamp`` (:meth:`~logging.Formatter.formatTime`), ``level``,
    ``logger``, ``message``, and every ``cuprum_*`` record attribute made
    JSON-safe (mappings become dicts with string keys, tuples and lists become
    lists, ``str``/``int``/``float``/``bool``/``None`` are kept, anything else
    becomes its ``str``).
    """

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a JSON object string."""
        payload: dict[str, object] = {
            "timestamp": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key.startswith(_EXTRA_PREFIX):
                payload[key] = _json_safe(value)
        return json.dumps(payload)
