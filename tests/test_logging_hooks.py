"""Behaviour of cuprum.logging_hooks: start/exit records from a before/after hook pair."""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import Iterator

import pytest

from cuprum import logging_hooks as logging_hooks_module
from cuprum._results import CommandResult
from cuprum.catalogue import ECHO
from cuprum.context import CuprumContext, current_context
from cuprum.logging_hooks import LoggingHookRegistration, logging_hook
from cuprum.sh import SafeCmd, make

LOGGER = "cuprum.test.logging_hooks"


@pytest.fixture(autouse=True)
def _no_leaked_context() -> Iterator[None]:
    assert current_context() == CuprumContext()
    yield
    assert current_context() == CuprumContext(), "a test leaked a registration"


def _cmd(*args: str) -> SafeCmd:
    return make(ECHO)(*args)


def _result(stdout: str | None = None, stderr: str | None = None) -> CommandResult:
    return CommandResult(
        program=ECHO, argv=("hi",), exit_code=3, pid=4242, stdout=stdout, stderr=stderr
    )


def _run_hooks(cmd: SafeCmd, result: CommandResult, *, start: bool = True) -> None:
    ctx = current_context()
    if start:
        for hook in ctx.before_hooks:
            hook(cmd)
    for after_hook in ctx.after_hooks:
        after_hook(cmd, result)


def _messages(caplog: pytest.LogCaptureFixture, logger: str = LOGGER) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


def test_all_lists_the_public_names() -> None:
    assert set(logging_hooks_module.__all__) == {"LoggingHookRegistration", "logging_hook"}


def test_registers_a_before_then_an_after_hook() -> None:
    with logging_hook() as registration:
        assert isinstance(registration, LoggingHookRegistration)
        ctx = current_context()
        assert len(ctx.before_hooks) == 1
        assert len(ctx.after_hooks) == 1
        assert registration.start_registration is not None
        assert registration.exit_registration is not None
        assert registration.start_registration.hook_type == "before"
        assert registration.exit_registration.hook_type == "after"
        assert ctx.before_hooks[0] is registration.start_registration.hook
        assert ctx.after_hooks[0] is registration.exit_registration.hook


def test_start_and_exit_records(caplog: pytest.LogCaptureFixture) -> None:
    cmd = _cmd("hi", "there")
    with (
        caplog.at_level(logging.DEBUG, logger=LOGGER),
        logging_hook(logger=logging.getLogger(LOGGER)),
    ):
        _run_hooks(cmd, _result(stdout="hi there\n", stderr="oops"))
    start, exit_ = _messages(caplog)
    assert start == "cuprum.start program=echo argv=('echo', 'hi', 'there')"
    match = re.fullmatch(
        r"cuprum\.exit program=echo pid=4242 exit_code=3 duration_s=(\d+\.\d{6}) "
        r"stdout_len=9 stderr_len=4",
        exit_,
    )
    assert match is not None, exit_
    assert float(match.group(1)) >= 0
    assert [r.levelno for r in caplog.records if r.name == LOGGER] == [logging.INFO] * 2


def test_exit_without_capture_and_without_start(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.INFO, logger=LOGGER),
        logging_hook(logger=logging.getLogger(LOGGER)),
    ):
        _run_hooks(_cmd("hi"), _result(), start=False)
    (message,) = _messages(caplog)
    assert "duration_s=unknown" in message
    assert message.endswith("stdout_len=0 stderr_len=0")


def test_default_logger_is_cuprum(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="cuprum"), logging_hook():
        _run_hooks(_cmd("x"), _result())
    messages = _messages(caplog, "cuprum")
    assert len(messages) == 2
    assert messages[0].startswith("cuprum.start ")
    assert messages[1].startswith("cuprum.exit ")


