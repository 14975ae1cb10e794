"""cuprum.Secret (beyond.md §18): the value reaches the child, the mask reaches
everything else. The full every-path scan is in test_secret_scan.py."""

from __future__ import annotations

import copy
import json
import logging
import pickle
import subprocess

import pytest

from cuprum import (
    ExecEvent,
    ExecutionContext,
    ExitCodeError,
    ScopeConfig,
    Secret,
    StdinInput,
    TimeoutExpired,
    before,
    env,
    logging_hook,
    merge_env_overlays,
    observe,
    redact,
    resolve_env,
    scoped,
)
from cuprum.adapters.logging_adapter import structured_logging_hook
from cuprum.sh import build_argv, make
from helpers import FIXTURE, SH, TEST_CATALOGUE

fx = make(FIXTURE, catalogue=TEST_CATALOGUE)
sh = make(SH, catalogue=TEST_CATALOGUE)
VALUE = "hunter2-value"


# --- the value type -------------------------------------------------------------------


def test_repr_and_str_show_the_mask_and_reveal_gives_the_value() -> None:
    secret = Secret(VALUE)
    assert repr(secret) == "Secret('***')"
    assert str(secret) == "***"
    assert f"{secret}" == "***"
    assert f"--token={secret}" == "--token=***"
    assert secret.reveal() == VALUE
    assert type(secret.reveal()) is str


def test_secrets_are_equal_by_value_and_hashable() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert hash(Secret("a")) == hash(Secret("a"))
    assert len({Secret("a"), Secret("a"), Secret("b")}) == 2


def test_a_secret_never_equals_plain_text_not_even_its_mask_or_value() -> None:
    secret = Secret(VALUE)
    assert secret != VALUE
    assert secret != "***"
    assert secret != VALUE
    assert secret != "***"


def test_a_secret_is_immutable() -> None:
    secret = Secret(VALUE)
    with pytest.raises(AttributeError, match="immutable"):
        secret.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="immutable"):
        del secret._value  # type: ignore[attr-defined]


def test_a_secret_needs_a_str() -> None:
    with pytest.raises(TypeError, match="Secret value must be a str, got bytes"):
        Secret(b"token")  # type: ignore[arg-type]


def test_wrapping_a_secret_keeps_its_value() -> None:
    inner = Secret(VALUE)
    assert Secret(inner).reveal() == VALUE


def test_a_secret_survives_pickle_and_copy() -> None:
    secret = Secret._after("--token=", Secret(VALUE))
    for clone in (pickle.loads(pickle.dumps(secret)), copy.deepcopy(secret), copy.copy(secret)):
        assert clone == secret
        assert clone.reveal() == f"--token={VALUE}"
        assert repr(clone) == "Secret('--token=***')"


def test_redact_turns_every_shape_into_plain_masked_text() -> None:
    assert redact(Secret(VALUE)) == "***"
    assert type(redact(Secret(VALUE))) is str
    assert redact(("a", Secret(VALUE))) == ("a", "***")
    argv = ("a", "b")
    assert redact(argv) is argv
    assert dict(redact({"A": "1", "T": Secret(VALUE)})) == {"A": "1", "T": "***"}
    assert redact(None) is None
    assert redact("plain") == "plain"


# --- where secrets are accepted, and what the child receives -----------------------------


