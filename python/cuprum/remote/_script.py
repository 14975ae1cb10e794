"""The command line a remote host runs: the program, quoted, under a watchdog.

ssh hands the remote side one string, which the remote login shell parses.
Every argument is quoted with :func:`shlex.quote`, so nothing is re-split,
expanded or interpreted there: the program receives the exact argv.

Without a terminal, sshd does not signal a remote program when the client
goes away: it only closes the program's pipes, and a program that neither
writes nor reads (``sleep``, a silent build) would keep running. So the
program runs under a small watchdog::

    exec 3>&1
    { "$@" >&3 3>&-; echo $?; } | perl -e WATCHDOG "$grace" 3>&-

The program keeps the session's stdin, stdout and stderr; the watchdog
(``perl``, core modules only) shares the session's stdout and stderr and
polls them. When the local ``ssh`` dies — a timeout, a cancel, Ctrl-C — the
session's pipes lose their reader; ``poll`` reports it at once, and the
watchdog sends SIGTERM to the remote process group, then SIGKILL after the
run's grace, as the engine does locally. When the program exits, its status
reaches the watchdog through the pipe and becomes the session's exit status
(``128 + N`` for a program killed by signal N, as a shell reports it).

A host without ``perl`` runs the program directly (``exec "$@"``): the run
works the same, but a timeout stops only the local ``ssh``.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

# Ignores TERM (it signals its own group), watches stdin for the program's
# status and stdout/stderr for POLLERR (no reader left).
_WATCHDOG = (
    "use IO::Poll qw(POLLIN POLLERR);"
    '$SIG{TERM}="IGNORE";'
    "my $g=shift;"
    "my $p=IO::Poll->new;"
    "$p->mask(\\*STDIN,POLLIN);"
    "$p->mask(\\*STDOUT,POLLERR);"
    "$p->mask(\\*STDERR,POLLERR);"
    "while(1){"
    "$p->poll;"
    "if($p->events(\\*STDOUT)||$p->events(\\*STDERR)){"
    'kill "TERM",-getpgrp;'
    "select(undef,undef,undef,$g);"
    'kill "KILL",-getpgrp;'
    "exit 1}"
    "if($p->events(\\*STDIN)){"
    "my $s=<STDIN>;"
    "exit(defined $s?$s:1)}}"
)

_SCRIPT = (
    "g=$1; shift; "
    "if command -v perl >/dev/null 2>&1; then "
    "exec 3>&1; "
    '{ "$@" >&3 3>&-; echo $?; } | perl -e ' + shlex.quote(_WATCHDOG) + ' "$g" 3>&-; '
    'else exec "$@"; fi'
)


def remote_command(argv: Sequence[str], *, grace: float) -> str:
    """The string ssh sends for ``argv`` (the program first)."""
    words = " ".join(shlex.quote(arg) for arg in argv)
    return f"exec sh -c {shlex.quote(_SCRIPT)} sh {grace:g} {words}"
