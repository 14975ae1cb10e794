"""Proof of the path the pump takes, by tracing its system calls.

A child Python process runs one pump under ``strace``; the test then counts
the ``splice``, ``read`` and ``write`` calls made on the pump's two
descriptors. Pipe-to-pipe and file-to-pipe transfers must be spliced;
file-to-file and socket-to-socket transfers must be refused by the kernel
on the first ``splice`` (``EINVAL``) and then copied with ``read``/``write``;
the forced portable loop must never call ``splice``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="splice(2) is Linux-only"),
    pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed"),
]

PAYLOAD_SIZE = 32 * 1024  # fits in a pipe, so the child needs no threads
BUFFER_SIZE = 4096

CHILD = textwrap.dedent(
    """
    import os, socket, sys
    from cuprum import _native
    from cuprum._streams_rs import rust_pump_stream

    mode, workdir = sys.argv[1], sys.argv[2]
    payload = bytes(range(256)) * ({size} // 256)
    collect = None
    if mode in ("pipe", "portable"):
        reader, source_in = os.pipe()
        sink_out, writer = os.pipe()
        os.write(source_in, payload)
        os.close(source_in)
        collect = lambda: os.read(sink_out, {size} * 2)
    elif mode == "file_to_pipe":
        with open(os.path.join(workdir, "in"), "wb") as f:
            f.write(payload)
        reader = os.open(os.path.join(workdir, "in"), os.O_RDONLY)
        sink_out, writer = os.pipe()
        collect = lambda: os.read(sink_out, {size} * 2)
    elif mode == "file":
        with open(os.path.join(workdir, "in"), "wb") as f:
            f.write(payload)
        reader = os.open(os.path.join(workdir, "in"), os.O_RDONLY)
        writer = os.open(os.path.join(workdir, "out"), os.O_WRONLY | os.O_CREAT)
        collect = lambda: open(os.path.join(workdir, "out"), "rb").read()
    elif mode == "socket":
        producer, source = socket.socketpair()
        sink, consumer = socket.socketpair()
        producer.sendall(payload)
        producer.shutdown(socket.SHUT_WR)
        reader, writer = source.fileno(), sink.detach()
        def collect():
            data = b""
            while chunk := consumer.recv(1 << 20):
                data += chunk
            return data
    os.write(1, f"{{reader}} {{writer}}\\n".encode())
    if mode == "portable":
        count = _native._pump_stream_report(reader, writer, {buffer}, portable=True)[0]
    else:
        count = rust_pump_stream(reader, writer, buffer_size={buffer})
    assert count == len(payload), count
    assert collect() == payload
    os.write(1, f"{{count}}\\n".encode())
    """
).format(size=PAYLOAD_SIZE, buffer=BUFFER_SIZE)

SYSCALL = re.compile(r"^(?:\[pid +\d+\] |\d+ +)?(splice|read|write)\((\d+), (.*) = (-?\d+)")


@dataclass
class Trace:
    """System calls of one traced pump, on its reader and writer only."""

    count: int
    splices: list[int]  # return values
    reads: list[int]
    writes: list[int]


def trace_pump(mode: str, tmp_path: Path) -> Trace:
    log = tmp_path / "strace.log"
    strace = ["strace", "-f", "-qq", "-e", "trace=splice,read,write", "-o", str(log)]
    proc = subprocess.run(
        [*strace, sys.executable, "-c", CHILD, mode, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    fds, count = proc.stdout.split("\n")[:2]
    reader, writer = (int(fd) for fd in fds.split())
    trace = Trace(count=int(count), splices=[], reads=[], writes=[])
    # Descriptor numbers are reused during start-up, so only the calls
    # between the child's two lines of output belong to the pump.
    lines = iter(log.read_text().splitlines())
    start = f'write(1, "{reader} {writer}\\n"'
    for line in lines:
        if start in line:
            break
    else:
        pytest.fail(f"start marker {start!r} not found in the trace")
    for line in lines:
        match = SYSCALL.match(line)
        if match is None:
            continue
        call, fd, rest = match.group(1), int(match.group(2)), match.group(3)
        result = int(match.group(4))
        if call == "write" and fd == 1:
            break
        if call == "splice" and fd == reader and rest.startswith(f"NULL, {writer}, NULL, "):
            trace.splices.append(result)
        elif call == "read" and fd == reader:
            trace.reads.append(result)
        elif call == "write" and fd == writer:
            trace.writes.append(result)
    return trace


@pytest.mark.parametrize("mode", ["pipe", "file_to_pipe"])
def test_pipe_transfers_are_spliced(mode: str, tmp_path: Path) -> None:
    trace = trace_pump(mode, tmp_path)
    assert trace.count == PAYLOAD_SIZE
    assert sum(n for n in trace.splices if n > 0) == PAYLOAD_SIZE
    assert all(n >= 0 for n in trace.splices), trace.splices
    assert trace.splices[-1] == 0  # end of input
    assert trace.reads == []
    assert trace.writes == []


@pytest.mark.parametrize("mode", ["file", "socket"])
def test_unspliceable_pairs_fall_back_to_read_write(mode: str, tmp_path: Path) -> None:
    trace = trace_pump(mode, tmp_path)
    assert trace.count == PAYLOAD_SIZE
    assert trace.splices == [-1], "expected exactly one refused probe"
    assert sum(n for n in trace.reads if n > 0) == PAYLOAD_SIZE
    assert sum(n for n in trace.writes if n > 0) == PAYLOAD_SIZE
    assert len(trace.reads) >= PAYLOAD_SIZE // BUFFER_SIZE


def test_probe_is_refused_with_einval(tmp_path: Path) -> None:
    trace_pump("file", tmp_path)
    log = (tmp_path / "strace.log").read_text()
    assert re.search(r"splice\(.* = -1 EINVAL", log), log


def test_portable_loop_never_splices(tmp_path: Path) -> None:
    trace = trace_pump("portable", tmp_path)
    assert trace.count == PAYLOAD_SIZE
    assert trace.splices == []
    assert sum(n for n in trace.reads if n > 0) == PAYLOAD_SIZE
    assert sum(n for n in trace.writes if n > 0) == PAYLOAD_SIZE
