"""Typed usage of the public API, checked with ``mypy --strict`` (never run).

Every assignment states the type a user relies on, so a change to a public
signature or return type shows up here as a type error.
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path

import cuprum
from cuprum import (
    COREUTILS,
    COREUTILS_PROJECT,
    DEFAULT_CATALOGUE,
    DEVNULL,
    ECHO,
    LS,
    PIPE,
    STDOUT,
    AfterHook,
    Append,
    BeforeHook,
    CommandResult,
    ConcurrentConfig,
    ConcurrentResult,
    CuprumContext,
    EnvRegistration,
    ErrorTarget,
    ExecEvent,
    ExecHook,
    ExecutionContext,
    ExitCodeError,
    ForbiddenProgramError,
    HookRegistration,
    LoggingHookRegistration,
    OutputTarget,
    Pipeline,
    PipelineResult,
    Program,
    ProgramCatalogue,
    ProgramEntry,
    ProjectSettings,
    Redirect,
    RunOutputOptions,
    SafeCmd,
    SafeCmdBuilder,
    ScopeConfig,
    Secret,
    StdinInput,
    StdinSource,
    TimeoutExpired,
    UnknownProgramError,
    after,
    allow,
    before,
    current_context,
    env,
    is_rust_available,
    logging_hook,
    merge_env_overlays,
    observe,
    redact,
    resolve_env,
    run_concurrent,
    run_concurrent_sync,
    scoped,
    sh,
)
from cuprum.builders import git_checkout, git_ref, safe_path
from cuprum.catalogue import DuplicateProgramError, DuplicateProjectError
from cuprum.context import ContextError
from cuprum.events import ExecId, ExecPhase, new_exec_id

TOOL = Program("/usr/local/bin/tool")

PROJECT = ProjectSettings(
    name="tools",
    programs=(TOOL,),
    documentation_locations=("docs/tools.md",),
    noise_rules=(),
)
CATALOGUE = ProgramCatalogue(projects=(PROJECT,))


def catalogue_usage() -> None:
    entry: ProgramEntry = CATALOGUE.lookup(TOOL)
    project: ProjectSettings = entry.project
    name: str = entry.project_name
    allowed: frozenset[Program] = CATALOGUE.allowlist
    visible: Mapping[str, ProjectSettings] = DEFAULT_CATALOGUE.visible_settings()
    owns: bool = project.owns(TOOL)
    use(CATALOGUE.is_allowed("tool"), owns, name, allowed, visible)
    try:
        sh.make(Program("missing"))
    except UnknownProgramError as exc:
        lookup: LookupError = exc
        use(lookup)
    try:
        ProgramCatalogue(projects=(PROJECT, PROJECT))
    except DuplicateProjectError as exc:
        project_name: str = exc.project_name
        use(project_name)
    except DuplicateProgramError as exc:
        owner: str = exc.owner
        program: Program = exc.program
        use(owner, program)


def command_usage() -> SafeCmd:
    tool: SafeCmdBuilder = sh.make(TOOL, catalogue=CATALOGUE)
    cmd: SafeCmd = tool("status", 3, verbose=True, path=Path("/tmp"))
    argv: tuple[str, ...] = cmd.argv
    full: tuple[str, ...] = cmd.argv_with_program
    program: Program = cmd.program
    project: ProjectSettings = cmd.project
    tail: tuple[str, ...] = sh.build_argv("log", max_count=5)
    use(argv, full, program, project, tail)
    return cmd


def pipeline_usage(cmd: SafeCmd) -> Pipeline:
    two: Pipeline = cmd | cmd
    three: Pipeline = two | cmd
    four: Pipeline = cmd | two | cmd
    joined: Pipeline = Pipeline.concat(two, three)
    parts: tuple[SafeCmd, ...] = four.parts
    use(parts, joined)
    return three


def run_sync_usage(cmd: SafeCmd, pipeline: Pipeline) -> None:
    ctx = ExecutionContext(
        env={"LANG": "C"},
        cwd=Path("/tmp"),
        cancel_grace=1.0,
        timeout=30,
        stdout_sink=io.StringIO(),
        stderr_sink=None,
        encoding="utf-8",
        errors="strict",
        tags={"job": 1},
        pass_fds=(3, 4),
    )
    passed: tuple[int, ...] = ctx.pass_fds
    use(passed)
    output = RunOutputOptions(capture=True, echo=False)
    result: CommandResult = cmd.run_sync(
        output=output, timeout=5.0, context=ctx, stdin=StdinInput(text="input")
    )
    code: int = result.exit_code
    pid: int = result.pid
    stdout: str | None = result.stdout
    stderr: str | None = result.stderr
    ok: bool = result.ok
    piped: PipelineResult = pipeline.run_sync(output=output, timeout=None, context=ctx)
    stages: tuple[CommandResult, ...] = piped.stages
    final: CommandResult = piped.final
    failure: CommandResult | None = piped.failure
    failure_index: int | None = piped.failure_index
    final_stdout: str | None = piped.stdout
    use(code, pid, stdout, stderr, ok, stages, final, failure)
    use(failure_index, final_stdout, piped.ok)


async def run_async_usage(cmd: SafeCmd, pipeline: Pipeline) -> None:
    result: CommandResult = await cmd.run(stdin=StdinInput(data=b"bytes"))
    piped: PipelineResult = await pipeline.run(timeout=1)
    try:
        await cmd.run(timeout=0.5)
    except TimeoutExpired as exc:
        timeout: float = exc.timeout
        partial: str | None = exc.output
        alias: str | None = exc.stdout
        errors: str | None = exc.stderr
        command: object = exc.cmd
        as_builtin: TimeoutError = exc
        use(timeout, partial, alias, errors, command, as_builtin)
    use(result.ok, piped.ok)


def hooks_usage() -> None:
    def before_hook(cmd: SafeCmd) -> None:
        use(cmd)

    def after_hook(cmd: SafeCmd, result: CommandResult) -> None:
        use(cmd, result)

    def observe_hook(event: ExecEvent) -> None:
        phase: ExecPhase = event.phase
        exec_id: ExecId | None = event.exec_id
        line: str | None = event.line
        tags: Mapping[str, object] = event.tags
        use(phase, exec_id, line, tags)

    async def async_observe_hook(event: ExecEvent) -> None:
        await asyncio.sleep(0)

    typed_before: BeforeHook = before_hook
    typed_after: AfterHook = after_hook
    typed_observe: ExecHook = observe_hook
    typed_async: ExecHook = async_observe_hook
    registration: HookRegistration = before(typed_before)
    with after(typed_after), observe(typed_observe), observe(typed_async):
        pass
    registration.detach()
    config = ScopeConfig(
        allowlist=frozenset({ECHO, LS}),
        before_hooks=(typed_before,),
        after_hooks=(typed_after,),
        observe_hooks=(typed_observe,),
        timeout=10,
        env_overlay={"A": "1"},
    )
    with scoped(config) as ctx:
        narrowed: CuprumContext = ctx
        allowed: bool = narrowed.is_allowed(ECHO)
        use(allowed)
    with allow(TOOL), env({"A": "1"}, B="2") as overlay:
        applied: Mapping[str, str] = overlay.overlay
        use(applied)
    env_registration: EnvRegistration = env(C="3")
    env_registration.detach()
    merged: Mapping[str, str] | None = merge_env_overlays({"A": "1"}, None)
    resolved: dict[str, str] | None = resolve_env(merged, {"B": "2"})
    active: CuprumContext = current_context()
    use(resolved, active)
    try:
        active.check_allowed(TOOL)
    except ForbiddenProgramError as exc:
        restricted: bool = exc.restricted_state
        as_permission: PermissionError = exc
        as_context: ContextError = exc
        use(restricted, as_permission, as_context)
    logged: LoggingHookRegistration = logging_hook(logger=logging.getLogger("app"))
    logged.detach()
    fresh: uuid.UUID = new_exec_id()
    use(fresh)


async def concurrent_usage(cmd: SafeCmd) -> None:
    config = ConcurrentConfig(concurrency=4, capture=True, fail_fast=False)
    batch: ConcurrentResult = await run_concurrent(cmd, cmd, config=config)
    results: tuple[CommandResult, ...] = batch.results
    failures: tuple[int, ...] = batch.failures
    indices: tuple[int, ...] = batch.submission_indices
    synced: ConcurrentResult = run_concurrent_sync(cmd, config=config)
    use(results, failures, indices, synced.ok)


def other_async_libraries_usage(cmd: SafeCmd, pipeline: Pipeline) -> None:
    """The same coroutines run under trio and anyio."""
    import anyio
    import trio

    async def under_trio() -> None:
        with trio.move_on_after(1.0):
            result: CommandResult = await cmd.run()
            piped: PipelineResult = await pipeline.run()
            use(result, piped)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(cmd.run)

    async def under_anyio() -> None:
        with anyio.fail_after(1.0):
            batch: ConcurrentResult = await run_concurrent(cmd, cmd)
            use(batch)

    trio.run(under_trio)
    anyio.run(under_anyio, backend="trio")


def builders_usage() -> None:
    path: str = safe_path("/srv/data")
    ref: str = git_ref("refs/heads/main")
    checkout: SafeCmd = git_checkout(ref, create_branch=True)
    use(path, checkout)


def first_five_minutes_usage(tmp: Path) -> None:
    # Catalogues without ceremony.
    short = ProjectSettings(name="text", programs=(Program("sort"),))
    one: ProgramCatalogue = ProgramCatalogue.of("sort", Program("uniq"), project="text")
    wider: ProgramCatalogue = DEFAULT_CATALOGUE.with_projects(COREUTILS, short)
    coreutils_name: str = COREUTILS_PROJECT
    sort: SafeCmdBuilder = sh.make("sort", catalogue=one)
    uniq: SafeCmdBuilder = sh.make(Program("uniq"), catalogue=one)
    use(wider, coreutils_name)
    try:
        sh.make("gti")
    except UnknownProgramError as exc:
        suggestion: Program | None = exc.suggestion
        asked: Program | str | None = exc.program
        use(suggestion, asked)
    # A captured run's text is a `str`: no assert needed.
    result = sort("-r", Path("/etc/hosts")).run_sync()
    lines: list[str] = result.stdout.splitlines()
    errors: str = result.stderr
    piped = (sort() | uniq("-c")).run_sync(timeout=5)
    counted: list[str] = piped.stdout.splitlines()
    # With explicit output options capture may be off: `str | None`.
    maybe: str | None = sort().run_sync(output=RunOutputOptions(capture=False)).stdout
    # Both kinds of result are still a plain `CommandResult`.
    plain: CommandResult = result
    plain_pipe: PipelineResult = piped
    flags: PipelineResult = (sort() | uniq()).run_sync(capture=False, echo=True)
    use(lines, errors, counted, maybe, plain, plain_pipe, flags)
    # Binary echo sinks.
    with (tmp / "log.bin").open("wb") as binary:
        ctx = ExecutionContext(stdout_sink=binary, stderr_sink=io.BytesIO())
        sort().run_sync(output=RunOutputOptions(echo=True), context=ctx)


async def first_five_minutes_async(cmd: SafeCmd, pipeline: Pipeline) -> None:
    result = await cmd.run()
    words: list[str] = result.stdout.split()
    piped = await pipeline.run()
    text: str = piped.stdout
    use(words, text)


def package_usage() -> None:
    name: str = cuprum.PACKAGE_NAME
    version: str = cuprum.__version__
    available: bool = is_rust_available()
    hook_factory: Callable[[ExecEvent], Awaitable[None] | None] = print_event
    use(name, version, available, hook_factory)


def secrets_usage(tool: SafeCmdBuilder) -> None:
    token = Secret("hunter2")
    value: str = token.reveal()
    as_text: str = token  # a Secret is a str whose text is the mask
    cmd: SafeCmd = tool("push", token, password=Secret("pw"))
    shown: tuple[str, ...] = redact(cmd.argv_with_program)
    ctx = ExecutionContext(env={"TOKEN": token, "PLAIN": "x"})
    shown_env: Mapping[str, str] = redact({"TOKEN": token})
    registration: EnvRegistration = env(TOKEN=token)
    registration.detach()
    use(value, as_text, shown, ctx, shown_env)


async def exit_codes_usage(cmd: SafeCmd, pipeline: Pipeline) -> None:
    grep_like: SafeCmd = cmd.with_ok_codes(0, 1)
    codes: frozenset[int] = grep_like.ok_codes
    result: CommandResult = grep_like.run_sync(check=True)
    accepted: frozenset[int] = result.ok_codes
    awaited: CommandResult = await cmd.run(check=True)
    piped: PipelineResult = pipeline.run_sync(check=True)
    awaited_pipe: PipelineResult = await pipeline.run(check=False)
    built = CommandResult(ECHO, (), 1, -1, None, None, ok_codes=frozenset({0, 1}))
    try:
        cmd.run_sync(check=True)
    except ExitCodeError as error:
        code: int = error.returncode
        failed: CommandResult | PipelineResult = error.result
        stderr: str | None = error.stderr
        use(code, failed, stderr)
    use(codes, accepted, awaited, piped, awaited_pipe, built)


async def routing_usage(cmd: SafeCmd, pipeline: Pipeline, log: Path) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"data"

    async def achunks() -> AsyncIterator[bytes]:
        yield b"data"

    with log.open("ab") as handle:
        to_file: CommandResult = cmd.run_sync(stdout=log, stderr=STDOUT)
        appended: CommandResult = await cmd.run(stdout=Append(log), stderr=Append(str(log)))
        by_fd: CommandResult = cmd.run_sync(stdin=0, stdout=handle.fileno(), stderr=handle)
        quiet: CommandResult = cmd.run_sync(stdout=DEVNULL, stderr=DEVNULL, check=True)
        from_file: CommandResult[str] = cmd.run_sync(stdin=log)
        streamed: CommandResult[str] = cmd.run_sync(stdin=chunks())
        awaited: CommandResult[str] = await cmd.run(stdin=achunks(), timeout=5.0)
        nothing: CommandResult[str] = await cmd.run(stdin=DEVNULL)
        text: str = streamed.stdout
        maybe: str | None = to_file.stdout
        piped: PipelineResult = pipeline.run_sync(stdin=log, stdout=log, stderr=STDOUT)
        piped_text: PipelineResult[str] = await pipeline.run(stdin=[b"a", b"b"])
        data: PipelineResult[str] = pipeline.run_sync(stdin=StdinInput(text="x"))
    source: StdinSource = log
    target: OutputTarget = Append(log)
    error_target: ErrorTarget = STDOUT
    special: Redirect = PIPE
    use(appended, by_fd, quiet, from_file, awaited, nothing, text, maybe, piped)
    use(piped_text, data, source, target, error_target, special)


def remote_usage(hosts: list[cuprum.SshHost]) -> None:
    from cuprum.remote import RemoteCmd, SshHost

    web = SshHost(
        "web1",
        user="deploy",
        port=2222,
        identity_file=Path("~/.ssh/id_ed25519"),
        options={"ConnectTimeout": "5"},
        catalogue=DEFAULT_CATALOGUE,
    )
    status: SafeCmd = web.make(cuprum.GIT)("status")
    result: CommandResult[str] = status.run_sync(check=True)
    piped: PipelineResult = (status | web.make(cuprum.GIT)("log")).run_sync()
    fanned: ConcurrentResult = cuprum.run_concurrent_sync(
        *(host.make(cuprum.GIT)("pull") for host in hosts), config=ConcurrentConfig(concurrency=8)
    )
    remote_cmd = RemoteCmd(program=cuprum.GIT, argv=(), project=status.project, host=web)
    where: SshHost = remote_cmd.host
    try:
        status.run_sync()
    except cuprum.SshError as error:
        host_name: str = error.host
        detail: str = error.detail
        use(host_name, detail)
    web.close()
    use(result, piped, fanned, where)


async def live_process_usage(cmd: SafeCmd, pipeline: Pipeline) -> None:
    with cmd.start(stdin=cuprum.PIPE, stdout=cuprum.PIPE, stderr=None, timeout=5.0) as proc:
        live: cuprum.Process = proc
        pid: int = proc.pid
        argv: tuple[str, ...] = proc.argv
        stdin: cuprum.InputStream | None = proc.stdin
        stdout: cuprum.OutputStream | None = proc.stdout
        if stdin is not None:
            stdin.write_sync("line\n")
            await stdin.write(b"more\n")
            stdin.close()
        if stdout is not None:
            first: list[str] = list(stdout)
            chunks: list[bytes] = list(stdout.iter_bytes())
            rest: str = stdout.read_sync()
            text: str = await stdout.read()
            use(first, chunks, rest, text)
        code: int | None = proc.poll()
        proc.send_signal(15)
        proc.terminate()
        proc.kill()
        result: CommandResult = proc.wait_sync(timeout=1.0, check=False)
        awaited: CommandResult = await proc.wait(check=True)
        proc.cancel_sync()
        await proc.cancel()
        use(live, pid, argv, code, result, awaited)
    async with pipeline.start(stdout=cuprum.PIPE) as piped:
        running: cuprum.PipelineProcess = piped
        pids: tuple[int, ...] = piped.pids
        if piped.stdout is not None:
            async for line in piped.stdout:
                use(line)
        finished: PipelineResult = await piped.wait()
        use(running, pids, finished, piped.returncode)


def print_event(event: ExecEvent) -> None:
    print(event.phase)


def use(*values: object) -> None:
    """Consume values, so every annotated name above is used."""
