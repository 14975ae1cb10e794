"""Shared tools of the fault-injection suite: scripts run in a separate
interpreter (for signals, exit and fork), timing, and process checks."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent

# Margin on top of a promised bound, for a loaded 2-core machine. The bound
# itself is the promise; the margin only absorbs scheduling noise.
SLACK = 1.0


def python(script: str, *, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``script`` in a fresh interpreter that can import cuprum and
    the test helpers; stdout and stderr are piped as text."""
    full_env = {**os.environ, "PYTHONPATH": str(TESTS), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )


def timed(call: Callable[[], object]) -> tuple[BaseException | None, float]:
    """Run ``call``; return what it raised (or ``None``) and how long it took."""
    began = time.monotonic()
    try:
        call()
    except BaseException as exc:
        return exc, time.monotonic() - began
    return None, time.monotonic() - began


def threads() -> int:
    """The number of threads of this process."""
    return sum(1 for _ in Path("/proc/self/task").iterdir())
