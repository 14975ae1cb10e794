"""`run`, `Pipeline.run` and `run_concurrent` under asyncio, trio and anyio
(on both back ends): capture, pipelines, concurrency, async observe hooks,
a free event loop, and an import that needs neither trio nor anyio.

Cancellation under each library is in ``test_async_cancellation.py``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable

import pytest
import sniffio
import trio

from cuprum import (
    CommandResult,
    ConcurrentConfig,
    ExecEvent,
    ExecutionContext,
    PipelineResult,
    RunOutputOptions,
    StdinInput,
    TimeoutExpired,
    after,
    observe,
    run_concurrent,
    run_concurrent_sync,
)
from flavours import ALL, Flavour, Ticker, flavour_ids
from helpers import FIXTURE_PATH, assert_no_children, fixture_cmd, open_fds, sh_cmd

every_library = pytest.mark.parametrize("flavour", flavour_ids(ALL))


# --- runs and pipelines ---------------------------------------------------------------


@every_library
def test_run_captures_stdout_stderr_and_exit_code(flavour: Flavour) -> None:
    async def main() -> CommandResult:
        return await sh_cmd("echo out; echo err >&2; exit 3").run()

    result = flavour.run(main)
    assert (result.stdout, result.stderr, result.exit_code) == ("out\n", "err\n", 3)
    assert_no_children()


@every_library
def test_run_feeds_stdin(flavour: Flavour) -> None:
    async def main() -> CommandResult:
        return await fixture_cmd("cat").run(stdin=StdinInput(text="fed\n"))

    assert flavour.run(main).stdout == "fed\n"


@every_library
def test_pipeline_relays_between_stages(flavour: Flavour) -> None:
    async def main() -> PipelineResult:
        return await (
            fixture_cmd("lines", 1000) | fixture_cmd("cat") | fixture_cmd("head-lines", 3)
        ).run()

    result = flavour.run(main)
    assert result.ok
    assert result.stdout is not None
    assert len(result.stdout.splitlines()) == 3
    assert_no_children()


@every_library
def test_timeout_raises_timeout_expired_with_partial_output(flavour: Flavour) -> None:
    async def main() -> None:
        await sh_cmd("echo partial; exec sleep 30").run(timeout=0.5)

    with pytest.raises(TimeoutExpired) as info:
        flavour.run(main)
    assert info.value.output == "partial\n"
    assert_no_children()


# --- async observe hooks ----------------------------------------------------------------


@every_library
def test_async_observe_hooks_run_in_the_runs_library(flavour: Flavour) -> None:
    """An awaitable returned by an observe hook becomes a background task of
    the run's own library and has finished before ``run`` returns."""
    settled: list[tuple[str, str]] = []

    def hook(event: ExecEvent) -> Awaitable[None]:
        async def record() -> None:
            await flavour.sleep(0.01)
            settled.append((event.phase, sniffio.current_async_library()))

        return record()

    async def main() -> CommandResult:
        with observe(hook):
            result = await fixture_cmd("echo", "hi").run()
        # Everything settled before run returned.
        assert len(settled) == 4
        return result

    assert flavour.run(main).stdout == "hi\n"
    assert sorted(phase for phase, _ in settled) == ["exit", "plan", "start", "stdout"]
    assert {library for _, library in settled} == {flavour.backend}


@every_library
def test_a_failing_async_observe_hook_raises_after_the_after_hooks(flavour: Flavour) -> None:
    class Boom(Exception):
        pass

    order: list[str] = []

    def hook(event: ExecEvent) -> Awaitable[None] | None:
        if event.phase != "start":
            return None

        async def fail() -> None:
            await flavour.sleep(0.05)
            order.append("task")
            raise Boom(event.phase)

        return fail()

    async def main() -> None:
        with observe(hook), after(lambda cmd, result: order.append("after")):
            await fixture_cmd("echo").run()

    with pytest.raises(Boom, match="start"):
        flavour.run(main)
    assert order == ["after", "task"]


def test_trio_observe_tasks_are_named_for_their_phase() -> None:
    names: list[str] = []

    def hook(event: ExecEvent) -> Awaitable[None]:
        async def record() -> None:
            names.append(trio.lowlevel.current_task().name)

        return record()

    async def main() -> None:
        with observe(hook):
            await fixture_cmd("echo", "hi").run()

    trio.run(main)
    assert sorted(names) == [
        f"cuprum.observe.{phase}" for phase in ("exit", "plan", "start", "stdout")
    ]


# --- run_concurrent ---------------------------------------------------------------------


