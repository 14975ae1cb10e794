"""Typed builders for ``tar``: :func:`tar_create` and :func:`tar_extract`."""

from __future__ import annotations

import dataclasses
import enum
import os
from collections.abc import Iterable

from cuprum._command import SafeCmd, make
from cuprum.builders.args import PathInput, safe_path
from cuprum.catalogue import TAR

__all__ = ["Compression", "TarCreateOptions", "tar_create", "tar_extract"]

_tar = make(TAR)


class Compression(enum.StrEnum):
    """Archive compression for :func:`tar_create`."""

    NONE = "none"
    """No compression, no flag."""
    GZIP = "gzip"
    """``-z``."""
    BZIP2 = "bzip2"
    """``-j``."""
    XZ = "xz"
    """``-J``."""


_COMPRESSION_FLAGS: dict[Compression, str | None] = {
    Compression.NONE: None,
    Compression.GZIP: "-z",
    Compression.BZIP2: "-j",
    Compression.XZ: "-J",
}


@dataclasses.dataclass(frozen=True, slots=True)
class TarCreateOptions:
    """Options for :func:`tar_create`.

    ``allow_relative`` lets the archive and source paths be relative (see
    :func:`~cuprum.builders.safe_path`).
    """

    compression: Compression = Compression.NONE
    allow_relative: bool = False


def tar_create(
    archive: PathInput,
    sources: Iterable[PathInput],
    *,
    options: TarCreateOptions | None = None,
) -> SafeCmd:
    """``tar -c [-z|-j|-J] -f <archive> <sources…>`` with validated paths.

    ``sources`` must be a collection of paths: a bare str or path (a common
    slip for a one-element list) is refused rather than iterated.

    Raises:
        TypeError: ``sources`` is a bare str, bytes or path-like object; or a
            path is not a str or path-like object.
        ValueError: ``sources`` is empty; or a path (the archive first, then
            each source in order) is not a valid
            :data:`~cuprum.builders.SafePath`.

    >>> tar_create("/tmp/site.tar.gz", ["/srv/site"],
    ...            options=TarCreateOptions(compression=Compression.GZIP)).argv
    ('-c', '-z', '-f', '/tmp/site.tar.gz', '/srv/site')
    """
    if isinstance(sources, str | bytes | os.PathLike):
        msg = (
            "tar_create requires a sequence of source paths, got a single "
            f"{type(sources).__name__}; wrap it in a list"
        )
        raise TypeError(msg)
    items = tuple(sources)
    if not items:
        msg = "tar_create requires at least one source path"
        raise ValueError(msg)
    opts = options if options is not None else TarCreateOptions()
    relative = opts.allow_relative
    archive_path = safe_path(archive, allow_relative=relative)
    source_paths = [safe_path(source, allow_relative=relative) for source in items]
    flag = _COMPRESSION_FLAGS[Compression(opts.compression)]
    argv = ["-c", *([flag] if flag is not None else []), "-f", archive_path]
    return _tar(*argv, *source_paths)


def tar_extract(
    archive: PathInput,
    *,
    destination: PathInput | None = None,
    allow_relative: bool = False,
) -> SafeCmd:
    """``tar -x -f <archive> [-C <destination>]`` with validated paths.

    tar detects the compression of the archive by itself.

    Raises:
        TypeError, ValueError: ``archive`` (checked first) or
            ``destination`` is not a valid :data:`~cuprum.builders.SafePath`.

    >>> tar_extract("/tmp/site.tar", destination="/srv/restore").argv
    ('-x', '-f', '/tmp/site.tar', '-C', '/srv/restore')
    """
    argv = ["-x", "-f", safe_path(archive, allow_relative=allow_relative)]
    if destination is not None:
        argv += ["-C", safe_path(destination, allow_relative=allow_relative)]
    return _tar(*argv)
