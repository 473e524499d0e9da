"""A section of the figures page from canary lab results (the JSON `paystream-ops lab` writes).

Pure: plain dicts in (`paystream_ops.lab.report.result_json`), markdown out. Every time is a
real-time equivalent, as in the lab's own report.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

from paystream_ops.figures.catalogue import Section
from paystream_ops.figures.provenance import Provenance
from paystream_ops.judge.figures import looks_like_figure

Result = dict[str, Any]

CHART_CAPTION = (
    "One column per card network; top row the failure ratio, bottom row P99 latency, each over "
    "the analysis window, canary against stable. Dotted lines mark the rollout's steps, the solid "
    "line the decision."
)


METRIC_NOTE = (
    "Values are what the analysis conditions saw: each metric's score (one network and signal, "
    "in units of chance over stable; docs/analysis.md)."
)


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f} s" if value >= 10 or value == int(value) else f"{value:.1f} s"


def expectation(result: Result) -> str:
    if result["matched_expectation"]:
        return "as expected"
    return f"**NOT as expected**: {result['expected']['verdict']}"


def measured_values(text: str) -> list[float]:
    """The numbers of a measurement's value (`[0.01,NaN]` or `0.5`); finite ones only."""
    values: list[float] = []
    for part in text.strip().strip("[]").split(","):
        try:
            number = float(part)
        except ValueError:
            continue
        if math.isfinite(number):
            values.append(number)
    return values


def metric_rows(results: Sequence[Result]) -> list[str]:
    """Per metric: measurements, how many Failed/Inconclusive/Error, the worst value seen and the
    bar it is judged against."""
    tallies: dict[str, Counter[str]] = {}
    worst: dict[str, float] = {}
    bars: dict[str, float] = {}
    for result in results:
        bars.update(result.get("bars", {}))
        for m in result["measurements"]:
            if looks_like_figure(m["metric"]):
                continue  # what the canary saw, not a verdict (judge/figures.py)
            tallies.setdefault(m["metric"], Counter())[m["phase"]] += 1
            for value in measured_values(m["value"] or ""):
                worst[m["metric"]] = max(worst.get(m["metric"], value), value)
    rows = [
        "| metric | measurements | Failed | Inconclusive | Error | highest value seen | bar |",
        "|---|---|---|---|---|---|---|",
    ]
    for metric, tally in tallies.items():
        high = f"{worst[metric]:.4g}" if metric in worst else "-"
        bar = f"{bars[metric]:g}" if metric in bars else "-"
        rows.append(
            f"| {metric} | {sum(tally.values()):,} | {tally['Failed']} | "
            f"{tally['Inconclusive']} | {tally['Error']} | {high} | {bar} |"
        )
    rows += ["", METRIC_NOTE]
    return rows


def affected(result: Result) -> str:
    """The total and its parts (failures, extra declines, slow answers; decision 0073)."""
    parts = result.get("affected")
    if not parts:
        return str(result["affected_transactions"])
    return (
        f"{result['affected_transactions']} (failures {parts['failures']}, "
        f"declines {parts['declines']}, slow {parts['slow']})"
    )


def measurement_number(result: Result) -> str:
    """Which analysis measurement decided, counted from the canary's first traffic."""
    intervals = result.get("analysis_intervals_to_decision")
    if intervals is None:
        return "-"
    number = max(1, math.ceil(intervals))
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(number, f"{number}th")


def traffic(result: Result) -> str:
    rate = result["rate"]
    sustained = "sustained" if rate["sustained"] else "**not sustained on this host**"
    return f"{rate['achieved_per_second']:,} of {rate['target_per_second']:,} auth/s ({sustained})"