@every_library
def test_run_concurrent_reports_in_submission_order(flavour: Flavour) -> None:
    async def main() -> list[str | None]:
        outcome = await run_concurrent(
            fixture_cmd("sleep", 0.3),
            sh_cmd("sleep 0.1; echo middle"),
            fixture_cmd("echo", "quick"),
        )
        assert outcome.ok
        return [result.stdout for result in outcome.results]

    assert flavour.run(main) == ["", "middle\n", "quick\n"]
    assert_no_children()


@every_library
def test_run_concurrent_starts_commands_in_submission_order(flavour: Flavour) -> None:
    # Twenty commands without a limit: each is handed to the engine before
    # the next one, whatever order the library schedules new tasks in (trio
    # deliberately shuffles them). The engine spawns in that order, so the
    # kernel hands out ascending pids; the start events themselves may be
    # observed in any order.
    starts: list[tuple[int, tuple[str, ...]]] = []

    def hook(event: ExecEvent) -> None:
        if event.phase == "start" and event.pid is not None:
            starts.append((event.pid, event.argv[1:]))

    async def main() -> None:
        with observe(hook):
            await run_concurrent(*(fixture_cmd("echo", index) for index in range(20)))

    flavour.run(main)
    assert [argv for _, argv in sorted(starts)] == [("echo", str(index)) for index in range(20)]


@every_library
def test_run_concurrent_limit_caps_running_commands(flavour: Flavour) -> None:
    lifecycle: list[str] = []

    def hook(event: ExecEvent) -> None:
        if event.phase in {"start", "exit"}:
            lifecycle.append(event.phase)

    async def main() -> None:
        with observe(hook):
            outcome = await run_concurrent(
                *(fixture_cmd("sleep", 0.1) for _ in range(6)),
                config=ConcurrentConfig(concurrency=2),
            )
        assert len(outcome.results) == 6

    flavour.run(main)
    running = peak = 0
    for phase in lifecycle:
        running += 1 if phase == "start" else -1
        peak = max(peak, running)
    assert peak == 2


@every_library
def test_run_concurrent_fail_fast_stops_the_rest(flavour: Flavour) -> None:
    started: list[int] = []

    def hook(event: ExecEvent) -> None:
        if event.phase == "start" and event.pid is not None:
            started.append(event.pid)

    async def main() -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        with observe(hook):
            outcome = await run_concurrent(
                fixture_cmd("sleep", 30),
                sh_cmd("sleep 0.3; exit 2"),
                fixture_cmd("ignore-term", 30),
                fixture_cmd("echo", "quick"),
                config=ConcurrentConfig(fail_fast=True, context=ExecutionContext(cancel_grace=0.2)),
            )
        return (
            tuple(result.exit_code for result in outcome.results),
            outcome.submission_indices,
            outcome.failure_submission_indices,
        )

    began = time.monotonic()
    codes, indices, failed = flavour.run(main)
    # Generous bound: the sleepers would take 30 s; teardown takes the grace.
    assert time.monotonic() - began < 10
    assert (codes, indices, failed) == ((2, 0), (1, 3), (1,))
    assert len(started) == 4
    assert_no_children()


@every_library
def test_run_concurrent_fail_fast_never_spawns_queued_commands(flavour: Flavour) -> None:
    starts: list[ExecEvent] = []

    def hook(event: ExecEvent) -> None:
        if event.phase == "start":
            starts.append(event)

    async def main() -> tuple[int, ...]:
        with observe(hook):
            outcome = await run_concurrent(
                fixture_cmd("exit", 3),
                fixture_cmd("echo", "never"),
                fixture_cmd("echo", "never"),
                config=ConcurrentConfig(concurrency=1, fail_fast=True),
            )
        return outcome.submission_indices

    assert flavour.run(main) == (0,)
    assert len(starts) == 1


@every_library
def test_run_concurrent_collect_all_reraises_the_first_exception(flavour: Flavour) -> None:
    async def main() -> None:
        await run_concurrent(
            fixture_cmd("echo", "fine"),
            fixture_cmd("sleep", 30),
            config=ConcurrentConfig(context=ExecutionContext(timeout=0.2)),
        )

    with pytest.raises(TimeoutExpired):
        flavour.run(main)
    assert_no_children()


# --- the event loop stays free, at scale ---------------------------------------------------


