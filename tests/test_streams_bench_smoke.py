"""The benchmark harness runs every scenario at a tiny size (``--smoke``).

The stream pump's scenarios are checked in detail; every other scenario
only has to finish without error.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_smoke_run(tmp_path: Path) -> None:
    report = REPO_ROOT / "docs" / "benchmarks.md"
    before = report.read_text() if report.exists() else None
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--results-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| `rust_pump_stream` (splice) |" in proc.stdout
    for scenario in ("pump", "pump-large-pipes"):
        results = sorted(tmp_path.glob(f"{scenario}-2*.json"))
        assert len(results) == 1, scenario
        data = json.loads(results[0].read_text())
        assert data["scenario"] == scenario
        assert set(data["seconds"]) == {"splice", "portable", "python"}
        assert all(len(runs) == 2 for runs in data["seconds"].values())
    after = report.read_text() if report.exists() else None
    assert after == before, "a smoke run must not rewrite the report"


def test_unknown_scenario_is_rejected() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "no-such-scenario"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "no-such-scenario" in proc.stdout
