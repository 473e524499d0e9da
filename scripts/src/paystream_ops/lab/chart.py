"""The report's chart: canary vs stable failure ratio and P99 per network, steps and decision."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from paystream_ops.lab.loadgen import NETWORKS
from paystream_ops.lab.runner import LabResult

_COLORS = {"stable": "#1f77b4", "canary": "#d62728"}
_WIDTHS = {"stable": 3.0, "canary": 1.4}  # stable drawn wide underneath: equal lines stay visible


def write_chart(result: LabResult, path: Path) -> bool:
    """Draw the chart; False if there is nothing to draw (no scrape produced a point)."""
    if not result.chart:
        return False
    scale = result.time_scale
    fig, axes = plt.subplots(2, len(NETWORKS), figsize=(16, 7), sharex=True)
    for col, network in enumerate(NETWORKS):
        ratio_ax, p99_ax = axes[0][col], axes[1][col]
        for role in ("stable", "canary"):
            points = [p for p in result.chart if p.network == network and p.role == role]
            xs = [p.at * scale for p in points]
            ratio_ax.plot(
                xs,
                [
                    100 * p.failure_ratio if p.failure_ratio is not None else float("nan")
                    for p in points
                ],
                label=role,
                color=_COLORS[role],
                linewidth=_WIDTHS[role],
            )
            p99_ax.plot(
                xs,
                [
                    1000 * p.p99_seconds * scale if p.p99_seconds is not None else float("nan")
                    for p in points
                ],
                label=role,
                color=_COLORS[role],
                linewidth=_WIDTHS[role],
            )
        failed = [
            r.metric.split("-", 1)[1] for r in result.readings if r.metric.startswith(f"{network}-")
        ]
        ratio_ax.set_title(network + (f" ({', '.join(failed)} failed)" if failed else ""))
        for ax, floor in ((ratio_ax, 1.0), (p99_ax, 100.0)):
            ax.ticklabel_format(axis="y", useOffset=False, style="plain")
            values = [float(v) for line in ax.get_lines() for v in line.get_ydata()]
            top = max([floor, *(v for v in values if math.isfinite(v))])
            ax.set_ylim(0, top * 1.15)
        ratio_ax.set_ylabel("failure ratio (%)" if col == 0 else "")
        p99_ax.set_ylabel("P99 latency (ms)" if col == 0 else "")
        p99_ax.set_xlabel("seconds since the rollout started (real-time equivalent)")
        for ax in (ratio_ax, p99_ax):
            for at, _text in result.step_changes[1:]:
                ax.axvline(at * scale, color="grey", linestyle=":", linewidth=0.8)
            ax.axvline(result.outcome.at * scale, color="black", linewidth=1.2)
            ax.grid(alpha=0.3)
    axes[0][0].legend(loc="upper left")
    for at, text in result.step_changes[1:]:
        axes[0][0].annotate(
            text.split(": ", 1)[-1],
            xy=(at * scale, 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=7,
            rotation=90,
            va="top",
            color="grey",
        )
    fig.suptitle(
        f"{result.options.scenario.name}: {result.outcome.verdict} at "
        f"{result.outcome.at * scale:.0f}s ({result.outcome.decided_by}); "
        f"canary vs stable, window = analysis window"
        + "".join(f"\n{r.sentence()}" for r in result.readings[:2]),
        fontsize=11,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
