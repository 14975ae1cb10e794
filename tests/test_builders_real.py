"""Builders run for real against git, rsync and tar in a temporary directory."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from cuprum._command import SafeCmd, make
from cuprum._options import ExecutionContext
from cuprum._results import CommandResult
from cuprum.builders import (
    Compression,
    RsyncOptions,
    TarCreateOptions,
    git_checkout,
    git_rev_parse,
    git_status,
    rsync_sync,
    tar_create,
    tar_extract,
)
from cuprum.catalogue import GIT
from cuprum.concurrent import ConcurrentConfig, run_concurrent_sync


def _requires(tool: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(shutil.which(tool) is None, reason=f"`{tool}` is not installed")


requires_git = _requires("git")
requires_rsync = _requires("rsync")
requires_tar = _requires("tar")


def run(cmd: SafeCmd, cwd: Path | None = None, env: dict[str, str] | None = None) -> CommandResult:
    """Run ``cmd``, failing the test with its stderr if it exits non-zero."""
    result = cmd.run_sync(context=ExecutionContext(cwd=cwd, env=env))
    assert result.ok, f"{cmd.argv_with_program} exited {result.exit_code}: {result.stderr}"
    return result


def write_tree(root: Path) -> dict[str, str]:
    """Create a small tree under ``root``; return relative path → content."""
    files = {
        "a.txt": "alpha\n",
        "sub/b.txt": "beta\n",
        "sub/deeper/c.bin": "\u00e9t\u00e9 \x00 bytes\n",
    }
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return files


def read_tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# --- git -------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """An isolated git repository on branch ``main`` with one commit."""
    root = tmp_path / "repo"
    root.mkdir()
    env = {
        "HOME": str(tmp_path),
        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "cuprum tests",
        "GIT_AUTHOR_EMAIL": "tests@cuprum.invalid",
        "GIT_COMMITTER_NAME": "cuprum tests",
        "GIT_COMMITTER_EMAIL": "tests@cuprum.invalid",
    }
    git = make(GIT)
    run(git("-c", "init.defaultBranch=main", "init", "--quiet"), root, env)
    (root / "tracked.txt").write_text("first\n")
    run(git("add", "tracked.txt"), root, env)
    run(git("commit", "--quiet", "-m", "first"), root, env)
    return root, env


@requires_git
def test_git_rev_parse_resolves_refs(repo: tuple[Path, dict[str, str]]) -> None:
    root, env = repo
    head = run(git_rev_parse("HEAD"), root, env).stdout
    assert head is not None
    assert re.fullmatch(r"[0-9a-f]{40}\n", head)
    assert run(git_rev_parse("main"), root, env).stdout == head
    assert run(git_rev_parse("refs/heads/main"), root, env).stdout == head
    missing = git_rev_parse("no-such-branch").run_sync(context=ExecutionContext(cwd=root, env=env))
    assert missing.exit_code != 0


@requires_git
def test_git_status_reports_branch_and_changes(repo: tuple[Path, dict[str, str]]) -> None:
    root, env = repo
    assert run(git_status(short=True, branch=True), root, env).stdout == "## main\n"
    assert run(git_status(short=True), root, env).stdout == ""
    (root / "new.txt").write_text("untracked\n")
    assert run(git_status(short=True), root, env).stdout == "?? new.txt\n"
    long_form = run(git_status(), root, env).stdout
    assert long_form is not None
    assert "On branch main" in long_form
    assert "new.txt" in long_form


@requires_git
def test_git_checkout_creates_and_switches_branches(repo: tuple[Path, dict[str, str]]) -> None:
    root, env = repo
    context = ExecutionContext(cwd=root, env=env)

    def branch() -> str | None:
        return run(git_status(short=True, branch=True), root, env).stdout

    run(git_checkout("feature/one", create_branch=True), root, env)
    assert branch() == "## feature/one\n"

    run(git_checkout("main"), root, env)
    assert branch() == "## main\n"

    # -b refuses an existing branch; -B (create_branch + force) resets it.
    again = git_checkout("feature/one", create_branch=True).run_sync(context=context)
    assert again.exit_code != 0
    assert branch() == "## main\n"
    run(git_checkout("feature/one", create_branch=True, force=True), root, env)
    assert branch() == "## feature/one\n"


@requires_git
def test_git_checkout_detach_and_force(repo: tuple[Path, dict[str, str]]) -> None:
    root, env = repo
    head = run(git_rev_parse("HEAD"), root, env).stdout
    assert head is not None

    run(git_checkout("main", detach=True), root, env)
    assert run(git_status(short=True, branch=True), root, env).stdout == "## HEAD (no branch)\n"
    assert run(git_rev_parse("HEAD"), root, env).stdout == head

    # --force discards a local modification of a tracked file.
    run(git_checkout("main"), root, env)
    (root / "tracked.txt").write_text("modified\n")
    run(git_checkout("main", force=True), root, env)
    assert (root / "tracked.txt").read_text() == "first\n"


# --- rsync -----------------------------------------------------------------------


@requires_rsync
def test_rsync_copies_the_source_directory_into_the_destination(tmp_path: Path) -> None:
    source, destination = tmp_path / "src", tmp_path / "dest"
    files = write_tree(source)
    destination.mkdir()
    # safe_path drops the trailing slash: rsync copies the directory itself.
    run(rsync_sync(f"{source}/", destination, options=RsyncOptions(archive=True)))
    assert read_tree(destination / "src") == files


@requires_rsync
def test_rsync_dry_run_copies_nothing(tmp_path: Path) -> None:
    source, destination = tmp_path / "src", tmp_path / "dest"
    write_tree(source)
    destination.mkdir()
    options = RsyncOptions(archive=True, dry_run=True, verbose=True)
    listing = run(rsync_sync(source, destination, options=options)).stdout
    assert listing is not None
    assert "src/sub/b.txt" in listing  # it reports what it would copy…
    assert list(destination.iterdir()) == []  # …and copies nothing


@requires_rsync
def test_rsync_delete_removes_extraneous_files(tmp_path: Path) -> None:
    source, destination = tmp_path / "src", tmp_path / "dest"
    files = write_tree(source)
    destination.mkdir()
    run(rsync_sync(source, destination, options=RsyncOptions(archive=True)))
    stray = destination / "src" / "stray.txt"
    stray.write_text("left over\n")

    run(rsync_sync(source, destination, options=RsyncOptions(archive=True)))
    assert stray.exists()
    every = RsyncOptions(archive=True, delete=True, compress=True)
    run(rsync_sync(source, destination, options=every))
    assert not stray.exists()
    assert read_tree(destination / "src") == files


@requires_rsync
def test_rsync_relative_paths_resolve_against_cwd(tmp_path: Path) -> None:
    files = write_tree(tmp_path / "src")
    (tmp_path / "dest").mkdir()
    options = RsyncOptions(archive=True, allow_relative=True)
    run(rsync_sync("./src", "dest", options=options), cwd=tmp_path)
    assert read_tree(tmp_path / "dest" / "src") == files


# --- tar -------------------------------------------------------------------------

_MAGIC = {
    Compression.GZIP: (0, b"\x1f\x8b"),
    Compression.BZIP2: (0, b"BZh"),
    Compression.XZ: (0, b"\xfd7zXZ\x00"),
    Compression.NONE: (257, b"ustar"),
}


@requires_tar
@pytest.mark.parametrize("compression", list(Compression))
def test_tar_round_trip(tmp_path: Path, compression: Compression) -> None:
    if compression is not Compression.NONE and shutil.which(compression.value) is None:
        pytest.skip(f"`{compression.value}` is not installed")
    source = tmp_path / "src"
    files = write_tree(source)
    archive = tmp_path / f"archive.{compression.value}"
    options = TarCreateOptions(compression=compression)
    run(tar_create(archive, [source], options=options))

    offset, magic = _MAGIC[compression]
    assert archive.read_bytes()[offset : offset + len(magic)] == magic

    out = tmp_path / "out"
    out.mkdir()
    run(tar_extract(archive, destination=out))
    # tar stores absolute members without their leading '/'.
    assert read_tree(out / source.relative_to("/")) == files


@requires_tar
def test_tar_relative_paths_and_several_sources(tmp_path: Path) -> None:
    first = write_tree(tmp_path / "one")
    second = write_tree(tmp_path / "two")
    options = TarCreateOptions(allow_relative=True)
    run(tar_create("both.tar", ["one", "./two"], options=options), cwd=tmp_path)
    (tmp_path / "out").mkdir()
    run(tar_extract("both.tar", destination="out", allow_relative=True), cwd=tmp_path)
    assert read_tree(tmp_path / "out" / "one") == first
    assert read_tree(tmp_path / "out" / "two") == second


@requires_tar
def test_tar_extract_into_the_working_directory(tmp_path: Path) -> None:
    files = write_tree(tmp_path / "src")
    run(tar_create("a.tar", ["src"], options=TarCreateOptions(allow_relative=True)), cwd=tmp_path)
    target = tmp_path / "target"
    target.mkdir()
    run(tar_extract(tmp_path / "a.tar"), cwd=target)
    assert read_tree(target / "src") == files


@requires_tar
def test_builders_run_concurrently(tmp_path: Path) -> None:
    source = tmp_path / "src"
    write_tree(source)
    archives = [tmp_path / f"copy-{index}.tar" for index in range(4)]
    outcome = run_concurrent_sync(
        *(tar_create(archive, [source]) for archive in archives),
        config=ConcurrentConfig(concurrency=2),
    )
    assert outcome.ok
    assert [archive.read_bytes()[257:262] for archive in archives] == [b"ustar"] * 4
