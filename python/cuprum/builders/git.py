"""Typed builders for ``git``: status, checkout and rev-parse.

Every reference passes through :func:`~cuprum.builders.args.git_ref` first,
so it can never be read as an option.
"""

from __future__ import annotations

from cuprum._command import SafeCmd, make
from cuprum.builders.args import git_ref
from cuprum.catalogue import GIT

__all__ = ["git_checkout", "git_rev_parse", "git_status"]

_git = make(GIT)


def git_status(*, short: bool = False, branch: bool = False) -> SafeCmd:
    """``git status [--short] [--branch]``.

    >>> git_status(short=True, branch=True).argv
    ('status', '--short', '--branch')
    """
    argv = ["status"]
    if short:
        argv.append("--short")
    if branch:
        argv.append("--branch")
    return _git(*argv)


def git_checkout(
    ref: str,
    *,
    create_branch: bool = False,
    detach: bool = False,
    force: bool = False,
) -> SafeCmd:
    """``git checkout`` of a validated reference.

    With ``create_branch`` the argv is ``checkout -b <ref>``, or
    ``checkout -B <ref>`` (create or reset) when ``force`` is also set.
    Otherwise ``--detach`` and then ``--force`` are added when requested.

    Raises:
        ValueError: ``create_branch`` and ``detach`` are both set (checked
            first), or ``ref`` is not a valid :data:`~cuprum.builders.GitRef`.
        TypeError: ``ref`` is not a str.

    >>> git_checkout("feature", create_branch=True).argv
    ('checkout', '-b', 'feature')
    >>> git_checkout("v1.0", detach=True, force=True).argv
    ('checkout', '--detach', '--force', 'v1.0')
    """
    if create_branch and detach:
        msg = "git_checkout: create_branch and detach cannot both be set"
        raise ValueError(msg)
    argv = ["checkout"]
    if create_branch:
        argv.append("-B" if force else "-b")
    else:
        if detach:
            argv.append("--detach")
        if force:
            argv.append("--force")
    argv.append(git_ref(ref))
    return _git(*argv)


def git_rev_parse(ref: str) -> SafeCmd:
    """``git rev-parse <ref>`` for a validated reference.

    Raises:
        ValueError, TypeError: ``ref`` is not a valid
            :data:`~cuprum.builders.GitRef` (see :func:`~cuprum.builders.git_ref`).

    >>> git_rev_parse("main").argv
    ('rev-parse', 'main')
    """
    return _git("rev-parse", git_ref(ref))
