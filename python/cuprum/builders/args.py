"""Validated argument types for builders: :func:`safe_path` and :func:`git_ref`.

Both functions return their input as a :class:`~typing.NewType` over
:class:`str` once it has passed every check, so a builder that accepts a
:data:`SafePath` or :data:`GitRef` knows the value cannot be mistaken for an
option or escape the directory it names.

The checks are also available without raising: :func:`classify_path_string`
and :func:`classify_git_ref` return the first rejection (a
:class:`PathRejection` or :class:`GitRefRejection`, whose values are the exact
error messages) or ``None``.
"""

from __future__ import annotations

import enum
import os
import re
from pathlib import PurePath
from typing import NewType, TypeAlias

__all__ = [
    "GitRef",
    "GitRefRejection",
    "PathInput",
    "PathRejection",
    "SafePath",
    "classify_git_ref",
    "classify_path_string",
    "git_ref",
    "safe_path",
]

SafePath = NewType("SafePath", str)
"""A normalised path with no NUL and no ``..`` component (absolute unless opted out)."""

GitRef = NewType("GitRef", str)
"""A git reference name restricted to a conservative, option-safe alphabet."""

PathInput: TypeAlias = str | os.PathLike[str]
"""What path-taking builders accept: a string or a path-like object."""


class PathRejection(enum.StrEnum):
    """Why :func:`safe_path` rejects a value; each value is the error message."""

    EMPTY = "SafePath cannot be empty"
    NUL = "SafePath cannot contain NUL characters"
    PARENT_SEGMENT = "SafePath cannot contain '..' segments"
    NOT_ABSOLUTE = "SafePath requires an absolute path by default"
    RELATIVE = NOT_ABSOLUTE
    """Alias of :attr:`NOT_ABSOLUTE`."""


class GitRefRejection(enum.StrEnum):
    """Why :func:`git_ref` rejects a value; each value is the error message."""

    EMPTY = "GitRef cannot be empty"
    LEADING_DASH = "GitRef cannot start with '-'"
    WHITESPACE = "GitRef cannot contain whitespace"
    EDGE_SLASH = "GitRef cannot start or end with '/'"
    LOCK_SUFFIX = "GitRef cannot end with '.lock'"
    DOT_SUFFIX = "GitRef cannot end with '.'"
    DOUBLE_DOT = "GitRef cannot contain '..'"
    DOUBLE_SLASH = "GitRef cannot contain '//' sequences"
    AT_BRACE = "GitRef cannot contain '@{' sequences"
    UNSUPPORTED_CHARACTERS = "GitRef contains unsupported characters"


# Components are split on both separators so that a Windows-style
# ``a\..\b`` is rejected on every OS, like ``a/../b``.
_SEPARATORS = re.compile(r"[/\\]")
_DRIVE_PREFIX = re.compile(r"[A-Za-z]:[/\\]")
_GIT_REF_ALPHABET = re.compile(r"[A-Za-z0-9._/-]+")


def _is_absolute(raw: str) -> bool:
    # A drive prefix counts as absolute on every OS, so validation does not
    # depend on where it runs.
    return raw.startswith("/") or _DRIVE_PREFIX.match(raw) is not None


def classify_path_string(raw: str, *, allow_relative: bool) -> PathRejection | None:
    """The first rule ``raw`` breaks, in :func:`safe_path`'s order, or ``None``.

    The rules are checked in this order: empty, NUL character, a ``..``
    component (``..b`` and ``...`` are ordinary names), relative without
    ``allow_relative``.

    >>> classify_path_string("/srv/../etc", allow_relative=False)
    <PathRejection.PARENT_SEGMENT: "SafePath cannot contain '..' segments">
    >>> classify_path_string("/srv/data", allow_relative=False) is None
    True
    """
    if not raw:
        return PathRejection.EMPTY
    if "\0" in raw:
        return PathRejection.NUL
    if ".." in _SEPARATORS.split(raw):
        return PathRejection.PARENT_SEGMENT
    if not allow_relative and not _is_absolute(raw):
        return PathRejection.NOT_ABSOLUTE
    return None