def test_custom_levels(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger(LOGGER)
    with (
        caplog.at_level(logging.DEBUG, logger=LOGGER),
        logging_hook(logger=logger, start_level=logging.DEBUG, exit_level=logging.WARNING),
    ):
        _run_hooks(_cmd("x"), _result())
    levels = [r.levelno for r in caplog.records if r.name == LOGGER]
    assert levels == [logging.DEBUG, logging.WARNING]


def test_disabled_start_level_still_records_the_start_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger(LOGGER)
    cmd = _cmd("x")
    with (
        caplog.at_level(logging.INFO, logger=LOGGER),
        logging_hook(logger=logger, start_level=logging.DEBUG) as registration,
    ):
        _run_hooks(cmd, _result())
        assert registration.start_registration is not None
    (message,) = _messages(caplog)
    assert message.startswith("cuprum.exit ")
    assert "duration_s=unknown" not in message


def test_disabled_exit_level_logs_nothing_and_consumes_the_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger(LOGGER)
    cmd = _cmd("x")
    with caplog.at_level(logging.INFO, logger=LOGGER), logging_hook(logger=logger) as registration:
        assert registration.exit_registration is not None
        exit_hook = registration.exit_registration.hook
        logger.setLevel(logging.ERROR)
        _run_hooks(cmd, _result())
        assert _messages(caplog) == []
        logger.setLevel(logging.INFO)
        exit_hook(cmd, _result())  # type: ignore[call-arg, arg-type]
    (message,) = _messages(caplog)
    assert "duration_s=unknown" in message


def test_each_exit_consumes_its_start(caplog: pytest.LogCaptureFixture) -> None:
    cmd = _cmd("x")
    with (
        caplog.at_level(logging.INFO, logger=LOGGER),
        logging_hook(logger=logging.getLogger(LOGGER)),
    ):
        _run_hooks(cmd, _result())
        _run_hooks(cmd, _result(), start=False)
    exits = [m for m in _messages(caplog) if m.startswith("cuprum.exit")]
    assert "duration_s=unknown" not in exits[0]
    assert "duration_s=unknown" in exits[1]


def test_equal_commands_share_a_start_slot(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.INFO, logger=LOGGER),
        logging_hook(logger=logging.getLogger(LOGGER)),
    ):
        ctx = current_context()
        first, second = _cmd("same"), _cmd("same")
        assert first is not second
        ctx.before_hooks[0](first)
        ctx.after_hooks[0](second, _result())
    exit_message = _messages(caplog)[-1]
    assert "duration_s=unknown" not in exit_message


def test_start_times_are_held_weakly(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.INFO, logger=LOGGER),
        logging_hook(logger=logging.getLogger(LOGGER)),
    ):
        ctx = current_context()
        ctx.before_hooks[0](_cmd("weak"))
        gc.collect()
        ctx.after_hooks[0](_cmd("weak"), _result())
    assert "duration_s=unknown" in _messages(caplog)[-1]


def test_separate_registrations_keep_separate_start_times(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger(LOGGER)
    cmd = _cmd("x")
    with caplog.at_level(logging.INFO, logger=LOGGER), logging_hook(logger=logger):
        first_start = current_context().before_hooks[0]
        with logging_hook(logger=logger):
            first_start(cmd)
            current_context().after_hooks[0](cmd, _result())
    assert "duration_s=unknown" in _messages(caplog)[-1]


def test_detach_restores_context_and_is_idempotent() -> None:
    registration = logging_hook()
    assert current_context().before_hooks != ()
    registration.detach()
    assert registration.start_registration is None
    assert registration.exit_registration is None
    assert current_context() == CuprumContext()
    registration.detach()
    assert current_context() == CuprumContext()


def test_detach_removes_exit_hook_before_start_hook() -> None:
    order: list[str] = []
    registration = logging_hook()
    start = registration.start_registration
    exit_ = registration.exit_registration
    assert start is not None
    assert exit_ is not None

    class Recording:
        def __init__(self, name: str, inner: object) -> None:
            self.name = name
            self.inner = inner

        def detach(self) -> None:
            order.append(self.name)
            self.inner.detach()  # type: ignore[attr-defined]

    registration.start_registration = Recording("start", start)  # type: ignore[assignment]
    registration.exit_registration = Recording("exit", exit_)  # type: ignore[assignment]
    registration.detach()
    assert order == ["exit", "start"]
    assert current_context() == CuprumContext()


def test_logged_argv_is_not_redacted(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.INFO, logger=LOGGER),
        logging_hook(logger=logging.getLogger(LOGGER)),
    ):
        _run_hooks(_cmd("--password=hunter2"), _result())
    assert "--password=hunter2" in _messages(caplog)[0]
