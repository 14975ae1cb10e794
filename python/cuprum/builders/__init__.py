"""Typed command builders for common tools, and validated argument types.

Each builder returns a :class:`~cuprum.sh.SafeCmd` for a program of
:data:`~cuprum.catalogue.DEFAULT_CATALOGUE`; nothing runs until the command
is run. Paths go through :func:`safe_path` and git references through
:func:`git_ref`, so no argument can be read as an option or climb out of
the directory it names.
"""

from __future__ import annotations

from cuprum.builders.args import GitRef as GitRef
from cuprum.builders.args import SafePath as SafePath
from cuprum.builders.args import git_ref as git_ref
from cuprum.builders.args import safe_path as safe_path
from cuprum.builders.git import git_checkout as git_checkout
from cuprum.builders.git import git_rev_parse as git_rev_parse
from cuprum.builders.git import git_status as git_status
from cuprum.builders.rsync import RsyncOptions as RsyncOptions
from cuprum.builders.rsync import rsync_sync as rsync_sync
from cuprum.builders.tar import Compression as Compression
from cuprum.builders.tar import TarCreateOptions as TarCreateOptions
from cuprum.builders.tar import tar_create as tar_create
from cuprum.builders.tar import tar_extract as tar_extract

__all__ = [
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
