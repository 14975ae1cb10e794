"""The benchmark harness's extra figures and absolute-bound targets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.harness import (
    Bound,
    Figure,
    Implementation,
    Measurements,
    Metric,
    Run,
    Sample,
    Scenario,
    Target,
    render_table,
    summarise,
    target_lines,
)

REPO_ROOT = Path(__file__).resolve().parent.parent

PER_CALL_MS = Metric(
    unit="ms/call",
    value=lambda calls, seconds: seconds / calls * 1e3,
    higher_is_better=False,
    size_is_bytes=False,
)


def _scenario(targets: tuple[Target | Bound, ...], figures: tuple[Figure, ...] = ()) -> Scenario:
    return Scenario(
        name="example",
        title="example",
        description="",
        size=1,
        smoke_size=1,
        implementations=(Implementation("fast", "fast"), Implementation("slow", "slow")),
        baseline="slow",
        measure=lambda _implementation, _size: Run(0.0, {}),
        targets=targets,
        metric=PER_CALL_MS,
        figures=figures,
    )


def _measurements(figures: bool) -> Measurements:
    # fast: 4, 5, 6 ms per call; slow: 9, 10, 11 ms; "leaked" 0, 2, 0 for fast.
    def sample(seconds: float, leaked: float) -> Sample:
        return Sample(seconds, 0, 0, {"leaked": leaked} if figures else {})

    return Measurements(
        1,
        {
            "fast": [sample(0.004, 0), sample(0.005, 2), sample(0.006, 0)],
            "slow": [sample(0.009, 0), sample(0.010, 0), sample(0.011, 0)],
        },
    )


def _lines(scenario: Scenario, measurements: Measurements) -> list[str]:
    stats = summarise(scenario, measurements.size, measurements.seconds)
    return target_lines(scenario, stats, measurements)


def test_an_absolute_bound_on_the_metric_judges_the_median() -> None:
    scenario = _scenario((Bound("fast", 10, strict=True), Bound("slow", 10, strict=True)))
    assert _lines(scenario, _measurements(figures=False)) == [
        "- Target: fast < 10 ms/call: measured 5.00 ms/call (median), met.",
        "- Target: slow < 10 ms/call: measured 10.00 ms/call (median), missed by 0.00 ms/call.",
    ]


def test_a_bound_with_worst_judges_the_worst_run_of_a_figure() -> None:
    leaked = Figure("leaked", "leaked descriptors")
    scenario = _scenario(
        (Bound("fast", 0, figure="leaked"), Bound("fast", 0, figure="leaked", worst=True)),
        figures=(leaked,),
    )
    assert _lines(scenario, _measurements(figures=True)) == [
        "- Target: fast leaked descriptors <= 0: measured 0 (median), met.",
        "- Target: fast leaked descriptors <= 0: measured 2 (worst run), missed by 2.",
    ]


def test_bounds_and_ratio_targets_are_listed_in_order() -> None:
    scenario = _scenario((Target("fast", "slow", 1.0), Bound("fast", 4)))
    lines = _lines(scenario, _measurements(figures=False))
    assert lines[0].startswith("- Target: fast <= 1x slow (ms/call): measured 0.50x, met.")
    assert (
        lines[1]
        == "- Target: fast <= 4 ms/call: measured 5.00 ms/call (median), missed by 1.00 ms/call."
    )


def test_figures_add_median_columns_to_the_table() -> None:
    scenario = _scenario((), figures=(Figure("leaked", "leaked", unit="fds", digits=1),))
    measurements = _measurements(figures=True)
    table = render_table(scenario, summarise(scenario, 1, measurements.seconds), measurements)
    header, _, fast, slow = table.splitlines()
    assert header.endswith("| vs slow | median leaked fds |")
    assert fast.endswith("| 0.0 |")
    assert slow.endswith("| 0.0 |")


def test_a_table_without_figures_has_no_extra_columns() -> None:
    scenario = _scenario(())
    measurements = _measurements(figures=False)
    table = render_table(scenario, summarise(scenario, 1, measurements.seconds), measurements)
    assert (
        table.splitlines()[0] == "| implementation | median ms/call | min-max ms/call | vs slow |"
    )


@pytest.mark.parametrize(("scenario", "expected"), [("reactor-100", True), ("overhead", False)])
def test_a_worker_prints_figures_only_for_a_scenario_that_has_them(
    scenario: str, expected: bool
) -> None:
    implementation = "cuprum" if scenario.startswith("reactor") else "posix-spawn"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--worker", scenario, implementation, "3"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    line = json.loads(proc.stdout.strip().splitlines()[-1])
    assert ("figures" in line) is expected
    if expected:
        figures = line["figures"]
        assert set(figures) == {
            "threads",
            "descriptors",
            "leaked",
            "stall",
            "loop_cpu",
            "loop_busy",
            "run_busy",
        }
        assert figures["leaked"] == 0
        assert 1 <= figures["threads"] <= 8
