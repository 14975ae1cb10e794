"""The benchmark harness: scenarios, isolated runs, statistics and reports.

A :class:`Scenario` names a workload and the implementations that perform it.
Every measured run happens in a fresh Python subprocess (``python -m
benchmarks --worker SCENARIO IMPLEMENTATION SIZE``), so implementations never
share caches, threads or allocator state. Rounds alternate the order of the
implementations so slow drifts of the machine (frequency, page cache, other
load) spread evenly over all of them. The first rounds are warm-up and are
discarded; medians and min-max ranges come from the measured rounds.

Each run also reports the worker's peak resident set size
(``getrusage(RUSAGE_SELF).ru_maxrss`` at exit) and the size it had when the
worker started, so scenarios that care about memory can show and judge it.
A scenario's :class:`Metric` turns the seconds of a run into the figure its
table shows: GiB/s by default, or for example microseconds per call. A
scenario may also declare extra :class:`Figure` s (threads, descriptors, ...):
its ``measure`` then returns a :class:`Run` carrying them, the worker prints
them in its JSON line and the table shows their medians as extra columns.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

GIB = 1 << 30
MIB = 1 << 20
REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPORT_PATH = REPO_ROOT / "docs" / "benchmarks.md"
# Seconds one worker run may take before it is killed as stalled.
WORKER_TIMEOUT = 900


@dataclasses.dataclass(frozen=True)
class Implementation:
    """One way of performing a scenario's workload.

    ``env`` holds variables added to the worker subprocess's environment
    (for example to force a backend).
    """

    name: str
    label: str
    env: tuple[tuple[str, str], ...] = ()


def _gib_per_s(size: int, seconds: float) -> float:
    return size / seconds / GIB


def _payload_text(size: int) -> str:
    if size >= GIB:
        return f"Payload {size / GIB:g} GiB"
    return f"Payload {size / MIB:g} MiB"


@dataclasses.dataclass(frozen=True)
class Metric:
    """How a run's seconds become the figure a table shows.

    ``value(size, seconds)`` computes it; ``higher_is_better`` says which way
    targets and ratios read; ``describe(size)`` names the workload size in
    the report; ``size_is_bytes`` says the size is a payload in bytes, so
    peak memory can be shown as a multiple of it.
    """

    unit: str
    value: Callable[[int, float], float]
    higher_is_better: bool = True
    digits: int = 2
    describe: Callable[[int], str] = _payload_text
    size_is_bytes: bool = True


THROUGHPUT = Metric(unit="GiB/s", value=_gib_per_s)


@dataclasses.dataclass(frozen=True)
class Target:
    """A stated goal comparing two implementations' medians.

    With a higher-is-better metric: ``subject`` at least ``ratio`` times
    ``reference``; with a lower-is-better one (time per call): ``subject`` at
    most ``ratio`` times ``reference``.
    """

    subject: str
    reference: str
    ratio: float


@dataclasses.dataclass(frozen=True)
class Figure:
    """An extra figure each run of a scenario reports besides its seconds.

    ``name`` is its key in :attr:`Run.figures`; ``label`` and ``unit`` head
    its table column (which shows the median over the runs);
    ``higher_is_better`` says which way a :class:`Bound` on it reads.
    """

    name: str
    label: str
    unit: str = ""
    digits: int = 0
    higher_is_better: bool = False

    @property
    def heading(self) -> str:
        """The column heading: the label, with the unit if there is one."""
        return f"{self.label} {self.unit}" if self.unit else self.label


@dataclasses.dataclass(frozen=True)
class Run:
    """One measured run with extra figures: the timed seconds and a value per :class:`Figure`."""

    seconds: float
    figures: dict[str, float]


@dataclasses.dataclass(frozen=True)
class Bound:
    """A stated goal on one implementation's own figures: an absolute bound, not a ratio.

    Bounds the median of the scenario's metric, or of the extra figure named
    ``figure``; with ``worst=True`` the worst run instead of the median (for
    figures where one bad run matters, such as leaked descriptors). The bound
    is "at most ``limit``" (or "at least" where higher is better); with
    ``strict=True``, "under" (or "over") it.
    """

    subject: str
    limit: float
    figure: str | None = None
    worst: bool = False
    strict: bool = False


@dataclasses.dataclass(frozen=True)
class MemoryTarget:
    """A stated goal: ``subject``'s median peak RSS at most ``ratio`` x the payload."""

    subject: str
    ratio: float


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A workload performed by several implementations.

    ``measure(implementation, size)`` runs inside the worker subprocess and
    returns the seconds the timed part took, or a :class:`Run` with a value
    for each of the scenario's ``figures`` as well. ``size`` is what the metric
    counts: bytes moved by default, or calls, lines, ... ``quick_size`` is
    used by ``--quick`` (default: ``size``). ``skipped`` lists peers that are
    not measured, each with the reason. ``show_memory`` adds the peak RSS of
    the worker processes to the table.
    """

    name: str
    title: str
    description: str
    size: int
    smoke_size: int
    implementations: tuple[Implementation, ...]
    baseline: str
    measure: Callable[[str, int], float | Run]
    targets: tuple[Target | Bound, ...] = ()
    quick_size: int | None = None
    metric: Metric = THROUGHPUT
    show_memory: bool = False
    memory_targets: tuple[MemoryTarget, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    figures: tuple[Figure, ...] = ()

    def implementation(self, name: str) -> Implementation:
        for implementation in self.implementations:
            if implementation.name == name:
                return implementation
        msg = f"scenario {self.name!r} has no implementation {name!r}"
        raise KeyError(msg)

    def size_for(self, *, smoke: bool = False, quick: bool = False) -> int:
        if smoke:
            return self.smoke_size
        if quick and self.quick_size is not None:
            return self.quick_size
        return self.size


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
    """Statistics of one implementation in the scenario's metric (GiB/s by default)."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, size: int, seconds: Sequence[float], metric: Metric = THROUGHPUT) -> Stats:
        values = [metric.value(size, s) for s in seconds]
        return cls(statistics.median(values), min(values), max(values))