def single_run(section: Section, provenance: Provenance, result: Result, chart: str | None) -> str:
    """One lab run: the verdict, its timing and cost, per network and per metric."""
    reason = f" ({result['message']})" if result["message"] else ""
    intervals = result["analysis_intervals_to_decision"]
    lines = [
        f"## {section.title}",
        "",
        provenance.line(),
        "",
        "| figure | value |",
        "|---|---|",
        f"| scenario, overlay, seed | `{result['scenario']}`, `{result['overlay']}`, "
        f"{result['seed']} |",
        f"| verdict | {result['verdict']} ({expectation(result)}) |",
        f"| decided by | {result['decided_by']}{reason} |",
        f"| deciding metrics | {', '.join(result['deciding_metrics']) or '-'} |",
        f"| decided at step | {result['decided_at_step']} |",
        "| decision after the canary's first traffic | "
        f"{seconds(result['decided_after_first_traffic_seconds'])}"
        + (f" ({intervals:.2f} analysis intervals)" if intervals is not None else "")
        + " |",
        f"| canary exposure | {seconds(result['canary_exposure_seconds'])} |",
        f"| affected authorizations | {affected(result)} |",
        f"| canary authorizations (failed) | {result['canary_transactions']:,} "
        f"({result['canary_failures']:,}) |",
        f"| total authorizations | {result['total_transactions']:,} |",
        f"| traffic, real-time equivalent | {traffic(result)} |",
        f"| time scale, wall time | {result['time_scale']:g}x, {seconds(result['wall_seconds'])} |",
        "",
        "| network | canary requests | canary failures | stable requests | stable failures "
        "| excess failures |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {n['network']} | {n['canary_requests']:,} | {n['canary_failures']:,} | "
        f"{n['stable_requests']:,} | {n['stable_failures']:,} | {n['excess_failures']:+.1f} |"
        for n in result["per_network"]
    ]
    lines += ["", *metric_rows([result])]
    if chart:
        lines += ["", f"![{result['scenario']}: canary vs stable per card network]({chart})"]
        lines += ["", CHART_CAPTION]
    return "\n".join(lines) + "\n"


def spread(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"min {min(values):g}, median {statistics.median(values):g}, max {max(values):g}"


def tally(values: Sequence[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in Counter(values).most_common())


def repeated_runs(section: Section, provenance: Provenance, results: Sequence[Result]) -> str:
    """N seeded runs: what they decided, how fast, at what cost, and every run's line."""
    matched = sum(1 for r in results if r["matched_expectation"])
    expected = results[0]["expected"]["verdict"]
    seeds = [r["seed"] for r in results]
    after = [seconds(r["decided_after_first_traffic_seconds"]) for r in results]
    sustained = sum(1 for r in results if r["rate"]["sustained"])
    lowest = min(r["rate"]["achieved_per_second"] for r in results)
    target = results[0]["rate"]["target_per_second"]
    lines = [
        f"## {section.title}",
        "",
        provenance.line(),
        "",
        "| figure | over the runs |",
        "|---|---|",
        f"| scenario, overlay, seeds | `{results[0]['scenario']}`, `{results[0]['overlay']}`, "
        f"{min(seeds)}..{max(seeds)} |",
        f"| runs with the expected verdict ({expected}) | {matched} of {len(results)} |",
        f"| verdicts | {tally([r['verdict'] for r in results])} |",
        f"| decided by | {tally([r['decided_by'] for r in results])} |",
        f"| decision after the canary's first traffic | {tally(after)} |",
        f"| decided at measurement | {tally([measurement_number(r) for r in results])} |",
        f"| affected authorizations | {spread([r['affected_transactions'] for r in results])} |",
        *(
            f"| affected: {part} | {spread([r['affected'][part] for r in results])} |"
            for part in ("failures", "declines", "slow")
            if all("affected" in r for r in results)
        ),
        f"| traffic sustained | {sustained} of {len(results)} runs (lowest {lowest:,} of "
        f"{target:,} auth/s) |",
        "",
        *metric_rows(results),
        "",
        "| seed | verdict | decided by | after first traffic | affected | wall time |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['seed']} | {r['verdict']} | {r['decided_by']} | "
        f"{seconds(r['decided_after_first_traffic_seconds'])} | {r['affected_transactions']} | "
        f"{seconds(r['wall_seconds'])} |"
        for r in results
    ]
    return "\n".join(lines) + "\n"
