"""§12.1: validation happens before anything is spawned, and no panic
reaches Python."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from cuprum import EngineError, ExecutionContext, env
from cuprum.sh import SafeCmdBuilder, build_argv
from helpers import assert_no_children, sh_cmd
from support import python


def test_nan_timeout_is_rejected_before_spawning(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(ValueError, match="nan"):
        sh_cmd(f"touch {marker}").run_sync(timeout=math.nan)
    with pytest.raises(ValueError, match="nan"):
        sh_cmd(f"touch {marker}").run_sync(context=ExecutionContext(timeout=math.nan))
    assert not marker.exists()
    assert_no_children()


@pytest.mark.parametrize("timeout", [math.inf, 1e300, 2.0**64])
def test_infinite_or_huge_timeout_means_no_timeout(fx: SafeCmdBuilder, timeout: float) -> None:
    result = fx("echo", "done").run_sync(timeout=timeout)
    assert result.ok
    assert result.stdout == "done\n"
    assert_no_children()


def test_infinite_or_huge_timeout_awaited(fx: SafeCmdBuilder) -> None:
    result = asyncio.run(fx("echo", "done").run(timeout=math.inf))
    assert result.stdout == "done\n"


@pytest.mark.parametrize("grace", [math.nan, math.inf, -math.inf])
def test_non_finite_cancel_grace_is_rejected_when_built(grace: float) -> None:
    with pytest.raises(ValueError, match="cancel_grace"):
        ExecutionContext(cancel_grace=grace)


def test_negative_cancel_grace_still_acts_as_zero(fx: SafeCmdBuilder) -> None:
    with pytest.raises(TimeoutError):
        fx("ignore-term", 30).run_sync(timeout=0.1, context=ExecutionContext(cancel_grace=-1))
    assert_no_children()


@pytest.mark.parametrize(
    ("value", "kind"), [(b"abc", "bytes"), (None, "None"), (object(), "object")]
)
def test_argument_types_outside_the_contract_name_their_position(value: object, kind: str) -> None:
    with pytest.raises(
        TypeError, match=rf"{kind} is not a valid argv element \(positional argument 1\)"
    ):
        build_argv("ok", value)
    with pytest.raises(
        TypeError, match=rf"{kind} is not a valid argv element \(keyword argument 'k'\)"
    ):
        build_argv(k=value)


def test_path_like_arguments_are_converted_with_fspath(fx: SafeCmdBuilder, tmp_path: Path) -> None:
    assert build_argv(tmp_path, 3, 1.5, True) == (str(tmp_path), "3", "1.5", "True")
    assert fx("echo", tmp_path).run_sync().stdout == f"{tmp_path}\n"


@pytest.mark.parametrize("where", ["argv", "env key", "env value", "cwd"])
def test_unencodable_strings_raise_unicode_encode_error_before_spawning(
    tmp_path: Path, where: str
) -> None:
    marker = tmp_path / "ran"
    lone = "\ud800"
    cmd = sh_cmd(f"touch {marker}")
    ctx = {
        "argv": ExecutionContext(),
        "env key": ExecutionContext(env={lone: "x"}),
        "env value": ExecutionContext(env={"X": lone}),
        "cwd": ExecutionContext(cwd=lone),
    }[where]
    if where == "argv":
        cmd = sh_cmd(f"touch {marker} {lone}")
    with pytest.raises(UnicodeEncodeError):
        cmd.run_sync(context=ctx)
    with pytest.raises(UnicodeEncodeError):
        asyncio.run(cmd.run(context=ctx))
    assert not marker.exists()
    assert_no_children()


def test_env_must_map_str_to_str(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(TypeError, match="environment must map str to str"):
        sh_cmd(f"touch {marker}").run_sync(context=ExecutionContext(env={"A": 1}))  # type: ignore[dict-item]
    with env({"B": b"x"}), pytest.raises(TypeError, match="environment must map str to str"):  # type: ignore[dict-item]
        sh_cmd(f"touch {marker}").run_sync()
    assert not marker.exists()


@pytest.mark.parametrize(
    "ctx", [ExecutionContext(encoding="no-such-codec"), ExecutionContext(errors="no-such-handler")]
)
def test_unknown_codec_raises_lookup_error_before_spawning(
    tmp_path: Path, ctx: ExecutionContext
) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(LookupError):
        sh_cmd(f"touch {marker}").run_sync(context=ctx)
    assert not marker.exists()


@pytest.mark.parametrize("flavour", ["sync", "async", "pipeline"])
def test_an_engine_panic_becomes_engine_error_and_leaves_no_child(flavour: str) -> None:
    """The engine is built with a test-only fault hook: ``CUPRUM_FAULT``
    names the point where it panics. The panic must surface as
    ``EngineError`` with every child it started already reaped."""
    run = {
        "sync": "fixture_cmd('sleep', 30).run_sync()",
        "async": "asyncio.run(fixture_cmd('sleep', 30).run())",
        "pipeline": "(fixture_cmd('sleep', 30) | fixture_cmd('cat')).run_sync()",
    }[flavour]
    proc = python(
        f"""
        import asyncio
        import cuprum
        from helpers import child_pids, fixture_cmd
        try:
            {run}
        except cuprum.EngineError as error:
            assert isinstance(error, RuntimeError)
            print("engine-error", sorted(child_pids()))
        """,
        env={"CUPRUM_FAULT": "supervise"},
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == "engine-error []"


def test_a_panic_while_spawning_a_later_stage_tears_down_the_earlier() -> None:
    proc = python(
        """
        import cuprum
        from helpers import child_pids, fixture_cmd
        try:
            (fixture_cmd('sleep', 30) | fixture_cmd('cat')).run_sync()
        except cuprum.EngineError:
            print("engine-error", sorted(child_pids()))
        """,
        env={"CUPRUM_FAULT": "spawn"},
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == "engine-error []"


def test_engine_error_is_public_and_a_runtime_error() -> None:
    assert issubclass(EngineError, RuntimeError)
    assert EngineError.__module__ == "cuprum"
