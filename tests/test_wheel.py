"""The wheel `make wheel` builds: one abi3 wheel for CPython 3.11 and newer,
tagged manylinux2014 (glibc 2.17) or older, with a stripped extension; it
installs into a fresh virtual environment of every CPython >= 3.11 on this
machine and runs the demo there, with none of the engine's test-only fault
points compiled in.

`make test` builds the wheel and names it in ``CUPRUM_WHEEL``; without that
variable (a bare ``pytest`` run) these tests are skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import cuprum

ROOT = Path(__file__).resolve().parent.parent
MINIMUM_MINOR = 11
# The newest glibc a manylinux2014 wheel may need.
GLIBC_MINOR = 17


def python_candidates() -> Iterator[tuple[int, Path]]:
    """Every `python3.N` with N >= 11 on PATH, in pyenv's versions and the
    usual prefixes (pyenv's shims are skipped: they lead to the versions)."""
    folders = [Path(entry) for entry in os.environ.get("PATH", "").split(os.pathsep) if entry]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    folders = [folder for folder in folders if folder != pyenv / "shims"]
    folders += sorted(pyenv.glob("versions/*/bin"))
    folders += [Path("/usr/local/bin"), Path("/usr/bin")]
    for folder in folders:
        for path in sorted(folder.glob("python3.*")):
            name = re.fullmatch(r"python3\.(\d+)", path.name)
            if name and int(name[1]) >= MINIMUM_MINOR and os.access(path, os.X_OK):
                yield int(name[1]), path


def cpython_by_minor() -> dict[int, Path]:
    """One working CPython interpreter for each 3.N >= 3.11 found; nothing
    is probed unless a wheel is to be tested."""
    found: dict[int, Path] = {}
    if not os.environ.get("CUPRUM_WHEEL"):
        return found
    probe = "import platform, sys; print(platform.python_implementation(), sys.version_info[1])"
    for named, path in python_candidates():
        if named in found:
            continue
        try:
            answer = subprocess.run(
                [path, "-c", probe], capture_output=True, text=True, timeout=30, check=False
            )
        except OSError:
            continue
        words = answer.stdout.split()
        if answer.returncode == 0 and words == ["CPython", str(named)]:
            found[named] = path
    return found


def classifier_minors() -> set[int]:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return {int(m) for m in re.findall(r'"Programming Language :: Python :: 3\.(\d+)"', text)}


INTERPRETERS = cpython_by_minor()


@pytest.fixture(scope="module")
def wheel() -> Path:
    given = os.environ.get("CUPRUM_WHEEL")
    if not given:
        pytest.skip("no wheel named in CUPRUM_WHEEL (`make test` builds one and sets it)")
    path = Path(given)
    assert path.is_file(), f"CUPRUM_WHEEL names no file: {path}"
    return path


def platform_tags(wheel: Path) -> list[str]:
    name, version, python, abi, platforms = wheel.name.removesuffix(".whl").split("-")
    assert (name, version) == ("cuprum", cuprum.__version__)
    assert (python, abi) == ("cp311", "abi3"), "one abi3 wheel for CPython >= 3.11"
    return platforms.split(".")


def test_wheel_is_tagged_manylinux2014_or_older(wheel: Path) -> None:
    for tag in platform_tags(wheel):
        legacy = re.fullmatch(r"manylinux(1|2010|2014)_\w+", tag)
        modern = re.fullmatch(r"manylinux_2_(\d+)_\w+", tag)
        assert legacy or (modern and int(modern[1]) <= GLIBC_MINOR), tag


def test_auditwheel_confirms_the_manylinux_tag(wheel: Path) -> None:
    auditwheel = Path(sys.executable).with_name("auditwheel")
    shown = subprocess.run(
        [auditwheel, "show", wheel], capture_output=True, text=True, timeout=120, check=True
    )
    verdict = re.search(
        r'consistent with the following platform tag: "manylinux_2_(\d+)_\w+"',
        " ".join(shown.stdout.split()),
    )
    assert verdict, shown.stdout
    assert int(verdict[1]) <= GLIBC_MINOR, shown.stdout


def test_extension_is_stripped(wheel: Path, tmp_path: Path) -> None:
    from elftools.elf.elffile import ELFFile

    with zipfile.ZipFile(wheel) as archive:
        [member] = [n for n in archive.namelist() if n.endswith(".so")]
        extension = Path(archive.extract(member, tmp_path))
    with extension.open("rb") as stream:
        sections = [section.name for section in ELFFile(stream).iter_sections()]
    assert ".dynsym" in sections, "an extension module keeps its dynamic symbols"
    leftovers = [s for s in sections if s == ".symtab" or s.startswith(".debug")]
    assert not leftovers, f"not stripped: {leftovers}"


def test_wheel_carries_licence_metadata_stub_and_typing_marker(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = f"cuprum-{cuprum.__version__}.dist-info"
        metadata = archive.read(f"{dist_info}/METADATA").decode()
    assert {"cuprum/py.typed", "cuprum/_native.pyi", f"{dist_info}/licenses/LICENSE"} <= names
    headers = metadata.split("\n\n", 1)[0].splitlines()
    for header in (
        "License-Expression: MIT",
        "Requires-Python: >=3.11",
        "Author: The cuprum authors",
        "Project-URL: Repository, https://github.com/cuprum-dev/cuprum",
    ):
        assert header in headers, header


def test_sdist_beside_the_wheel_has_every_build_input(wheel: Path) -> None:
    # `make wheel` builds the wheel from this sdist, which proves it complete;
    # this names what a rebuild from it needs.
    sdist = wheel.with_name(f"cuprum-{cuprum.__version__}.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in (
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "Cargo.toml",
        "Cargo.lock",
        "crates/cuprum/src/lib.rs",
        "crates/cuprum-py/src/lib.rs",
        "python/cuprum/__init__.py",
        "python/cuprum/py.typed",
    ):
        assert needed in names, needed


def test_a_cpython_for_the_wheel_is_found(wheel: Path) -> None:
    assert wheel.is_file()
    assert INTERPRETERS, "no CPython >= 3.11 found: the wheel would be tested nowhere"


@pytest.mark.parametrize(
    "minor", sorted(classifier_minors() | set(INTERPRETERS)), ids=lambda m: f"3.{m}"
)
def test_wheel_installs_and_runs_the_demo(wheel: Path, minor: int, tmp_path: Path) -> None:
    if minor not in INTERPRETERS:
        pytest.skip(f"CPython 3.{minor} is not installed on this machine")
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run(
        [INTERPRETERS[minor], "-m", "venv", "--without-pip", venv], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python]
    # Dependencies come from the package index, as for any user of the wheel.
    subprocess.run([*pip, "install", "--quiet", wheel], check=True, timeout=300)

    work = tmp_path / "work"
    (work / "examples").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "demo.py", work / "examples" / "demo.py")
    where = subprocess.run(
        [
            python,
            "-c",
            "import cuprum, sys; print(cuprum.__file__, cuprum.__version__, *sys.version_info[:2])",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert Path(where[0]).is_relative_to(venv), "cuprum must come from the wheel"
    assert where[1:] == [cuprum.__version__, "3", str(minor)]

    # A release build has no fault points: naming one must change nothing.
    env["CUPRUM_FAULT"] = "spawn"
    demo = subprocess.run(
        [python, "examples/demo.py"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    for expected in (
        "stdout='hello from cuprum\\n'",
        "ls found: ['demo.py']",
        "ok=True stages=4",
        "denied:",
        "concurrent runs with a limit",
    ):
        assert expected in demo.stdout, f"{expected!r} missing from:\n{demo.stdout}"
