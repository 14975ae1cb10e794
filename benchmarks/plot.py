"""The report's picture: one panel per scenario, implementations side by side.

Drawn from the newest JSON result of every scenario in the results directory,
so a run of a few scenarios still plots the others' latest figures.
"""

from __future__ import annotations

import json
from pathlib import Path

CUPRUM = "#b87333"  # copper
PEER = "#7a8a99"


def latest_results(results_dir: Path) -> dict[str, dict]:
    """The newest result payload of each scenario, in scenario name order."""
    latest: dict[str, dict] = {}
    for path in results_dir.glob("*.json"):
        payload = json.loads(path.read_text())
        name = payload.get("scenario")
        if not name or "stats" not in payload:
            continue
        if name not in latest or payload["measured_at"] > latest[name]["measured_at"]:
            latest[name] = payload
    return dict(sorted(latest.items()))


def _labels(scenario: str, names: list[str]) -> list[str]:
    """Readable labels from the registered scenario, else the short names."""
    from benchmarks import harness

    known = harness.SCENARIOS.get(scenario)
    labels = []
    for name in names:
        try:
            labels.append(known.implementation(name).label if known else name)
        except KeyError:
            labels.append(name)
    return [label.replace("`", "") for label in labels]


def write_plot(results_dir: Path, path: Path) -> Path | None:
    """Draw every scenario's medians (with min-max whiskers) into ``path``.

    cuprum's implementations are drawn in copper, peers in grey.
    """
    results = latest_results(results_dir)
    if not results:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heights = [0.9 + 0.32 * len(payload["stats"]) for payload in results.values()]
    fig, axes = plt.subplots(
        len(results), 1, figsize=(9, sum(heights)), gridspec_kw={"height_ratios": heights}
    )
    axes = axes if len(results) > 1 else [axes]
    for ax, (name, payload) in zip(axes, results.items(), strict=True):
        stats = payload["stats"]
        names = list(stats)
        medians = [stats[n]["median"] for n in names]
        below = [stats[n]["median"] - stats[n]["low"] for n in names]
        above = [stats[n]["high"] - stats[n]["median"] for n in names]
        labels = _labels(name, names)
        colours = [
            CUPRUM
            if "cuprum" in label or "rust_pump_stream" in label or "engine" in label
            else PEER
            for label in labels
        ]
        positions = range(len(names))
        ax.barh(positions, medians, xerr=[below, above], color=colours, capsize=3)
        ax.set_yticks(list(positions), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(f"{name} ({payload['unit']}, median and min-max)", fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
