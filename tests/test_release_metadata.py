"""What a package index shows: one set of project URLs in pyproject.toml and
the Cargo manifests, absolute links in the READMEs that name files the
repository has, the prerequisites the manifests state, and the licence."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = "https://github.com/cuprum-dev/cuprum"
READMES = [ROOT / "README.md", ROOT / "crates" / "cuprum" / "README.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def toml(relative: str) -> dict[str, Any]:
    return tomllib.loads((ROOT / relative).read_text(encoding="utf-8"))


PROJECT = toml("pyproject.toml")["project"]
WORKSPACE = toml("Cargo.toml")["workspace"]["package"]
ENGINE = toml("crates/cuprum/Cargo.toml")["package"]


def test_python_project_urls_point_at_the_repository() -> None:
    urls = PROJECT["urls"]
    assert urls["Repository"] == urls["Homepage"] == REPOSITORY
    assert urls["Issues"] == f"{REPOSITORY}/issues"
    assert urls["Documentation"] == f"{REPOSITORY}/blob/main/docs/users-guide.md"
    assert urls["Changelog"] == f"{REPOSITORY}/blob/main/CHANGELOG.md"


def test_crates_name_the_same_repository_authors_and_licence() -> None:
    assert WORKSPACE["repository"] == WORKSPACE["homepage"] == REPOSITORY
    assert WORKSPACE["authors"] == ["The cuprum authors"]
    assert PROJECT["authors"] == [{"name": "The cuprum authors"}]
    assert WORKSPACE["license"] == PROJECT["license"] == "MIT"
    for crate in ("cuprum", "cuprum-py", "cuprum-testbins"):
        package = toml(f"crates/{crate}/Cargo.toml")["package"]
        for field in ("version", "rust-version", "license", "authors", "repository"):
            assert package[field] == {"workspace": True}, f"{crate}: {field}"


def test_engine_crate_has_what_crates_io_and_docs_rs_show() -> None:
    assert ENGINE["documentation"] == "https://docs.rs/cuprum"
    assert (ROOT / "crates" / "cuprum" / ENGINE["readme"]).is_file()
    assert 1 <= len(ENGINE["keywords"]) <= 5
    assert ENGINE["categories"]
    assert ENGINE["metadata"]["docs"]["rs"]["targets"]
    # crates.io ships the licence text only from inside the crate's folder.
    assert (ROOT / "crates" / "cuprum" / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()


def test_classifiers_name_the_python_versions_from_the_minimum_on() -> None:
    minimum = int(PROJECT["requires-python"].removeprefix(">=3."))
    versions = sorted(
        int(c.rsplit(".", 1)[1])
        for c in PROJECT["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    assert versions[0] == minimum
    assert versions == list(range(minimum, versions[-1] + 1))


def test_licence_is_mit_for_the_cuprum_authors() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert re.search(r"^Copyright \(c\) \d{4} The cuprum authors$", text, flags=re.MULTILINE)


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_readme_links_are_absolute_and_name_files_of_the_repository(readme: Path) -> None:
    for target in LINK.findall(readme.read_text(encoding="utf-8")):
        assert target.startswith("https://"), f"relative link {target!r} breaks on an index"
        if target.startswith(f"{REPOSITORY}/blob/main/"):
            path = target.removeprefix(f"{REPOSITORY}/blob/main/").split("#", 1)[0]
            assert (ROOT / path).is_file(), f"{target} names no file of the repository"


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_readme_states_the_minimum_rust_version_of_the_manifest(readme: Path) -> None:
    text = " ".join(readme.read_text(encoding="utf-8").split())
    assert f"Rust {WORKSPACE['rust-version']} or newer" in text or (
        f"Minimum supported Rust version: {WORKSPACE['rust-version']}." in text
    )


def test_readme_states_the_minimum_python_version_of_the_project() -> None:
    minimum = PROJECT["requires-python"].removeprefix(">=")
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"CPython {minimum} or newer" in text


def test_no_placeholder_urls_remain() -> None:
    for relative in ("pyproject.toml", "Cargo.toml", "README.md", "crates/cuprum/Cargo.toml"):
        assert "example.invalid" not in (ROOT / relative).read_text(encoding="utf-8"), relative