@dataclasses.dataclass(frozen=True)
class Sample:
    """One measured run: its timed seconds, the worker's memory high-water marks
    and the scenario's extra figures, if it has any."""

    seconds: float
    peak_rss_bytes: int
    start_rss_bytes: int
    figures: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Measurements:
    """Every measured run of a scenario at one ``size``, per implementation, in run order."""

    size: int
    samples: dict[str, list[Sample]]

    @property
    def seconds(self) -> dict[str, list[float]]:
        return {name: [s.seconds for s in runs] for name, runs in self.samples.items()}

    @property
    def peak_rss_bytes(self) -> dict[str, list[int]]:
        return {name: [s.peak_rss_bytes for s in runs] for name, runs in self.samples.items()}

    @property
    def start_rss_bytes(self) -> dict[str, list[int]]:
        return {name: [s.start_rss_bytes for s in runs] for name, runs in self.samples.items()}

    @property
    def figures(self) -> dict[str, dict[str, list[float]]]:
        """Each implementation's runs' values of each extra figure."""
        return {
            name: {key: [s.figures[key] for s in runs] for key in (runs[0].figures if runs else {})}
            for name, runs in self.samples.items()
        }


def _max_rss_bytes() -> int:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_worker(scenario: Scenario, implementation: str, size: int) -> Sample:
    """Measure one run in a fresh interpreter.

    A worker that has not finished after ``WORKER_TIMEOUT`` seconds is killed
    and the run fails naming it, rather than stalling the whole suite.
    """
    env = dict(os.environ)
    env.update(scenario.implementation(implementation).env)
    with subprocess.Popen(
        [sys.executable, "-m", "benchmarks", "--worker", scenario.name, implementation, str(size)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=WORKER_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            msg = (
                f"{scenario.name}/{implementation} did not finish within "
                f"{WORKER_TIMEOUT} s (size {size}); the worker was killed"
            )
            raise RuntimeError(msg) from None
    if proc.returncode != 0:
        msg = f"{scenario.name}/{implementation} failed ({proc.returncode}):\n{stderr}"
        raise RuntimeError(msg)
    result = json.loads(stdout.strip().splitlines()[-1])
    return Sample(
        seconds=float(result["seconds"]),
        peak_rss_bytes=int(result["peak_rss_bytes"]),
        start_rss_bytes=int(result["start_rss_bytes"]),
        figures={key: float(value) for key, value in result.get("figures", {}).items()},
    )


def worker_main(scenario_name: str, implementation: str, size: int) -> None:
    """The worker subprocess: one measurement, printed as a JSON line."""
    scenario = SCENARIOS[scenario_name]
    scenario.implementation(implementation)  # fail early on a bad name
    start_rss = _max_rss_bytes()
    result = scenario.measure(implementation, size)
    peak_rss = _max_rss_bytes()
    seconds, figures = (result.seconds, result.figures) if isinstance(result, Run) else (result, {})
    declared = {figure.name for figure in scenario.figures}
    if set(figures) != declared:
        msg = (
            f"{scenario.name}/{implementation} reported figures {sorted(figures)}, "
            f"expected {sorted(declared)}"
        )
        raise RuntimeError(msg)
    line: dict[str, object] = {
        "seconds": seconds,
        "peak_rss_bytes": peak_rss,
        "start_rss_bytes": start_rss,
    }
    if figures:
        line["figures"] = figures
    print(json.dumps(line))


def measure(scenario: Scenario, size: int, *, warmup: int, runs: int) -> Measurements:
    """Alternate the implementations over ``warmup + runs`` rounds."""
    names = [implementation.name for implementation in scenario.implementations]
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for round_index in range(warmup + runs):
        shift = round_index % len(names)
        order = names[shift:] + names[:shift]
        for name in order:
            sample = run_worker(scenario, name, size)
            if round_index >= warmup:
                samples[name].append(sample)
        phase = "warm-up" if round_index < warmup else "measured"
        print(f"  round {round_index + 1}/{warmup + runs} ({phase}) done", flush=True)
    return Measurements(size, samples)


def _source_commit() -> str:
    """The checkout's commit, flagged when the engine or package sources differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--", "crates", "python"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} (with uncommitted changes under crates/ or python/)" if changes else head


def machine() -> dict[str, str]:
    """A short description of the machine, the toolchain and the measured sources."""
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
        "cuprum_commit": _source_commit(),
    }


def summarise(scenario: Scenario, size: int, timings: dict[str, list[float]]) -> dict[str, Stats]:
    return {name: Stats.of(size, seconds, scenario.metric) for name, seconds in timings.items()}


def memory_medians(measurements: Measurements) -> dict[str, tuple[float, float]]:
    """Median peak RSS and median growth over the start size, in bytes."""
    medians = {}
    for name, runs in measurements.samples.items():
        peak = statistics.median(s.peak_rss_bytes for s in runs)
        growth = statistics.median(s.peak_rss_bytes - s.start_rss_bytes for s in runs)
        medians[name] = (peak, growth)
    return medians


def _verdict(met: bool, distance: float) -> str:
    return "met" if met else f"missed by {distance:.2f}x"


def figure_medians(measurements: Measurements) -> dict[str, dict[str, float]]:
    """Each implementation's median of each extra figure."""
    return {
        name: {key: statistics.median(values) for key, values in figures.items()}
        for name, figures in measurements.figures.items()
    }


def _bound_line(
    scenario: Scenario,
    bound: Bound,
    stats: dict[str, Stats],
    measurements: Measurements | None,
) -> str | None:
    """The report line of an absolute bound, or ``None`` when its figure was not measured."""
    if bound.figure is None:
        metric = scenario.metric
        higher, digits, unit = metric.higher_is_better, metric.digits, f" {metric.unit}"
        runs = [stats[bound.subject].low, stats[bound.subject].high]
        median = stats[bound.subject].median
        what = ""
    else:
        if measurements is None:
            return None
        figure = next(f for f in scenario.figures if f.name == bound.figure)
        higher, digits, what = figure.higher_is_better, figure.digits, f" {figure.label}"
        unit = f" {figure.unit}" if figure.unit else ""
        runs = measurements.figures[bound.subject][bound.figure]
        median = statistics.median(runs)
    if bound.worst:
        actual, statistic = (min(runs) if higher else max(runs)), "worst run"
    else:
        actual, statistic = median, "median"
    if higher:
        met = actual > bound.limit if bound.strict else actual >= bound.limit
        relation = ">" if bound.strict else ">="
    else:
        met = actual < bound.limit if bound.strict else actual <= bound.limit
        relation = "<" if bound.strict else "<="
    verdict = "met" if met else f"missed by {abs(actual - bound.limit):,.{digits}f}{unit}"
    subject = scenario.implementation(bound.subject).label
    return (
        f"- Target: {subject}{what} {relation} {bound.limit:g}{unit}: "
        f"measured {actual:,.{digits}f}{unit} ({statistic}), {verdict}."
    )


def target_lines(
    scenario: Scenario, stats: dict[str, Stats], measurements: Measurements | None = None
) -> list[str]:
    lines = []
    higher = scenario.metric.higher_is_better
    for target in scenario.targets:
        if isinstance(target, Bound):
            line = _bound_line(scenario, target, stats, measurements)
            if line is not None:
                lines.append(line)
            continue
        actual = stats[target.subject].median / stats[target.reference].median
        met = actual >= target.ratio if higher else actual <= target.ratio
        subject = scenario.implementation(target.subject).label
        reference = scenario.implementation(target.reference).label
        relation = ">=" if higher else "<="
        quantity = "" if higher else f" ({scenario.metric.unit})"
        lines.append(
            f"- Target: {subject} {relation} {target.ratio:g}x {reference}{quantity}: "
            f"measured {actual:.2f}x, {_verdict(met, abs(actual - target.ratio))}."
        )
    if measurements is not None and scenario.memory_targets:
        medians = memory_medians(measurements)
        for memory_target in scenario.memory_targets:
            peak, _ = medians[memory_target.subject]
            actual = peak / measurements.size
            met = actual <= memory_target.ratio
            subject = scenario.implementation(memory_target.subject).label
            verdict = "met" if met else f"missed by {actual - memory_target.ratio:.3f}x"
            lines.append(
                f"- Target: {subject} peak RSS <= {memory_target.ratio:g}x payload: "
                f"measured {actual:.3f}x ({peak / MIB:,.0f} MiB), {verdict}."
            )
    return lines


def _cell(text: str) -> str:
    """``text`` made safe for a Markdown table cell (a ``|`` would split it)."""
    return text.replace("|", "\\|")


def render_table(
    scenario: Scenario, stats: dict[str, Stats], measurements: Measurements | None = None
) -> str:
    metric = scenario.metric
    baseline = stats[scenario.baseline].median
    baseline_label = _cell(scenario.implementation(scenario.baseline).label)
    header = (
        f"| implementation | median {metric.unit} | min-max {metric.unit} | vs {baseline_label} |"
    )
    rule = "| --- | ---: | ---: | ---: |"
    show_memory = measurements is not None and scenario.show_memory
    memory = memory_medians(measurements) if measurements is not None and show_memory else None
    if memory is not None:
        header += " peak RSS MiB | growth MiB |"
        rule += " ---: | ---: |"
        if metric.size_is_bytes:
            header += " peak / payload |"
            rule += " ---: |"
    figures = figure_medians(measurements) if measurements is not None and scenario.figures else {}
    if figures:
        for figure in scenario.figures:
            header += f" median {_cell(figure.heading)} |"
            rule += " ---: |"
    rows = [header, rule]
    d = metric.digits
    for implementation in scenario.implementations:
        s = stats[implementation.name]
        row = (
            f"| {_cell(implementation.label)} | {s.median:,.{d}f} | {s.low:,.{d}f}-{s.high:,.{d}f} "
            f"| {s.median / baseline:.2f}x |"
        )
        if memory is not None and measurements is not None:
            peak, growth = memory[implementation.name]
            row += f" {peak / MIB:,.0f} | {growth / MIB:,.0f} |"
            if metric.size_is_bytes:
                row += f" {peak / measurements.size:.2f}x |"
        if figures:
            for figure in scenario.figures:
                row += f" {figures[implementation.name][figure.name]:,.{figure.digits}f} |"
        rows.append(row)
    return "\n".join(rows)


def render_section(
    scenario: Scenario,
    size: int,
    runs: int,
    stats: dict[str, Stats],
    when: str,
    *,
    measurements: Measurements | None = None,
) -> str:
    lines = [
        f"## {scenario.title}",
        "",
        scenario.description,
        "",
        f"{scenario.metric.describe(size)}; {runs} measured runs per implementation after "
        f"warm-up, alternating; measured {when}.",
        "",
        render_table(scenario, stats, measurements),
    ]
    if scenario.show_memory and measurements is not None:
        lines += [
            "",
            "Peak RSS is the whole worker process's high-water mark "
            "(`ru_maxrss`, interpreter included); growth is that minus the "
            "mark when the worker started.",
        ]
    targets = target_lines(scenario, stats, measurements)
    if targets:
        lines += ["", *targets]
    if scenario.skipped:
        lines += ["", "Not measured:", ""]
        lines += [f"- {label}: {reason}" for label, reason in scenario.skipped]
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


def provenance(when: str, info: dict[str, str]) -> str:
    """When, at which commit and under which load a set of sections was measured."""
    return f"{when} at commit {info['cuprum_commit']}, load average {info['load_average_at_start']}"


def write_report(
    sections: dict[str, str], info: dict[str, str] | None, path: Path = REPORT_PATH
) -> None:
    """Rewrite the given scenario sections, and the machine block if ``info`` is given.

    A run of only some scenarios passes ``info=None``: the machine block then
    keeps describing the full run, and each rewritten section names its own
    commit and load (see :func:`provenance`).
    """
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if info is not None:
        text = replace_block(text, "machine", render_machine(info))
    for name, section in sections.items():
        text = replace_block(text, f"scenario:{name}", section)
    path.write_text(text)


def save_results(
    directory: Path,
    *,
    scenario: Scenario,
    size: int,
    measurements: Measurements,
    info: dict[str, str],
    when: str,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = when.replace(":", "").replace("-", "")
    path = directory / f"{scenario.name}-{stamp}.json"
    stats = summarise(scenario, size, measurements.seconds)
    payload: dict[str, object] = {
        "scenario": scenario.name,
        "size": size,
        "measured_at": when,
        "machine": info,
        "seconds": measurements.seconds,
        "peak_rss_bytes": measurements.peak_rss_bytes,
        "start_rss_bytes": measurements.start_rss_bytes,
        "unit": scenario.metric.unit,
        "stats": {name: dataclasses.asdict(s) for name, s in stats.items()},
        "skipped": dict(scenario.skipped),
    }
    if scenario.figures:
        payload["figures"] = measurements.figures
    if scenario.metric is THROUGHPUT:
        payload["size_bytes"] = size
        payload["gib_per_s"] = payload["stats"]
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