def safe_path(value: PathInput, *, allow_relative: bool = False) -> SafePath:
    """Validate and normalise a filesystem path for use as a command argument.

    ``value`` is a :class:`str` or path-like object (a :class:`~pathlib.PurePath`
    is rendered with ``/`` first). The result is ``PurePath(value).as_posix()``:
    repeated separators, ``.`` components and a trailing ``/`` disappear
    (``"/a//b/./c/"`` becomes ``"/a/b/c"``, ``"./x"`` becomes ``"x"``); a
    leading ``//`` is kept.

    Raises:
        TypeError: ``value`` is not a str or path-like object yielding str
            (bytes are refused).
        ValueError: with the message of the first :class:`PathRejection` that
            applies: empty, contains NUL, has a ``..`` component, or is
            relative and ``allow_relative`` is false. A drive prefix such as
            ``C:/`` or ``C:\\`` counts as absolute on every OS.

    >>> safe_path("/a//b/./c/")
    '/a/b/c'
    >>> safe_path("build/out", allow_relative=True)
    'build/out'
    """
    raw = _path_string(value)
    rejection = classify_path_string(raw, allow_relative=allow_relative)
    if rejection is not None:
        raise ValueError(rejection.value)
    return SafePath(PurePath(raw).as_posix())


def _path_string(value: object) -> str:
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, str | os.PathLike):
        raw = os.fspath(value)
        if isinstance(raw, str):
            return raw
        value = raw
    msg = f"SafePath expects str or Path, got {type(value).__name__}"
    raise TypeError(msg)


def classify_git_ref(value: str) -> GitRefRejection | None:
    """The first rule ``value`` breaks, in :func:`git_ref`'s order, or ``None``.

    >>> classify_git_ref("HEAD~1")
    <GitRefRejection.UNSUPPORTED_CHARACTERS: 'GitRef contains unsupported characters'>
    >>> classify_git_ref("refs/heads/main") is None
    True
    """
    checks: tuple[tuple[bool, GitRefRejection], ...] = (
        (not value, GitRefRejection.EMPTY),
        (value.startswith("-"), GitRefRejection.LEADING_DASH),
        (any(char.isspace() for char in value), GitRefRejection.WHITESPACE),
        (value.startswith("/") or value.endswith("/"), GitRefRejection.EDGE_SLASH),
        (value.endswith(".lock"), GitRefRejection.LOCK_SUFFIX),
        (value.endswith("."), GitRefRejection.DOT_SUFFIX),
        (".." in value, GitRefRejection.DOUBLE_DOT),
        ("//" in value, GitRefRejection.DOUBLE_SLASH),
        ("@{" in value, GitRefRejection.AT_BRACE),
        (_GIT_REF_ALPHABET.fullmatch(value) is None, GitRefRejection.UNSUPPORTED_CHARACTERS),
    )
    for broken, rejection in checks:
        if broken:
            return rejection
    return None


def git_ref(value: str) -> GitRef:
    """Validate a git reference name (branch, tag or full ``refs/…`` name).

    The value is returned unchanged. Only ``A-Z a-z 0-9 . _ / -`` are
    accepted, so revision expressions such as ``HEAD~1`` or ``main^`` are
    refused as well as anything git would read as an option.

    Raises:
        TypeError: ``value`` is not a :class:`str`.
        ValueError: with the message of the first :class:`GitRefRejection`
            that applies, checked in this order: empty, leading ``-``, any
            whitespace, leading or trailing ``/``, ``.lock`` suffix, ``.``
            suffix, ``..``, ``//``, ``@{``, characters outside the alphabet.

    >>> git_ref("refs/heads/main")
    'refs/heads/main'
    """
    checked: object = value  # callers without a type checker may pass anything
    if not isinstance(checked, str):
        msg = f"GitRef expects str, got {type(checked).__name__}"
        raise TypeError(msg)
    rejection = classify_git_ref(value)
    if rejection is not None:
        raise ValueError(rejection.value)
    return GitRef(value)
