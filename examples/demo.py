"""A short tour of cuprum on real programs: ``make demo`` runs it.

It builds commands from a catalogue, runs one synchronously and one with
asyncio, streams a pipeline through the native relays, watches events with
an observe hook, narrows a scope's allowlist, and shows a timeout tearing a
program down.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time

from cuprum import (
    COREUTILS,
    DEFAULT_CATALOGUE,
    ECHO,
    LS,
    ExecEvent,
    ForbiddenProgramError,
    RunOutputOptions,
    ScopeConfig,
    StdinInput,
    TimeoutExpired,
    UnknownProgramError,
    observe,
    run_concurrent,
    scoped,
    sh,
)

# The shipped catalogue plus the opt-in project of common read-only tools.
TOOLS = DEFAULT_CATALOGUE.with_projects(COREUTILS)


def heading(title: str) -> None:
    print(f"\n== {title}")


def main() -> None:
    logging.basicConfig(
        level=logging.WARNING, format="  [log %(name)s] %(message)s", stream=sys.stdout
    )
    echo = sh.make(ECHO)
    printf = sh.make("printf", catalogue=TOOLS)
    sort = sh.make("sort", catalogue=TOOLS)
    uniq = sh.make("uniq", catalogue=TOOLS)
    sleep = sh.make("sleep", catalogue=TOOLS)

    heading("a command, run synchronously")
    result = echo("hello from cuprum").run_sync()
    print(f"exit={result.exit_code} pid={result.pid} stdout={result.stdout!r}")

    heading("the same, awaited")
    result = asyncio.run(sh.make(LS)("-1", "examples").run())
    print(f"ls found: {result.stdout.split()}")

    heading("stdin and a pipeline relayed natively (splice on Linux)")
    words = "pear\napple\npear\nfig\napple\npear\n"
    sorted_words = sort().run_sync(stdin=StdinInput(text=words))
    print("sorted:", sorted_words.stdout.split())
    pipeline = printf(words) | sort() | uniq("-c") | sort("-rn")
    outcome = pipeline.run_sync()
    print(f"ok={outcome.ok} stages={len(outcome.stages)}")
    print(outcome.stdout)

    heading("events from an observe hook")

    def show(event: ExecEvent) -> None:
        detail = event.line if event.line is not None else event.exit_code
        print(f"  {event.phase:<6} {event.program} {'' if detail is None else detail}")

    with observe(show):
        echo("line one\nline two").run_sync(output=RunOutputOptions(capture=True))

    heading("a scope that only allows echo")
    with scoped(ScopeConfig(allowlist=frozenset({ECHO}))):
        print(echo("allowed").run_sync().stdout, end="")
        try:
            sh.make(LS)().run_sync()
        except ForbiddenProgramError as exc:
            print("denied:", exc)

    heading("a program outside the catalogue: the error shows the fix")
    try:
        sh.make("gti")
    except UnknownProgramError as exc:
        print(exc)

    heading("a timeout: SIGTERM, grace, SIGKILL, reaped")
    started = time.monotonic()
    try:
        sleep("30").run_sync(timeout=0.2)
    except TimeoutExpired as exc:
        print(f"{exc} (returned after {time.monotonic() - started:.2f} s)")

    heading("concurrent runs with a limit")
    batch = asyncio.run(run_concurrent(*(echo(f"job {n}") for n in range(5))))
    print([r.stdout.strip() if r.stdout else "" for r in batch.results])


if __name__ == "__main__":
    main()
