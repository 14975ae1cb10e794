"""Type stub for the private native module :mod:`cuprum._native`."""

from collections.abc import Sequence
from typing import Final, Generic, Literal, TypeAlias, TypeVar, final

_T = TypeVar("_T")

def is_available() -> bool: ...

# Streams (crates/cuprum-py/src/streams.rs).
def rust_pump_stream(reader_fd: int, writer_fd: int, buffer_size: int = 65536) -> int: ...
def rust_consume_stream(reader_fd: int, buffer_size: int = 65536) -> str: ...
def _pump_stream_report(
    reader_fd: int, writer_fd: int, buffer_size: int = 65536, *, portable: bool = False
) -> tuple[int, Literal["splice", "read_write"], bool]: ...

# Process engine: the spawn request (crates/cuprum-py/src/spec.rs).

StdinRoute: TypeAlias = (
    Literal["inherit", "null", "stream", "live"]
    | bytes
    | tuple[Literal["path"], bytes]
    | tuple[Literal["fd"], int]
)
"""Where the first stage's stdin comes from: inherited, the null device,
chunks fed on request (``STDIN_WANTED``), a live stdin, a ``bytes`` payload
(lent to the engine, never copied), a file (``os.fsencode`` path) or a
descriptor."""
OutputRoute: TypeAlias = (
    Literal["capture", "echo", "live", "null"]
    | tuple[Literal["path", "append"], bytes]
    | tuple[Literal["fd"], int]
)
"""Where stdout goes: read by the engine and kept (``"capture"``), only
echoed (``"echo"``) or handed to the caller (``"live"``); or, not read, the
null device, a file (truncated or appended to) or a descriptor."""
ErrorRoute: TypeAlias = OutputRoute | Literal["stdout"]
"""Where stderr goes: as stdout, or wherever stdout goes (``2>&1``)."""
EchoTarget: TypeAlias = int | Literal["events"] | None
"""Where a read stream is echoed: a descriptor, ``ECHO_*`` events, or nowhere."""

@final
class SpawnSpec:
    def __new__(
        cls,
        stages: Sequence[Sequence[bytes]],
        *,
        env: Sequence[tuple[bytes, bytes]] | None = None,
        cwd: bytes | None = None,
        stdin: StdinRoute = "inherit",
        stdout: OutputRoute = "capture",
        stderr: ErrorRoute = "capture",
        echo_stdout: EchoTarget = None,
        echo_stderr: EchoTarget = None,
        decode: Literal["bytes", "utf-8"] = "bytes",
        line_events: bool = False,
        timeout: float | None = None,
        cancel_grace: float | None = None,
        relay: Literal["auto", "portable"] = "auto",
        ok_codes: Sequence[Sequence[int]] | None = None,
        pass_fds: Sequence[int] | None = None,
        live_buffer: int | None = None,
        wake: Literal["events", "finish"] = "events",
    ) -> SpawnSpec: ...
    @property
    def line_events(self) -> bool: ...
    @property
    def wake(self) -> Literal["events", "finish"]: ...

# Process engine: runs and their events (crates/cuprum-py/src/exec.rs, batch.rs).

START: Final = 0
STDIN: Final = 1
STDIN_WANTED: Final = 2
STDIN_ERROR: Final = 3
STDOUT: Final = 4
STDERR: Final = 5
ECHO_STDOUT: Final = 6
ECHO_STDERR: Final = 7
EXIT: Final = 8

Event: TypeAlias = (
    tuple[Literal[0], int, tuple[int, str]]
    | tuple[Literal[1], int, int]
    | tuple[Literal[2], int, None]
    | tuple[Literal[3], int, tuple[Literal["write", "close"], int | None, str]]
    | tuple[Literal[4], int, list[str]]
    | tuple[Literal[5], int, list[str]]
    | tuple[Literal[6], int, bytes]
    | tuple[Literal[7], int, bytes]
    | tuple[Literal[8], int, tuple[int, float]]
)
"""One engine event ``(kind, stage, value)``; the value's type follows the
kind: ``START`` ``(pid, executable)``, ``STDIN`` bytes written,
``STDIN_WANTED`` ``None``, ``STDIN_ERROR`` ``(operation, errno, message)``,
``STDOUT``/``STDERR`` consecutive lines, ``ECHO_STDOUT``/``ECHO_STDERR`` a
raw chunk, ``EXIT`` ``(exit_code, duration_s)``."""

def spawn(spec: SpawnSpec, *, inline: bool = False) -> Execution: ...
def _begin_shutdown() -> None: ...
def clone_events(template: _T, header: int, slots: int, lines: list[str]) -> CloneEvents[_T]: ...

@final
class CloneEvents(Generic[_T]):
    def __iter__(self) -> CloneEvents[_T]: ...
    def __next__(self) -> _T: ...

@final
class Hub:
    def __new__(cls) -> Hub: ...
    def fileno(self) -> int: ...
    def take(self) -> list[int]: ...

@final
class Execution:
    def pids(self) -> list[int]: ...
    def notify_fd(self) -> int: ...
    def watch(self, hub: Hub, token: int) -> None: ...
    def take_events(self) -> tuple[list[Event], bool]: ...
    def wait_events(self, timeout: float | None = None) -> tuple[list[Event], bool]: ...
    def feed_stdin(self, chunk: bytes | None) -> None: ...
    def cancel(self, grace: float) -> None: ...
    def join(self, timeout: float) -> bool: ...
    def close(self) -> None: ...
    def outcome(self) -> Outcome | None: ...
    def live_stream(self, stream: Literal["stdout", "stderr"]) -> LiveStream | None: ...
    def live_stdin(self) -> LiveStdin | None: ...

# Live streams (crates/cuprum-py/src/live.rs).

@final
class LiveStream:
    def read_lines(self, timeout: float | None = None) -> list[str] | None: ...
    def take_lines(self) -> list[str] | None: ...
    def read_bytes(self, timeout: float | None = None) -> bytes | None: ...
    def take_bytes(self) -> bytes | None: ...
    def finished(self) -> bool: ...
    def unbound(self) -> None: ...
    def rest(self, text: bool) -> str | bytes: ...

@final
class LiveStdin:
    def submit(self, data: bytes) -> int: ...
    def written(self, ticket: int) -> bool: ...
    def wait(self, ticket: int) -> None: ...
    def close(self) -> None: ...
    def closed(self) -> bool: ...

@final
class StageOutcome:
    @property
    def pid(self) -> int: ...
    @property
    def exit_code(self) -> int: ...
    @property
    def duration(self) -> float: ...
    @property
    def stdout(self) -> str | bytes | None: ...
    @property
    def stderr(self) -> str | bytes | None: ...
    @property
    def early_exit(self) -> bool: ...

@final
class Outcome:
    @property
    def stages(self) -> list[StageOutcome]: ...
    @property
    def timed_out(self) -> bool: ...
    @property
    def cancelled(self) -> bool: ...
    @property
    def failure_index(self) -> int | None: ...
    @property
    def error(self) -> BaseException | None: ...

@final
class LineSplitter:
    def __init__(self) -> None: ...
    def feed(self, text: str) -> list[str]: ...
    def finish(self) -> list[str]: ...