def test_the_child_receives_a_positional_secret(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner(fx("echo", "user", Secret(VALUE)))
    assert result.stdout == f"user {VALUE}\n"
    assert result.argv == ("echo", "user", "***")


def test_a_builder_keyword_secret_is_shown_with_its_flag(runner) -> None:  # type: ignore[no-untyped-def]
    cmd = fx("echo", token=Secret(VALUE))
    assert cmd.argv == ("echo", Secret(f"--token={VALUE}"))
    assert repr(cmd.argv[1]) == "Secret('--token=***')"
    result = runner(cmd)
    assert result.stdout == f"--token={VALUE}\n"
    assert result.argv == ("echo", "--token=***")


def test_build_argv_keeps_secrets() -> None:
    argv = build_argv("log", Secret(VALUE), token=Secret(VALUE))
    assert redact(argv) == ("log", "***", "--token=***")
    assert [item.reveal() for item in argv[1:]] == [VALUE, f"--token={VALUE}"]  # type: ignore[attr-defined]


def test_the_child_receives_an_execution_context_env_secret(runner) -> None:  # type: ignore[no-untyped-def]
    ctx = ExecutionContext(env={"TOKEN": Secret(VALUE)})
    assert runner(fx("env", "TOKEN"), context=ctx).stdout == f"{VALUE}\n"


def test_the_child_receives_an_env_overlay_secret(runner) -> None:  # type: ignore[no-untyped-def]
    with env(TOKEN=Secret(VALUE)):
        assert runner(fx("env", "TOKEN")).stdout == f"{VALUE}\n"
    with scoped(ScopeConfig(env_overlay={"TOKEN": Secret(VALUE)})):
        assert runner(fx("env", "TOKEN")).stdout == f"{VALUE}\n"


def test_every_pipeline_stage_receives_its_secrets() -> None:
    result = (fx("echo", Secret(VALUE)) | fx("cat")).run_sync()
    assert result.stdout == f"{VALUE}\n"
    assert result.stages[0].argv == ("echo", "***")


def test_resolve_env_reveals_for_the_child_and_merging_keeps_the_secret() -> None:
    merged = merge_env_overlays({"A": "1"}, {"T": Secret(VALUE)})
    assert merged is not None
    assert isinstance(merged["T"], Secret)
    resolved = resolve_env(merged)
    assert resolved is not None
    assert resolved["T"] == VALUE
    assert type(resolved["T"]) is str


# --- where the mask is shown ------------------------------------------------------------


def test_reprs_of_commands_contexts_and_registrations_show_the_mask() -> None:
    cmd = fx("echo", Secret(VALUE), token=Secret(VALUE))
    ctx = ExecutionContext(env={"T": Secret(VALUE)})
    with env(T=Secret(VALUE)) as registration:
        from cuprum import current_context

        rendered = [repr(cmd), str(cmd), repr(cmd | fx("cat")), repr(ctx), str(ctx)]
        rendered += [repr(registration), repr(current_context())]
    for text in rendered:
        assert VALUE not in text
        assert "***" in text


def test_events_carry_masked_argv_and_env() -> None:
    events: list[ExecEvent] = []
    ctx = ExecutionContext(env={"CTX": Secret(VALUE), "PLAIN": "p"})
    with env(SCOPE=Secret(VALUE)), observe(events.append):
        fx("echo", Secret(VALUE)).run_sync(context=ctx)
    assert {event.phase for event in events} >= {"plan", "start", "stdout", "exit"}
    for event in events:
        assert event.argv[1:] == ("echo", "***")
        assert event.env is not None
        assert dict(event.env) == {"SCOPE": "***", "CTX": "***", "PLAIN": "p"}


def test_logging_hook_records_show_the_mask(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="cuprum")
    with logging_hook():
        fx("exit", 0, Secret(VALUE)).run_sync()
    start = next(r.getMessage() for r in caplog.records if "cuprum.start" in r.getMessage())
    assert start.endswith("'exit', '0', '***')")
    assert all(VALUE not in record.getMessage() for record in caplog.records)


def test_timeout_expired_names_the_masked_argv() -> None:
    with pytest.raises(TimeoutExpired) as error:
        fx("sleep", 5, Secret(VALUE)).run_sync(
            timeout=0.05, context=ExecutionContext(cancel_grace=0.1)
        )
    assert error.value.cmd == (str(FIXTURE), "sleep", "5", "***")
    assert VALUE not in str(error.value)


def test_a_nul_in_a_secret_raises_without_showing_it() -> None:
    with pytest.raises(ValueError, match=r"argv\[2\] '\*\*\*' contains a NUL byte") as error:
        fx("echo", Secret(VALUE + "\0")).run_sync()
    assert VALUE not in str(error.value)


def test_a_nul_in_a_flag_secret_shows_only_the_flag() -> None:
    with pytest.raises(ValueError, match=r"'--token=\*\*\*' contains a NUL byte") as error:
        fx("echo", token=Secret("\0" + VALUE)).run_sync()
    assert VALUE not in str(error.value)


def test_exit_code_error_masks_a_secret_the_child_wrote_to_stderr() -> None:
    # git prints the URL it was given, token included: the message must not.
    script = 'echo "fatal: repository $1 not found" >&2; echo "token was $TOKEN" >&2; exit 128'
    url = Secret(f"https://user:{VALUE}@example.com/repo.git")
    ctx = ExecutionContext(env={"TOKEN": Secret(VALUE)})
    with pytest.raises(ExitCodeError) as error:
        sh("-c", script, "sh", url).run_sync(context=ctx, check=True)
    message = str(error.value)
    assert message == "/bin/sh exited with 128: fatal: repository *** not found\ntoken was ***"
    assert error.value.cmd == ("/bin/sh", "-c", script, "sh", "***")
    # The captured output itself is the child's own and stays intact.
    assert VALUE in (error.value.stderr or "")
    assert isinstance(error.value, subprocess.CalledProcessError)
    assert VALUE not in repr(pickle.loads(pickle.dumps(error.value)).args[0].argv)
    assert str(pickle.loads(pickle.dumps(error.value))) == message


def test_concatenating_a_secret_gives_the_mask_not_the_value() -> None:
    secret = Secret(VALUE)
    assert "--token=" + secret == "--token=***"
    assert " ".join(("a", secret)) == "a ***"
    assert json.dumps([secret]) == '["***"]'


def test_redact_in_a_before_hook_shows_the_mask() -> None:
    shown: list[str] = []
    with before(lambda cmd: shown.append(" ".join(redact(cmd.argv_with_program)))):
        fx("echo", Secret(VALUE)).run_sync()
    assert shown == [f"{FIXTURE} echo ***"]


def test_a_stdin_payload_appears_in_no_event_or_log_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[ExecEvent] = []
    with logging_hook(), observe(structured_logging_hook()), observe(events.append):
        result = fx("count").run_sync(stdin=StdinInput(text=VALUE))
    assert result.stdout == f"{len(VALUE)}\n"
    stdin_events = [event for event in events if event.phase == "stdin"]
    assert [event.byte_count for event in stdin_events] == [len(VALUE)]
    assert all(VALUE not in repr(event) for event in events)
    assert all(VALUE not in record.getMessage() for record in caplog.records)
    assert all(VALUE not in repr(vars(record)) for record in caplog.records)


@pytest.mark.parametrize("where", ["argv", "env"])
def test_an_unencodable_secret_raises_without_carrying_the_value(where: str) -> None:
    secret = Secret(VALUE + "\ud800")
    cmd = fx("echo", secret) if where == "argv" else fx("echo")
    ctx = ExecutionContext(env={"T": secret}) if where == "env" else None
    with pytest.raises(UnicodeEncodeError) as error:
        cmd.run_sync(context=ctx)
    assert error.value.object == "***"
    assert VALUE not in str(error.value)
    assert "(a Secret)" in str(error.value)
