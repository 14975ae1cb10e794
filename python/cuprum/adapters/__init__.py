"""Bridges from execution events to logging, metrics and tracing back ends.

Each submodule turns :class:`~cuprum.events.ExecEvent` values into calls on a
small protocol that a user implements over their back end of choice:

* :mod:`cuprum.adapters.logging_adapter` — structured :mod:`logging` records
  and a JSON formatter;
* :mod:`cuprum.adapters.metrics_adapter` — counters and a duration histogram
  through :class:`~cuprum.adapters.metrics_adapter.MetricsCollector`;
* :mod:`cuprum.adapters.tracing_adapter` — one span per execution through
  :class:`~cuprum.adapters.tracing_adapter.Tracer`;
* :mod:`cuprum.adapters.tracing_memory` — an in-memory tracer for tests.
"""

from __future__ import annotations

__all__: list[str] = []
