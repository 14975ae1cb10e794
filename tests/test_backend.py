"""Native availability and ``CUPRUM_STREAM_BACKEND`` (spec §10.1, §10.5, case 78)."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from cuprum import rust
from cuprum._backend import (
    StreamBackend,
    get_stream_backend,
    set_rust_availability_for_testing,
)
from cuprum.rust import is_rust_available

ENV = "CUPRUM_STREAM_BACKEND"


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts and ends with no override, empty caches and no variable."""
    monkeypatch.delenv(ENV, raising=False)
    set_rust_availability_for_testing(is_available=None)
    yield
    monkeypatch.undo()
    set_rust_availability_for_testing(is_available=None)


def failing_import(exc: ImportError) -> object:
    real = importlib.import_module

    def import_module(name: str, package: str | None = None) -> ModuleType:
        if name == "cuprum._native":
            raise exc
        return real(name, package)

    return import_module


# -- is_rust_available ------------------------------------------------------


def test_native_module_is_available() -> None:
    assert is_rust_available() is True
    assert importlib.import_module("cuprum._native").is_available() is True


def test_availability_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    assert is_rust_available() is True
    monkeypatch.setitem(sys.modules, "cuprum._native", None)
    assert is_rust_available() is True  # cached
    is_rust_available.cache_clear()
    assert is_rust_available() is False


def test_missing_native_module_means_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cuprum._native", None)
    assert is_rust_available() is False


def test_other_missing_module_is_logged_and_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    exc = ModuleNotFoundError("No module named 'libdependency'", name="libdependency")
    monkeypatch.setattr("cuprum.rust.importlib.import_module", failing_import(exc))
    with (
        caplog.at_level(logging.WARNING, logger="cuprum.rust"),
        pytest.raises(ModuleNotFoundError) as info,
    ):
        is_rust_available()
    assert info.value is exc
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "cuprum._native" in caplog.records[0].getMessage()
    monkeypatch.undo()
    assert is_rust_available() is True  # the failure was not cached


def test_broken_native_module_is_logged_and_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    exc = ImportError("undefined symbol: something")
    monkeypatch.setattr("cuprum.rust.importlib.import_module", failing_import(exc))
    with caplog.at_level(logging.WARNING, logger="cuprum.rust"), pytest.raises(ImportError):
        is_rust_available()
    assert "undefined symbol" in caplog.text


def test_override_and_restore() -> None:
    set_rust_availability_for_testing(is_available=False)
    assert is_rust_available() is False
    set_rust_availability_for_testing(is_available=True)
    assert is_rust_available() is True
    set_rust_availability_for_testing(is_available=None)
    assert is_rust_available() is True


# -- CUPRUM_STREAM_BACKEND ----------------------------------------------------


def test_stream_backend_values() -> None:
    assert [member.value for member in StreamBackend] == ["auto", "rust", "python"]
    assert str(StreamBackend.RUST) == "rust"
    assert isinstance(StreamBackend.PYTHON, str)


@pytest.mark.parametrize("value", [None, "", "  ", "auto", " AUTO\t"])
def test_auto_resolves_to_rust_when_available(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is not None:
        monkeypatch.setenv(ENV, value)
    assert get_stream_backend() is StreamBackend.RUST


def test_auto_resolves_to_python_when_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "auto")
    set_rust_availability_for_testing(is_available=False)
    assert get_stream_backend() is StreamBackend.PYTHON


def test_auto_resolves_to_python_when_the_probe_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_probe() -> bool:
        raise ImportError("broken")

    monkeypatch.setattr(rust, "is_rust_available", broken_probe)
    assert get_stream_backend() is StreamBackend.PYTHON


@pytest.mark.parametrize("value", ["rust", " RuSt ", "RUST\n"])
def test_rust_is_case_insensitive_and_trimmed(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(ENV, value)
    assert get_stream_backend() is StreamBackend.RUST


def test_python_never_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    def probe() -> bool:
        pytest.fail("python must not probe the native module")

    monkeypatch.setattr(rust, "is_rust_available", probe)
    monkeypatch.setenv(ENV, " Python ")
    assert get_stream_backend() is StreamBackend.PYTHON


def test_rust_without_the_extension_raises_import_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(ENV, "rust")
    set_rust_availability_for_testing(is_available=False)
    with (
        caplog.at_level(logging.WARNING, logger="cuprum._backend"),
        pytest.raises(ImportError, match="CUPRUM_STREAM_BACKEND=rust"),
    ):
        get_stream_backend()
    assert "CUPRUM_STREAM_BACKEND=rust" in caplog.text


def test_rust_lets_the_probe_error_through(monkeypatch: pytest.MonkeyPatch) -> None:
    exc = ImportError("broken binary")

    def broken_probe() -> bool:
        raise exc

    monkeypatch.setattr(rust, "is_rust_available", broken_probe)
    monkeypatch.setenv(ENV, "rust")
    with pytest.raises(ImportError) as info:
        get_stream_backend()
    assert info.value is exc


def test_invalid_value_names_variable_value_and_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "  Turbo ")
    with pytest.raises(ValueError, match="CUPRUM_STREAM_BACKEND") as info:
        get_stream_backend()
    message = str(info.value)
    assert "'turbo'" in message
    assert "auto, python, rust" in message


def test_first_resolution_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, " RuSt ")
    assert get_stream_backend() is StreamBackend.RUST
    monkeypatch.setenv(ENV, "turbo")
    assert get_stream_backend() is StreamBackend.RUST  # later changes are ignored
    get_stream_backend.cache_clear()
    with pytest.raises(ValueError, match="turbo"):
        get_stream_backend()


def test_failures_are_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "turbo")
    with pytest.raises(ValueError, match="turbo"):
        get_stream_backend()
    monkeypatch.setenv(ENV, "python")
    assert get_stream_backend() is StreamBackend.PYTHON


def test_override_clears_the_backend_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_stream_backend() is StreamBackend.RUST
    set_rust_availability_for_testing(is_available=False)
    assert get_stream_backend() is StreamBackend.PYTHON
    set_rust_availability_for_testing(is_available=None)
    assert get_stream_backend() is StreamBackend.RUST
