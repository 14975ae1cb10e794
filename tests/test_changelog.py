"""CHANGELOG.md keeps the Keep a Changelog shape and stays in step with the
version that the crates, the lockfile and the installed package carry."""

from __future__ import annotations

import datetime
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

import cuprum

ROOT = Path(__file__).resolve().parent.parent
CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
    "urls"
]["Repository"]
KINDS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
RELEASE = re.compile(r"^## \[(?P<version>\d+\.\d+\.\d+)\] - (?P<date>\d{4}-\d{2}-\d{2})$")


def workspace_version() -> str:
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text(encoding="utf-8"))
    return str(manifest["workspace"]["package"]["version"])


def release_headings() -> list[tuple[str, datetime.date]]:
    releases = []
    for line in CHANGELOG.splitlines():
        if line.startswith("## ") and line != "## [Unreleased]":
            match = RELEASE.match(line)
            assert match, f"release heading {line!r} is not `## [X.Y.Z] - YYYY-MM-DD`"
            day = datetime.date.fromisoformat(match["date"])
            releases.append((match["version"], day))
    return releases


def as_tuple(number: str) -> tuple[int, ...]:
    return tuple(int(part) for part in number.split("."))


def test_changelog_names_its_format_and_versioning() -> None:
    assert CHANGELOG.startswith("# Changelog\n")
    assert "https://keepachangelog.com/en/1.1.0/" in CHANGELOG
    assert "https://semver.org/spec/v2.0.0.html" in CHANGELOG


def test_unreleased_section_comes_first() -> None:
    sections = [line for line in CHANGELOG.splitlines() if line.startswith("## ")]
    assert sections[0] == "## [Unreleased]"


def test_newest_release_is_the_version_of_the_crates_and_the_package() -> None:
    newest = release_headings()[0][0]
    assert newest == workspace_version()
    assert newest == version("cuprum") == cuprum.__version__


def test_lockfile_carries_the_workspace_version() -> None:
    lock = tomllib.loads((ROOT / "Cargo.lock").read_text(encoding="utf-8"))
    ours = {p["name"]: p["version"] for p in lock["package"] if p["name"].startswith("cuprum")}
    assert ours == dict.fromkeys(("cuprum", "cuprum-py", "cuprum-testbins"), workspace_version())


def test_releases_are_newest_first_and_not_from_the_future() -> None:
    releases = release_headings()
    assert releases, "no release section"
    numbers = [as_tuple(number) for number, _ in releases]
    days = [day for _, day in releases]
    assert numbers == sorted(set(numbers), reverse=True), "versions must descend, each once"
    assert days == sorted(days, reverse=True), "dates must not increase downwards"
    # A day of slack: the changelog may be dated in a time zone ahead of UTC.
    assert days[0] <= datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=1)


def test_change_kinds_are_the_keep_a_changelog_ones_and_not_empty() -> None:
    kinds = re.findall(r"^### (.*)$", CHANGELOG, flags=re.MULTILINE)
    assert set(kinds) <= KINDS, f"unknown change kinds: {set(kinds) - KINDS}"
    for body in re.split(r"^### .*$", CHANGELOG, flags=re.MULTILINE)[1:]:
        entries = body.split("\n## ", 1)[0]
        assert re.search(r"^- \S", entries, flags=re.MULTILINE), "a change kind with no entry"


@pytest.mark.parametrize("number", [number for number, _ in release_headings()])
def test_every_release_links_to_its_tag(number: str) -> None:
    assert f"\n[{number}]: {REPOSITORY}/releases/tag/v{number}\n" in CHANGELOG


def test_unreleased_links_to_the_changes_since_the_newest_release() -> None:
    newest = release_headings()[0][0]
    assert f"\n[Unreleased]: {REPOSITORY}/compare/v{newest}...HEAD\n" in CHANGELOG
