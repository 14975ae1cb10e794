"""I/O routing at scale (beyond.md §15): a gigabyte to and from files, and a
gigabyte generator streamed to stdin in bounded memory."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import fixture_cmd

GIB = 1 << 30
TESTS = Path(__file__).resolve().parent


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@pytest.mark.slow
def test_a_gigabyte_to_stdout_path_and_back_from_stdin_path(tmp_path: Path) -> None:
    written, copied = tmp_path / "written.bin", tmp_path / "copied.bin"
    result = fixture_cmd("spew", GIB).run_sync(stdout=written)
    assert result.ok
    assert result.stdout is None
    assert written.stat().st_size == GIB
    # stdin=Path feeds `cat`, whose stdout=Path writes the copy: no byte of
    # either passes through cuprum.
    assert fixture_cmd("cat").run_sync(stdin=written, stdout=copied).ok
    assert _sha256(copied) == _sha256(written)
    assert fixture_cmd("count").run_sync(stdin=written).stdout == f"{GIB}\n"


def _rss_script(flavour: str) -> str:
    return textwrap.dedent(
        f"""
        import asyncio, resource
        from helpers import fixture_cmd

        CHUNK = 1 << 20

        def chunks():
            for _ in range({GIB} // CHUNK):
                yield b"x" * CHUNK  # a fresh chunk each time

        async def achunks():
            for chunk in chunks():
                yield chunk

        fixture_cmd("count").run_sync(stdin=iter([b"warm-up"]))
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if {flavour!r} == "sync":
            count = fixture_cmd("count").run_sync(stdin=chunks()).stdout
        else:
            count = asyncio.run(fixture_cmd("count").run(stdin=achunks())).stdout
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(count.strip(), (peak - baseline) // 1024)
        """
    )


@pytest.mark.slow
@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_gigabyte_generator_streams_to_stdin_in_bounded_memory(flavour: str) -> None:
    """Peak RSS grows by less than 64 MiB while 1 GiB is streamed in 1 MiB
    chunks: the engine holds one chunk at a time and asks for the next only
    when it is written."""
    proc = subprocess.run(
        [sys.executable, "-c", _rss_script(flavour)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    count, extra_mib = proc.stdout.split()
    assert count == str(GIB)
    assert int(extra_mib) < 64