@every_library
def test_the_event_loop_keeps_running_while_runs_are_awaited(flavour: Flavour) -> None:
    ticker = Ticker(flavour)

    async def main() -> None:
        async with flavour.task_group() as group:
            group.start_soon(ticker.run)
            # 50 MB relayed between two stages (not captured: building a
            # 50 MB string is work for the loop, not waiting).
            await (fixture_cmd("spew", 50_000_000) | fixture_cmd("cat")).run(
                output=RunOutputOptions(capture=False)
            )
            await fixture_cmd("sleep", 1).run()
            ticker.done = True

    flavour.run(main)
    assert ticker.ticks > 20
    # The ticker sleeps 5 ms at a time; a loop blocked while waiting would
    # show a gap of a whole run (at least 1 s). 250 ms leaves room for a
    # loaded machine.
    assert ticker.longest < 0.25, ticker.longest


@every_library
def test_two_hundred_concurrent_runs_in_one_task_group(flavour: Flavour) -> None:
    # The engine's poller is made once per process, on first use.
    fixture_cmd("echo", "warm-up").run_sync()
    asyncio.run(fixture_cmd("echo", "warm-up").run())
    fds = open_fds()
    outputs: dict[int, str | None] = {}

    async def one(index: int) -> None:
        result = await fixture_cmd("echo", index).run()
        outputs[index] = result.stdout

    async def main() -> None:
        async with flavour.task_group() as group:
            for index in range(200):
                group.start_soon(one, index)

    flavour.run(main)
    assert outputs == {index: f"{index}\n" for index in range(200)}
    assert_no_children()
    assert open_fds() == fds


@every_library
def test_run_concurrent_with_two_hundred_commands(flavour: Flavour) -> None:
    async def main() -> tuple[str | None, ...]:
        outcome = await run_concurrent(
            *(fixture_cmd("echo", index) for index in range(200)),
            config=ConcurrentConfig(concurrency=50),
        )
        return tuple(result.stdout for result in outcome.results)

    assert flavour.run(main) == tuple(f"{index}\n" for index in range(200))
    assert_no_children()


@every_library
def test_blocking_twins_work_inside_every_library(flavour: Flavour) -> None:
    async def main() -> tuple[str | None, str | None, list[str | None]]:
        single = fixture_cmd("echo", "one").run_sync()
        piped = (fixture_cmd("echo", "two") | fixture_cmd("cat")).run_sync()
        batch = run_concurrent_sync(fixture_cmd("echo", "a"), fixture_cmd("echo", "b"))
        return single.stdout, piped.stdout, [result.stdout for result in batch.results]

    assert flavour.run(main) == ("one\n", "two\n", ["a\n", "b\n"])
    assert_no_children()


# --- detection --------------------------------------------------------------------------


def test_run_outside_an_async_library_raises_a_clear_error() -> None:
    coroutine = fixture_cmd("echo").run()
    with pytest.raises(RuntimeError, match="must be awaited under asyncio, trio or anyio"):
        coroutine.send(None)
    coroutine.close()
    assert_no_children()


def test_an_unsupported_async_library_is_named() -> None:
    async def main() -> None:
        token = sniffio.current_async_library_cvar.set("curio")
        try:
            await fixture_cmd("echo").run()
        finally:
            sniffio.current_async_library_cvar.reset(token)

    # sniffio reads its context variable before it looks for an asyncio task.
    with pytest.raises(RuntimeError, match="not under 'curio'"):
        asyncio.run(main())
    assert_no_children()


def test_import_cuprum_needs_neither_trio_nor_anyio() -> None:
    """With trio and anyio impossible to import, cuprum imports, runs under
    asyncio, and tears a cancelled run down."""
    script = textwrap.dedent(
        """
        import asyncio, sys, time
        from importlib.abc import MetaPathFinder

        class Blocker(MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"trio", "anyio"}:
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, Blocker())
        import cuprum
        from cuprum import ExecutionContext, Program, ProgramCatalogue, ProjectSettings, sh

        fixture = Program(sys.argv[1])
        catalogue = ProgramCatalogue(projects=[ProjectSettings(
            name="t", programs=(fixture,), documentation_locations=(), noise_rules=())])
        cmd = sh.make(fixture, catalogue=catalogue)

        async def main():
            print((await cmd("echo", "ok").run()).stdout.strip())
            began = time.monotonic()
            try:
                async with asyncio.timeout(0.2):
                    await cmd("ignore-term", 30).run(context=ExecutionContext(cancel_grace=0.3))
            except TimeoutError:
                print("cancelled", round(time.monotonic() - began, 1) < 5)
            result = await cuprum.run_concurrent(cmd("echo", "a"), cmd("echo", "b"))
            print("".join(r.stdout for r in result.results).split())

        asyncio.run(main())
        print(sorted({"trio", "anyio"} & set(sys.modules)))
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    completed = subprocess.run(
        [sys.executable, "-c", script, str(FIXTURE_PATH)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == ["ok", "cancelled True", "['a', 'b']", "[]"]
