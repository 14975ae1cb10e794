"""A typed builder for ``rsync``: :class:`RsyncOptions` and :func:`rsync_sync`."""

from __future__ import annotations

import dataclasses

from cuprum._command import SafeCmd, make
from cuprum.builders.args import PathInput, safe_path
from cuprum.catalogue import RSYNC

__all__ = ["RsyncOptions", "rsync_sync"]

_rsync = make(RSYNC)


@dataclasses.dataclass(frozen=True, slots=True)
class RsyncOptions:
    """Flags for :func:`rsync_sync`; all off by default.

    ``archive``, ``delete``, ``dry_run``, ``verbose`` and ``compress`` map to
    rsync's long options of the same name; ``allow_relative`` lets both paths
    be relative (see :func:`~cuprum.builders.safe_path`).
    """

    archive: bool = False
    delete: bool = False
    dry_run: bool = False
    verbose: bool = False
    compress: bool = False
    allow_relative: bool = False


def rsync_sync(
    source: PathInput,
    destination: PathInput,
    *,
    options: RsyncOptions | None = None,
) -> SafeCmd:
    """``rsync [flags…] <source> <destination>`` with validated paths.

    Enabled flags come in a fixed order: ``--archive --delete --dry-run
    --verbose --compress``. Both paths go through
    :func:`~cuprum.builders.safe_path`, which drops a trailing ``/``: rsync
    therefore copies the *directory* ``source`` into ``destination`` (as
    ``destination/<name of source>``), never just its contents.

    Raises:
        TypeError, ValueError: ``source`` (checked first) or ``destination``
            is not a valid :data:`~cuprum.builders.SafePath`.

    >>> rsync_sync("/srv/site", "/backup", options=RsyncOptions(archive=True, delete=True)).argv
    ('--archive', '--delete', '/srv/site', '/backup')
    """
    opts = options if options is not None else RsyncOptions()
    flags = (
        (opts.archive, "--archive"),
        (opts.delete, "--delete"),
        (opts.dry_run, "--dry-run"),
        (opts.verbose, "--verbose"),
        (opts.compress, "--compress"),
    )
    src = safe_path(source, allow_relative=opts.allow_relative)
    dest = safe_path(destination, allow_relative=opts.allow_relative)
    return _rsync(*(flag for enabled, flag in flags if enabled), src, dest)
