"""The benchmark harness: scenarios, isolated runs, statistics and reports.

A :class:`Scenario` names a workload and the implementations that perform it.
Every measured run happens in a fresh Python subprocess (``python -m
benchmarks --worker SCENARIO IMPLEMENTATION SIZE``), so implementations never
share caches, threads or allocator state. Rounds alternate the order of the
implementations so slow drifts of the machine (frequency, page cache, other
load) spread evenly over all of them. The first rounds are warm-up and are
discarded; medians and min-max ranges come from the measured rounds.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

GIB = 1 << 30
REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPORT_PATH = REPO_ROOT / "docs" / "benchmarks.md"


@dataclasses.dataclass(frozen=True)
class Implementation:
    """One way of performing a scenario's workload."""

    name: str
    label: str


@dataclasses.dataclass(frozen=True)
class Target:
    """A stated goal: ``subject`` at least ``ratio`` times as fast as ``reference``."""

    subject: str
    reference: str
    ratio: float


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A workload, measured in bytes moved, performed by several implementations.

    ``measure(implementation, size)`` runs inside the worker subprocess and
    returns the seconds the timed part took.
    """

    name: str
    title: str
    description: str
    size: int
    smoke_size: int
    implementations: tuple[Implementation, ...]
    baseline: str
    measure: Callable[[str, int], float]
    targets: tuple[Target, ...] = ()

    def implementation(self, name: str) -> Implementation:
        for implementation in self.implementations:
            if implementation.name == name:
                return implementation
        msg = f"scenario {self.name!r} has no implementation {name!r}"
        raise KeyError(msg)


SCENARIOS: dict[str, Scenario] = {}


def register(scenario: Scenario) -> Scenario:
    """Add ``scenario`` to the registry (names must be unique)."""
    if scenario.name in SCENARIOS:
        msg = f"scenario {scenario.name!r} is already registered"
        raise ValueError(msg)
    SCENARIOS[scenario.name] = scenario
    return scenario


@dataclasses.dataclass(frozen=True)
class Stats:
    """Throughput statistics of one implementation, in GiB/s."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, size: int, seconds: Sequence[float]) -> Stats:
        rates = [size / s / GIB for s in seconds]
        return cls(statistics.median(rates), min(rates), max(rates))


def run_worker(scenario: Scenario, implementation: str, size: int) -> float:
    """Measure one run in a fresh interpreter; return its seconds."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--worker", scenario.name, implementation, str(size)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    if proc.returncode != 0:
        msg = f"{scenario.name}/{implementation} failed ({proc.returncode}):\n{proc.stderr}"
        raise RuntimeError(msg)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return float(result["seconds"])


def worker_main(scenario_name: str, implementation: str, size: int) -> None:
    """The worker subprocess: one measurement, printed as a JSON line."""
    scenario = SCENARIOS[scenario_name]
    scenario.implementation(implementation)  # fail early on a bad name
    seconds = scenario.measure(implementation, size)
    print(json.dumps({"seconds": seconds}))


def measure(scenario: Scenario, size: int, *, warmup: int, runs: int) -> dict[str, list[float]]:
    """Alternate the implementations over ``warmup + runs`` rounds."""
    names = [implementation.name for implementation in scenario.implementations]
    timings: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(warmup + runs):
        shift = round_index % len(names)
        order = names[shift:] + names[:shift]
        for name in order:
            seconds = run_worker(scenario, name, size)
            if round_index >= warmup:
                timings[name].append(seconds)
        phase = "warm-up" if round_index < warmup else "measured"
        print(f"  round {round_index + 1}/{warmup + runs} ({phase}) done", flush=True)
    return timings


def machine() -> dict[str, str]:
    """A short description of the machine and toolchain."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        if match:
            cpu = match.group(1).strip()
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        match = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text(), re.MULTILINE)
        if match:
            memory = f"{int(match.group(1)) / (1 << 20):.1f} GiB"
    try:
        rustc = subprocess.run(
            ["rustc", "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        rustc = "unknown"
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return {
        "cpu": cpu,
        "logical_cpus": str(os.cpu_count()),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "rustc": rustc,
        "load_average_at_start": f"{load} (1, 5, 15 min)",
    }


def summarise(scenario: Scenario, size: int, timings: dict[str, list[float]]) -> dict[str, Stats]:
    return {name: Stats.of(size, seconds) for name, seconds in timings.items()}


def target_lines(scenario: Scenario, stats: dict[str, Stats]) -> list[str]:
    lines = []
    for target in scenario.targets:
        actual = stats[target.subject].median / stats[target.reference].median
        verdict = "met" if actual >= target.ratio else f"missed by {target.ratio - actual:.2f}x"
        subject = scenario.implementation(target.subject).label
        reference = scenario.implementation(target.reference).label
        lines.append(
            f"- Target: {subject} >= {target.ratio:g}x {reference}: "
            f"measured {actual:.2f}x, {verdict}."
        )
    return lines


def render_table(scenario: Scenario, stats: dict[str, Stats]) -> str:
    baseline = stats[scenario.baseline].median
    baseline_label = scenario.implementation(scenario.baseline).label
    rows = [
        f"| implementation | median GiB/s | min-max GiB/s | vs {baseline_label} |",
        "| --- | ---: | ---: | ---: |",
    ]
    for implementation in scenario.implementations:
        s = stats[implementation.name]
        rows.append(
            f"| {implementation.label} | {s.median:.2f} | {s.low:.2f}-{s.high:.2f} "
            f"| {s.median / baseline:.2f}x |"
        )
    return "\n".join(rows)


def render_section(
    scenario: Scenario, size: int, runs: int, stats: dict[str, Stats], when: str
) -> str:
    lines = [
        f"## {scenario.title}",
        "",
        scenario.description,
        "",
        f"Payload {size / GIB:g} GiB; {runs} measured runs per implementation after "
        f"warm-up, alternating; measured {when}.",
        "",
        render_table(scenario, stats),
    ]
    targets = target_lines(scenario, stats)
    if targets:
        lines += ["", *targets]
    return "\n".join(lines)


def render_machine(info: dict[str, str]) -> str:
    return "\n".join(f"- {key.replace('_', ' ')}: {value}" for key, value in info.items())


def replace_block(text: str, key: str, body: str) -> str:
    """Replace (or append) the block between ``<!-- key:begin -->`` and ``<!-- key:end -->``."""
    begin, end = f"<!-- {key}:begin -->", f"<!-- {key}:end -->"
    block = f"{begin}\n{body}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    return text.rstrip("\n") + "\n\n" + block + "\n"


def write_report(sections: dict[str, str], info: dict[str, str], path: Path = REPORT_PATH) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    text = replace_block(text, "machine", render_machine(info))
    for name, section in sections.items():
        text = replace_block(text, f"scenario:{name}", section)
    path.write_text(text)


def save_results(
    directory: Path,
    *,
    scenario: Scenario,
    size: int,
    timings: dict[str, list[float]],
    info: dict[str, str],
    when: str,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = when.replace(":", "").replace("-", "")
    path = directory / f"{scenario.name}-{stamp}.json"
    stats = summarise(scenario, size, timings)
    payload = {
        "scenario": scenario.name,
        "size_bytes": size,
        "measured_at": when,
        "machine": info,
        "seconds": timings,
        "gib_per_s": {name: dataclasses.asdict(s) for name, s in stats.items()},
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
