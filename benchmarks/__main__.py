"""Run the benchmark suite: ``python -m benchmarks [--smoke | --quick] [SCENARIO ...]``.

Scenarios live in their own modules and register themselves with
:func:`benchmarks.harness.register`; list a new module in
``SCENARIO_MODULES`` to add it to the suite.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from benchmarks import harness, plot

SCENARIO_MODULES = (
    "benchmarks.pump",
    "benchmarks.overhead",
    "benchmarks.capture",
    "benchmarks.tee",
    "benchmarks.pipeline",
    "benchmarks.lines",
    "benchmarks.concurrent",
    "benchmarks.early_exit",
    "benchmarks.reactor",
    "benchmarks.redirect",
    "benchmarks.remote",
)


def load_scenarios() -> None:
    for module in SCENARIO_MODULES:
        importlib.import_module(module)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("scenarios", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, one warm-up-free round pair; checks the harness, writes no report",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller sizes and 3 measured runs (unless --runs); writes results, not the report",
    )
    parser.add_argument(
        "--runs", type=int, default=None, help="measured runs per implementation (default: 5)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="warm-up rounds, discarded")
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=None,
        help=f"where to write JSON results (default: {harness.RESULTS_DIR}; none in --smoke)",
    )
    parser.add_argument("--no-report", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument(
        "--worker", nargs=3, metavar=("SCENARIO", "IMPL", "SIZE"), help=argparse.SUPPRESS
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    load_scenarios()
    args = parse_args(argv)
    if args.worker:
        name, implementation, size = args.worker
        harness.worker_main(name, implementation, int(size))
        return 0

    unknown = [name for name in args.scenarios if name not in harness.SCENARIOS]
    if unknown:
        print(f"unknown scenarios: {', '.join(unknown)}; known: {', '.join(harness.SCENARIOS)}")
        return 2
    selected = [harness.SCENARIOS[name] for name in args.scenarios or harness.SCENARIOS]
    if args.smoke:
        warmup, runs = 0, 2
    else:
        warmup, runs = args.warmup, args.runs or (3 if args.quick else 5)
    results_dir = args.results_dir or (None if args.smoke else harness.RESULTS_DIR)
    info = harness.machine()
    when = harness.now()
    sections: dict[str, str] = {}
    for scenario in selected:
        size = scenario.size_for(smoke=args.smoke, quick=args.quick)
        print(f"{scenario.name}: {scenario.title} ({scenario.metric.describe(size)})", flush=True)
        measurements = harness.measure(scenario, size, warmup=warmup, runs=runs)
        stats = harness.summarise(scenario, size, measurements.seconds)
        print(harness.render_table(scenario, stats, measurements))
        for line in harness.target_lines(scenario, stats, measurements):
            print(line)
        if results_dir is not None:
            path = harness.save_results(
                results_dir,
                scenario=scenario,
                size=size,
                measurements=measurements,
                info=info,
                when=when,
            )
            print(f"results: {path}")
        sections[scenario.name] = harness.render_section(
            scenario, size, runs, stats, harness.provenance(when, info), measurements=measurements
        )
    if not args.smoke and not args.quick and not args.no_report:
        full_run = len(selected) == len(harness.SCENARIOS)
        harness.write_report(sections, info if full_run else None)
        print(f"report: {harness.REPORT_PATH}")
        if results_dir is not None:
            picture = plot.write_plot(results_dir, harness.REPORT_PATH.with_suffix(".png"))
            if picture is not None:
                print(f"plot: {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
