"""Builders and validated argument types: argv shapes and every validation rule."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from cuprum import builders
from cuprum.builders import (
    Compression,
    RsyncOptions,
    TarCreateOptions,
    git_checkout,
    git_ref,
    git_rev_parse,
    git_status,
    rsync_sync,
    safe_path,
    tar_create,
    tar_extract,
)
from cuprum.builders.args import (
    GitRefRejection,
    PathRejection,
    classify_git_ref,
    classify_path_string,
)
from cuprum.catalogue import CORE_OPS_PROJECT, GIT, RSYNC, TAR


def _exact(message: str) -> str:
    """A ``match=`` pattern accepting exactly ``message``."""
    return f"^{re.escape(message)}$"


# --- the public surface -----------------------------------------------------


def test_builders_all_is_exact() -> None:
    assert sorted(builders.__all__) == sorted(
        [
            "Compression",
            "GitRef",
            "RsyncOptions",
            "SafePath",
            "TarCreateOptions",
            "git_checkout",
            "git_ref",
            "git_rev_parse",
            "git_status",
            "rsync_sync",
            "safe_path",
            "tar_create",
            "tar_extract",
        ]
    )
    for name in builders.__all__:
        assert getattr(builders, name) is not None


def test_rejection_values_are_the_exact_messages() -> None:
    assert [r.value for r in PathRejection] == [
        "SafePath cannot be empty",
        "SafePath cannot contain NUL characters",
        "SafePath cannot contain '..' segments",
        "SafePath requires an absolute path by default",
    ]
    assert [r.value for r in GitRefRejection] == [
        "GitRef cannot be empty",
        "GitRef cannot start with '-'",
        "GitRef cannot contain whitespace",
        "GitRef cannot start or end with '/'",
        "GitRef cannot end with '.lock'",
        "GitRef cannot end with '.'",
        "GitRef cannot contain '..'",
        "GitRef cannot contain '//' sequences",
        "GitRef cannot contain '@{' sequences",
        "GitRef contains unsupported characters",
    ]


# --- safe_path ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/a//b/./c/", "/a/b/c"),  # edge case 69
        ("/a/..b", "/a/..b"),
        ("/a/.../b", "/a/.../b"),
        ("//srv/share", "//srv/share"),
        ("/", "/"),
        ("C:/Users/x", "C:/Users/x"),
        ("d:\\data", "d:\\data"),
    ],
)
def test_safe_path_normalises_absolute_paths(raw: str, expected: str) -> None:
    assert safe_path(raw) == expected
    assert isinstance(safe_path(raw), str)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("./x", "x"), ("a//b/", "a/b"), (".", "."), ("x/./y", "x/y")],
)
def test_safe_path_relative_with_opt_in(raw: str, expected: str) -> None:
    assert safe_path(raw, allow_relative=True) == expected


def test_safe_path_accepts_path_objects() -> None:
    assert safe_path(Path("/tmp") / "x" / "y") == "/tmp/x/y"
    assert safe_path(PurePosixPath("rel/dir"), allow_relative=True) == "rel/dir"


def test_safe_path_renders_windows_paths_with_forward_slashes() -> None:
    assert safe_path(PureWindowsPath("C:\\Users\\x")) == "C:/Users/x"


def test_safe_path_accepts_generic_path_like() -> None:
    class Where(os.PathLike[str]):
        def __fspath__(self) -> str:
            return "/from/fspath/"

    assert safe_path(Where()) == "/from/fspath"


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(b"/tmp/x", "bytes"), (42, "int"), (None, "NoneType"), (["/x"], "list")],
)
def test_safe_path_type_errors(value: object, type_name: str) -> None:
    with pytest.raises(TypeError, match=_exact(f"SafePath expects str or Path, got {type_name}")):
        safe_path(value)  # type: ignore[arg-type]


def test_safe_path_refuses_path_like_yielding_bytes() -> None:
    class BytesPath(os.PathLike[bytes]):
        def __fspath__(self) -> bytes:
            return b"/tmp"

    with pytest.raises(TypeError, match="got bytes"):
        safe_path(BytesPath())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "allow_relative", "rejection"),
    [
        ("", False, PathRejection.EMPTY),
        ("", True, PathRejection.EMPTY),
        ("/a\0b", False, PathRejection.NUL),
        ("/a/b/..", False, PathRejection.PARENT_SEGMENT),  # edge case 69
        ("/a/../b", False, PathRejection.PARENT_SEGMENT),
        ("..", True, PathRejection.PARENT_SEGMENT),
        ("../x", True, PathRejection.PARENT_SEGMENT),
        ("C:\\a\\..\\b", False, PathRejection.PARENT_SEGMENT),
        ("x", False, PathRejection.RELATIVE),
        ("./x", False, PathRejection.RELATIVE),
        ("C:relative", False, PathRejection.RELATIVE),
        ("~/x", False, PathRejection.RELATIVE),
    ],
)
def test_safe_path_rejections(raw: str, allow_relative: bool, rejection: PathRejection) -> None:
    assert classify_path_string(raw, allow_relative=allow_relative) is rejection
    with pytest.raises(ValueError, match=_exact(rejection.value)) as info:
        safe_path(raw, allow_relative=allow_relative)
    assert str(info.value) == rejection.value


@pytest.mark.parametrize(
    ("raw", "rejection"),
    [
        # NUL is reported before '..' and before the relative check.
        ("../\0", PathRejection.NUL),
        # '..' is reported before the relative check.
        ("a/../b", PathRejection.PARENT_SEGMENT),
    ],
)
def test_safe_path_reports_the_first_rule_in_order(raw: str, rejection: PathRejection) -> None:
    assert classify_path_string(raw, allow_relative=False) is rejection


def test_classify_path_string_accepts_valid_paths() -> None:
    assert classify_path_string("/srv/data", allow_relative=False) is None
    assert classify_path_string("data", allow_relative=True) is None


# --- git_ref -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["refs/heads/main", "main", "feature/x-1", "v1.0.0", "release_2024", "a.b/c-d_e", "HEAD"],
)
def test_git_ref_accepts_plain_names_unchanged(value: str) -> None:
    assert git_ref(value) == value
    assert classify_git_ref(value) is None


@pytest.mark.parametrize(
    ("value", "rejection"),
    [
        ("", GitRefRejection.EMPTY),
        ("-x", GitRefRejection.LEADING_DASH),  # edge case 70 from here on
        ("--force", GitRefRejection.LEADING_DASH),
        ("a b", GitRefRejection.WHITESPACE),
        ("a\tb", GitRefRejection.WHITESPACE),
        ("main\n", GitRefRejection.WHITESPACE),
        ("/x", GitRefRejection.EDGE_SLASH),
        ("x/", GitRefRejection.EDGE_SLASH),
        ("x.lock", GitRefRejection.LOCK_SUFFIX),
        ("x.", GitRefRejection.DOT_SUFFIX),
        ("a..b", GitRefRejection.DOUBLE_DOT),
        ("a//b", GitRefRejection.DOUBLE_SLASH),
        ("a@{", GitRefRejection.AT_BRACE),
        ("HEAD@{1}", GitRefRejection.AT_BRACE),
        ("HEAD~1", GitRefRejection.UNSUPPORTED_CHARACTERS),
        ("main^", GitRefRejection.UNSUPPORTED_CHARACTERS),
        ("a:b", GitRefRejection.UNSUPPORTED_CHARACTERS),
        ("caf\u00e9", GitRefRejection.UNSUPPORTED_CHARACTERS),
        ("a\0b", GitRefRejection.UNSUPPORTED_CHARACTERS),
    ],
)
def test_git_ref_rejections(value: str, rejection: GitRefRejection) -> None:
    assert classify_git_ref(value) is rejection
    with pytest.raises(ValueError) as info:
        git_ref(value)
    assert str(info.value) == rejection.value


@pytest.mark.parametrize(
    ("value", "rejection"),
    [
        ("-a b", GitRefRejection.LEADING_DASH),  # dash before whitespace
        (" /x", GitRefRejection.WHITESPACE),  # whitespace before slash
        ("/x.lock", GitRefRejection.EDGE_SLASH),  # slash before suffix
        ("x..lock", GitRefRejection.LOCK_SUFFIX),  # .lock before '..'
        ("a..", GitRefRejection.DOT_SUFFIX),  # '.' suffix before '..'
        ("a..//b", GitRefRejection.DOUBLE_DOT),  # '..' before '//'
        ("a//@{", GitRefRejection.DOUBLE_SLASH),  # '//' before '@{'
        ("~@{", GitRefRejection.AT_BRACE),  # '@{' before the alphabet
    ],
)
def test_git_ref_reports_the_first_rule_in_order(value: str, rejection: GitRefRejection) -> None:
    assert classify_git_ref(value) is rejection


@pytest.mark.parametrize(
    ("value", "type_name"), [(b"main", "bytes"), (1, "int"), (None, "NoneType")]
)
def test_git_ref_type_errors(value: object, type_name: str) -> None:
    with pytest.raises(TypeError, match=_exact(f"GitRef expects str, got {type_name}")):
        git_ref(value)  # type: ignore[arg-type]


# --- git -----------------------------------------------------------------------


def test_git_builders_use_the_default_catalogue() -> None:
    cmd = git_status()
    assert cmd.program == GIT
    assert cmd.project.name == CORE_OPS_PROJECT


@pytest.mark.parametrize(
    ("kwargs", "argv"),
    [
        ({}, ("status",)),
        ({"short": True}, ("status", "--short")),
        ({"branch": True}, ("status", "--branch")),
        ({"short": True, "branch": True}, ("status", "--short", "--branch")),
    ],
)
def test_git_status_argv(kwargs: dict[str, bool], argv: tuple[str, ...]) -> None:
    assert git_status(**kwargs).argv == argv


@pytest.mark.parametrize(
    ("kwargs", "argv"),
    [
        ({}, ("checkout", "x")),
        ({"create_branch": True}, ("checkout", "-b", "x")),
        ({"create_branch": True, "force": True}, ("checkout", "-B", "x")),  # edge case 71
        ({"detach": True}, ("checkout", "--detach", "x")),
        ({"force": True}, ("checkout", "--force", "x")),
        ({"detach": True, "force": True}, ("checkout", "--detach", "--force", "x")),
    ],
)
def test_git_checkout_argv(kwargs: dict[str, bool], argv: tuple[str, ...]) -> None:
    cmd = git_checkout("x", **kwargs)
    assert cmd.argv == argv
    assert cmd.argv_with_program == ("git", *argv)


def test_git_checkout_create_and_detach_conflict_is_checked_first() -> None:
    with pytest.raises(ValueError, match="create_branch"):
        git_checkout("main", create_branch=True, detach=True)
    # The conflict is reported even when the ref is also invalid.
    with pytest.raises(ValueError, match="create_branch"):
        git_checkout("-bad", create_branch=True, detach=True)


def test_git_checkout_validates_the_ref() -> None:
    with pytest.raises(ValueError, match=_exact("GitRef cannot start with '-'")):
        git_checkout("--orphan")
    with pytest.raises(TypeError, match="GitRef expects str"):
        git_checkout(Path("main"))  # type: ignore[arg-type]


def test_git_rev_parse_argv_and_validation() -> None:
    assert git_rev_parse("refs/heads/main").argv == ("rev-parse", "refs/heads/main")
    with pytest.raises(ValueError, match=_exact("GitRef contains unsupported characters")):
        git_rev_parse("HEAD~1")


# --- rsync ---------------------------------------------------------------------


def test_rsync_options_defaults_and_frozen() -> None:
    opts = RsyncOptions()
    assert dataclasses.astuple(opts) == (False, False, False, False, False, False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.archive = True  # type: ignore[misc]
    assert not hasattr(opts, "__dict__")


def test_rsync_sync_minimal() -> None:
    cmd = rsync_sync("/src/", "/dest")
    assert cmd.program == RSYNC
    assert cmd.argv == ("/src", "/dest")


def test_rsync_sync_flags_in_fixed_order() -> None:
    every = RsyncOptions(archive=True, delete=True, dry_run=True, verbose=True, compress=True)
    assert rsync_sync("/a", "/b", options=every).argv == (
        "--archive",
        "--delete",
        "--dry-run",
        "--verbose",
        "--compress",
        "/a",
        "/b",
    )
    some = RsyncOptions(compress=True, archive=True)
    assert rsync_sync("/a", "/b", options=some).argv == ("--archive", "--compress", "/a", "/b")


def test_rsync_sync_relative_paths_need_opt_in() -> None:
    with pytest.raises(ValueError, match=_exact("SafePath requires an absolute path by default")):
        rsync_sync("src", "/dest")
    with pytest.raises(ValueError, match=_exact("SafePath requires an absolute path by default")):
        rsync_sync("/src", "dest")
    opts = RsyncOptions(allow_relative=True)
    assert rsync_sync("./src", "dest/", options=opts).argv == ("src", "dest")


def test_rsync_sync_validates_source_before_destination() -> None:
    with pytest.raises(ValueError, match=_exact("SafePath cannot be empty")):
        rsync_sync("", "/a/../b")
    with pytest.raises(ValueError, match=re.escape("'..' segments")):
        rsync_sync("/ok", "/a/../b")


# --- tar -----------------------------------------------------------------------


def test_compression_values() -> None:
    assert [(c.name, c.value) for c in Compression] == [
        ("NONE", "none"),
        ("GZIP", "gzip"),
        ("BZIP2", "bzip2"),
        ("XZ", "xz"),
    ]


def test_tar_create_options_defaults() -> None:
    opts = TarCreateOptions()
    assert opts.compression is Compression.NONE
    assert opts.allow_relative is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.allow_relative = True  # type: ignore[misc]


@pytest.mark.parametrize(
    ("compression", "flag"),
    [
        (Compression.NONE, ()),
        (Compression.GZIP, ("-z",)),
        (Compression.BZIP2, ("-j",)),
        (Compression.XZ, ("-J",)),
    ],
)
def test_tar_create_argv(compression: Compression, flag: tuple[str, ...]) -> None:
    cmd = tar_create(
        "/out/a.tar", ["/x", Path("/y/")], options=TarCreateOptions(compression=compression)
    )
    assert cmd.program == TAR
    assert cmd.argv == ("-c", *flag, "-f", "/out/a.tar", "/x", "/y")


def test_tar_create_accepts_any_iterable_of_sources() -> None:
    assert tar_create("/a", (p for p in ["/x", "/y"])).argv == ("-c", "-f", "/a", "/x", "/y")


@pytest.mark.parametrize("bare", ["/x", Path("/x"), b"/x"])
def test_tar_create_refuses_bare_source(bare: object) -> None:
    # edge case 72
    with pytest.raises(
        TypeError, match=re.escape("tar_create requires a sequence of source paths")
    ):
        tar_create("/a", bare)  # type: ignore[arg-type]


def test_tar_create_refuses_empty_sources() -> None:
    # edge case 72
    with pytest.raises(ValueError, match=_exact("tar_create requires at least one source path")):
        tar_create("/a", [])


def test_tar_create_validates_archive_then_sources() -> None:
    with pytest.raises(ValueError, match=_exact("SafePath requires an absolute path by default")):
        tar_create("a.tar", ["/a/../b"])
    with pytest.raises(ValueError, match=re.escape("'..' segments")):
        tar_create("/a.tar", ["/ok", "/a/../b"])
    with pytest.raises(TypeError, match="got int"):
        tar_create("/a.tar", ["/ok", 3])  # type: ignore[list-item]


def test_tar_create_relative_opt_in() -> None:
    opts = TarCreateOptions(allow_relative=True)
    assert tar_create("out.tar", ["./src"], options=opts).argv == ("-c", "-f", "out.tar", "src")


def test_tar_extract_argv() -> None:
    assert tar_extract("/a.tar").argv == ("-x", "-f", "/a.tar")
    assert tar_extract("/a.tar", destination="/dest/").argv == ("-x", "-f", "/a.tar", "-C", "/dest")
    assert tar_extract("a.tar", destination="d", allow_relative=True).argv == (
        "-x",
        "-f",
        "a.tar",
        "-C",
        "d",
    )


def test_tar_extract_validation() -> None:
    with pytest.raises(ValueError, match=_exact("SafePath requires an absolute path by default")):
        tar_extract("a.tar")
    with pytest.raises(ValueError, match=_exact("SafePath cannot contain NUL characters")):
        tar_extract("/a.tar", destination="/d\0")
