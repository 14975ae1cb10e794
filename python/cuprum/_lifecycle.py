"""Process-wide lifecycle: runs in flight at interpreter exit and across
``os.fork()``.

Every engine handle is tracked from spawn until its run is over. At exit,
an ``atexit`` hook stops whatever is still running — a ``run_sync`` on a
daemon thread, say — so no child outlives the interpreter: each run is
cancelled (SIGTERM, then SIGKILL after its ``cancel_grace``) and waited for,
bounded by that grace. Threads still waiting in the engine then stay parked
instead of waking into a finalizing interpreter, so the script's exit status
stands.

A child made by ``os.fork()`` inherits the parent's handles but not its
runs: they are forgotten there (the parent still owns and reaps them), and
the engine starts afresh in the child.
"""

from __future__ import annotations

import atexit
import os
import threading

from cuprum import _native

# Slack on top of each run's grace for reaping and draining after SIGKILL.
_REAP_SLACK = 1.0

_lock = threading.Lock()
_live: dict[int, tuple[_native.Execution, float]] = {}


def track(handle: _native.Execution, grace: float) -> None:
    """Record a run in flight (until :func:`untrack`)."""
    with _lock:
        _live[id(handle)] = (handle, grace)


def untrack(handle: _native.Execution) -> None:
    """Forget a run that is over."""
    with _lock:
        _live.pop(id(handle), None)


def _stop_in_flight() -> None:
    _native._begin_shutdown()
    with _lock:
        runs = list(_live.values())
    for handle, grace in runs:
        handle.cancel(grace)
    for handle, grace in runs:
        handle.join(grace + _REAP_SLACK)


def _forget_after_fork() -> None:
    # The lock may have been held by another thread at fork time.
    global _lock  # noqa: PLW0603 - replaced once in the child, never shared
    _lock = threading.Lock()
    _live.clear()


atexit.register(_stop_in_flight)
os.register_at_fork(after_in_child=_forget_after_fork)
