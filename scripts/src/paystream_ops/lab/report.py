"""The lab's outputs: the JSON document, the markdown report and the one-screen summary.

Every time and latency in them is a real-time equivalent (lab value x time scale), so a figure
reads the same whatever compression the run used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paystream_ops.judge.verdict import headline
from paystream_ops.lab.accounting import share
from paystream_ops.lab.callers import CallerReport
from paystream_ops.lab.durations import format_seconds
from paystream_ops.lab.loadgen import CALLER_FIELDS
from paystream_ops.lab.rollout import Outcome, Verdict
from paystream_ops.lab.runner import LabResult
from rich.console import Console
from rich.table import Table


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _scaled(value: float | None, scale: float) -> float | None:
    return None if value is None else round(value * scale, 1)


def pause_text(outcome: Outcome, scale: float) -> str | None:
    """Both moments of a held pause: when the Rollout paused, and how the hold ended."""
    if outcome.paused_at is None or outcome.hold_ended_at is None:
        return None
    paused = format_seconds(outcome.paused_at * scale)
    ended = format_seconds(outcome.hold_ended_at * scale)
    if outcome.verdict in {Verdict.PAUSED, Verdict.PAUSED_INCONCLUSIVE}:
        return f"paused at {paused}; still paused at the end of the hold, {ended}"
    return f"paused at {paused}; {outcome.verdict} at {ended}"


def _parts(data: dict[str, Any]) -> str:
    parts = data["affected"]
    return f"failures {parts['failures']}, declines {parts['declines']}, slow {parts['slow']}"


def result_json(result: LabResult) -> dict[str, Any]:
    scale = result.time_scale
    scenario = result.options.scenario
    cost = result.cost
    outcome = result.outcome
    return {
        "scenario": scenario.name,
        "overlay": result.options.overlay,
        "expected": {
            "verdict": result.expectation.verdict,
            "decided_by": result.expectation.decided_by,
            "max_affected_transactions": result.expectation.max_affected_transactions,
            "max_analysis_intervals": result.expectation.max_analysis_intervals,
        },
        "matched_expectation": result.matched_expectation,
        "verdict": str(outcome.verdict),
        "decided_at_step": outcome.step_index,
        "decided_by": outcome.decided_by,
        "decided_by_kind": result.decided_by_kind,
        "message": outcome.message,
        "deciding_metrics": list(outcome.deciding_metrics),
        # Each deciding network-and-signal metric as a person reads it (docs/analysis.md).
        "verdicts": [
            {
                "metric": r.metric,
                "headline": headline(r.metric),
                "value": r.value,
                "bar": r.bar,
                "canary_bad": r.canary_bad,
                "canary_total": r.canary_total,
                "stable_bad": r.stable_bad,
                "stable_total": r.stable_total,
                "boundary_seconds": r.boundary_seconds,
                "sentence": r.sentence(),
            }
            for r in result.readings
        ],
        "decided_at_seconds": _round(outcome.at * scale, 1),
        # A pause is held (pause_hold_seconds) with the background analysis running: when the
        # Rollout paused, and when the hold ended (the verdict above, or still paused).
        "paused_at_seconds": _scaled(outcome.paused_at, scale),
        "hold_ended_at_seconds": _scaled(outcome.hold_ended_at, scale),
        "pause_hold_seconds": result.options.pause_hold,
        "decided_after_first_traffic_seconds": _round(
            result.decision_after_first_traffic_seconds, 1
        ),
        "analysis_intervals_to_decision": _round(result.analysis_intervals_to_decision, 2),
        "canary_exposure_seconds": _round(result.canary_exposure_seconds, 1),
        "affected_transactions": cost.affected_transactions,
        # The parts of affected_transactions (docs/lab.md, "Affected customers").
        "bars": dict(sorted(result.bars.items())),
        "affected": {
            "failures": cost.affected_failures,
            "declines": cost.affected_declines,
            "slow": cost.affected_slow,
        },
        "total_transactions": cost.total_transactions,
        "canary_transactions": cost.canary_requests,
        "canary_failures": cost.canary_failures,
        # Synthetic load (test cards) sent by the overlay's Job metrics, apart from the figures
        # above, which count the scenario's callers only.
        "synthetic_requests": dict(result.synthetic_issued),
        "per_network": [
            {
                "network": n.network,
                "canary_requests": n.canary_requests,
                "canary_failures": n.canary_failures,
                "stable_requests": n.stable_requests,
                "stable_failures": n.stable_failures,
                "excess_failures": _round(n.excess_failures, 2),
                "canary_answers": n.canary_answers,
                "canary_declines": n.canary_declines,
                "canary_slow": n.canary_slow,
                "stable_answers": n.stable_answers,
                "stable_declines": n.stable_declines,
                "stable_slow": n.stable_slow,
                "excess_declines": _round(n.excess_declines, 2),
                "excess_slow": _round(n.excess_slow, 2),
            }
            for n in cost.per_network
        ],
        "time_scale": scale,
        "seed": result.options.seed,
        "rate": {
            "target_per_second": _round(result.rate.target_rate / scale, 1),
            "achieved_per_second": _round(result.rate.achieved_rate / scale, 1),
            "lab_target_per_second": _round(result.rate.target_rate, 1),
            "max_backlog": result.rate.max_backlog,
            "max_backlog_at_seconds": _round(result.rate.max_backlog_at * scale, 1),
            "sustained": result.rate.sustained,
        },
        "scrape_interval_seconds": {
            "cluster": result.scrape.cluster_interval_seconds,
            "lab": result.scrape.interval_seconds,
            "clamped": result.scrape.clamped,
        },
        "scaled_args": {
            where: [{"name": a.name, "cluster": a.original, "lab": a.value} for a in args]
            for where, args in result.scaled_args.items()
        },
        "measurements": [
            {
                "analysis": r.analysis,
                "run": r.run,
                "metric": r.metric,
                "dry_run": r.dry_run,
                "at_seconds": _round(r.measurement.started_at * scale, 1),
                "phase": str(r.measurement.phase),
                "value": r.measurement.value,
                "message": r.measurement.message,
            }
            for r in result.measurements
        ],
        "events": [{"at_seconds": _round(e.at * scale, 1), "text": e.text} for e in result.events],
        "callers": callers_json(result.callers),
        "wall_seconds": _round(result.wall_seconds, 1),
    }


# What the generator counts per key (loadgen's CALLER_FIELDS), then what the lab derives.
_CALLER_TOTALS = (
    *CALLER_FIELDS,
    "unfinished",
    "unanswered",
    "network_approvals",
    "double_authorizations",
    "holds_left",
    "reversed",
)


def callers_json(report: CallerReport | None) -> dict[str, Any] | None:
    """Retries, double authorizations, holds left and customers served (docs/lab.md)."""
    if report is None:
        return None
    return {
        "mode": "retrying" if report.retrying else "single",
        **{name: report.total(name) for name in _CALLER_TOTALS},
        "per_network": [
            {"network": n.network, **{name: int(getattr(n, name)) for name in _CALLER_TOTALS}}
            for n in report.per_network
        ],
    }


def callers_markdown(report: CallerReport | None) -> list[str]:
    if report is None:
        return []
    lines = ["", "## Callers: retries, double authorizations, holds left", ""]
    if not report.retrying:
        return [
            *lines,
            "Callers send each authorization once, without an Idempotency-Key "
            "(`traffic.callers: single`). Holds left on cards by timed-out calls no reversal "
            f"cleared: {report.total('holds_left')}.",
        ]
    lines += [
        "Every authorization carries an Idempotency-Key; a failed one (5xx, no answer, 409) is "
        "retried with the same key after a short backoff, at most 3 times, wherever the route "
        "sends it. Double authorizations = the network's approvals of keyed requests beyond one "
        "per key the callers saw approved (less requests still unanswered at the end); holds "
        "left = timed-out calls the network had "
        "authorized that no reversal cleared. Both must be 0 (docs/lab.md).",
        "",
        "| network | keyed customers | retries | served (after a retry) | gave up | unfinished "
        "| approved (at the network) | double authorizations | holds left (reversed) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n in report.per_network:
        lines.append(
            f"| {n.network} | {n.keys:,} | {n.retries:,} | {n.served:,} "
            f"({n.served_after_retry:,}) | {n.gave_up:,} | {n.unfinished:,} | "
            f"{n.approved:,} ({n.network_approvals:,}) | {n.double_authorizations} | "
            f"{n.holds_left} ({n.reversed}) |"
        )
    return lines


def callers_summary(report: CallerReport | None) -> list[tuple[str, str]]:
    """Console rows: the totals, then each network's retries, doubles and served."""
    if report is None:
        return []
    holds = f"holds left {report.total('holds_left')}"
    if not report.retrying:
        return [("callers", f"single (no key, no retry); {holds}")]
    rows = [
        (
            "retrying callers",
            f"{report.total('retries'):,} retries; served {report.total('served'):,} of "
            f"{report.total('keys'):,} ({report.total('served_after_retry'):,} after a retry); "
            f"double authorizations {report.total('double_authorizations')}; {holds}",
        )
    ]
    rows += [
        (
            f"  {n.network}",
            f"{n.retries:,} retries, {n.double_authorizations} double, "
            f"{n.served:,}/{n.keys:,} served, {n.holds_left} holds left",
        )
        for n in report.per_network
    ]
    return rows


def write_json(result: LabResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result_json(result), indent=2) + "\n")


def _rate_sentence(result: LabResult) -> str:
    rate = result.rate
    scale = result.time_scale
    target = rate.target_rate / scale
    achieved = rate.achieved_rate / scale
    if rate.sustained:
        return (
            f"The generator sustained the scaled rate: {rate.achieved_rate:,.0f}/s at "
            f"{scale:g}x, i.e. {achieved:,.0f} auth/s real-time equivalent "
            f"(target {target:,.0f})."
        )
    return (
        f"**This machine could not sustain the scaled rate**: {rate.achieved_rate:,.0f}/s "
        f"achieved of {rate.target_rate:,.0f}/s (backlog up to {rate.max_backlog} requests), "
        f"i.e. {achieved:,.0f} of {target:,.0f} auth/s real-time equivalent. Windows saw fewer "
        "requests than they would in real time; treat the counts as a lower bound."
    )


def markdown(result: LabResult, chart_name: str | None) -> str:
    data = result_json(result)
    scenario = result.options.scenario
    scale = result.time_scale
    expected = result.expectation.verdict
    mark = "as expected" if result.matched_expectation else f"**NOT as expected** ({expected})"
    lines = [
        f"# Canary lab: {scenario.name}",
        "",
        f"{scenario.description.strip()}",
        "",
        f"**Verdict: {data['verdict']}** ({mark}), decided by {result.outcome.decided_by}"
        + (f": {result.outcome.message}" if result.outcome.message else "."),
        "",
        *(f"- **{r.sentence()}**" for r in result.readings),
        *([""] if result.readings else []),
        "| figure (real-time equivalent) | value |",
        "|---|---|",
        f"| overlay | `{result.options.overlay}` |",
        f"| decided at step | {data['decided_at_step']} |",
        f"| pause (held {format_seconds(result.options.pause_hold)}) | "
        f"{pause_text(result.outcome, result.time_scale) or '-'} |",
        f"| deciding metrics | {', '.join(data['deciding_metrics']) or '-'} |",
        f"| decision after the canary's first traffic | "
        f"{_fmt_seconds(result.decision_after_first_traffic_seconds)} "
        f"({_fmt_number(result.analysis_intervals_to_decision)} analysis intervals) |",
        f"| canary exposure | {format_seconds(result.canary_exposure_seconds)} |",
        f"| affected authorizations | {data['affected_transactions']} ({_parts(data)}) |",
        f"| canary authorizations (failed) | {data['canary_transactions']:,} "
        f"({data['canary_failures']:,}) |",
        f"| total authorizations | {data['total_transactions']:,} |",
        f"| traffic | {data['rate']['achieved_per_second']:,} auth/s "
        f"(target {data['rate']['target_per_second']:,}) |",
        f"| time scale | {scale:g}x (run took {result.wall_seconds:.0f}s of wall time) |",
        "",
        _rate_sentence(result),
        "",
    ]
    if chart_name:
        lines += [f"![canary vs stable per network]({chart_name})", ""]
    lines += ["## Timeline", "", "| t | event |", "|---|---|"]
    lines += [f"| {format_seconds(e['at_seconds'])} | {e['text']} |" for e in data["events"]]
    lines += [
        "",
        "## Measurements",
        "",
        "Values are what the conditions saw, one per network in Prometheus' order; latencies "
        f"in them are lab seconds (x{scale:g} for real time), ratios are unscaled.",
        "",
        "| t | analysis | metric | phase | value |",
        "|---|---|---|---|---|",
    ]
    for m in data["measurements"]:
        value = m["value"] or m["message"]
        dry = " (dry run)" if m["dry_run"] else ""
        lines.append(
            f"| {format_seconds(m['at_seconds'])} | {m['analysis']} | {m['metric']}{dry} | "
            f"{m['phase']} | `{value[:80]}` |"
        )
    lines += [
        "",
        "## Customer cost per network",
        "",
        "| network | canary requests | canary failures | stable failure ratio | excess "
        "| canary declines (stable share) | excess declines | canary slow (stable share) "
        "| excess slow |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n in result.cost.per_network:
        lines.append(
            f"| {n.network} | {n.canary_requests:,} | {n.canary_failures:,} | "
            f"{n.stable_failure_ratio:.3%} | {n.excess_failures:+.1f} | "
            f"{n.canary_declines:,} ({share(n.stable_declines, n.stable_answers):.2%}) | "
            f"{n.excess_declines:.1f} | "
            f"{n.canary_slow:,} ({share(n.stable_slow, n.stable_answers):.2%}) | "
            f"{n.excess_slow:.1f} |"
        )
    lines += [
        "",
        "Affected authorizations = failures + declines + slow answers: per network, the "
        "canary's failures beyond stable's failure ratio (same network, same period), never "
        "below zero; its declines and its answers slower than the 2.5 s SLO beyond stable's "
        "share of its answers, counted only when beyond chance (docs/lab.md). With retrying "
        "callers every request counts, retries included: a customer served on a retry was "
        "still failed first.",
        *callers_markdown(result.callers),
        "",
        "## How this run differs from a cluster",
        "",
        f"- Time runs {scale:g}x faster: every duration (pauses, intervals, initialDelay, "
        "progressDeadlineSeconds, PromQL windows passed as args, the scrape interval, the "
        "processor deadline, the breaker reset and the simulated latencies) is divided by "
        f"{scale:g} and the request rate multiplied by {scale:g}, so every window holds the "
        "request counts it would hold in real time. All figures here are scaled back.",
        f"- Scrape interval: {result.scrape.cluster_interval_seconds:g}s in the cluster, "
        f"{result.scrape.interval_seconds:g}s here"
        + (
            " (clamped: the exact scaled value is too short for this host)."
            if result.scrape.clamped
            else "."
        ),
        "- One stable and one canary process stand for the ReplicaSets; the traffic router is "
        "the generator's weighted choice, as the Gateway API plugin's weights would split it.",
    ]
    for where, args in result.scaled_args.items():
        for arg in args:
            lines.append(
                f"- `{arg.name}` for {where.split(': ')[-1]}: `{arg.original}` -> `{arg.value}`"
            )
    return "\n".join(lines) + "\n"


def _fmt_seconds(value: float | None) -> str:
    return "-" if value is None else format_seconds(value)


def _fmt_number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def write_report(result: LabResult, directory: Path) -> Path:
    from paystream_ops.lab.chart import write_chart

    directory.mkdir(parents=True, exist_ok=True)
    name = result.options.scenario.name
    chart = directory / f"{name}.png"
    chart_written = write_chart(result, chart)
    report = directory / f"{name}.md"
    report.write_text(markdown(result, chart.name if chart_written else None))
    write_json(result, directory / f"{name}.json")
    return report


def print_summary(result: LabResult, console: Console) -> None:
    data = result_json(result)
    table = Table(title=f"canary lab: {data['scenario']} on {data['overlay']}", show_header=False)
    table.add_column("figure")
    table.add_column("value")
    style = "green" if result.matched_expectation else "bold red"
    expected = result.expectation.verdict
    table.add_row(
        "verdict",
        f"[{style}]{data['verdict']}[/] "
        + ("(as expected)" if result.matched_expectation else f"(expected {expected})"),
    )
    table.add_row("decided by", f"{result.outcome.decided_by}")
    if result.outcome.message:
        table.add_row("reason", result.outcome.message)
    table.add_row("deciding metrics", ", ".join(data["deciding_metrics"]) or "-")
    pause = pause_text(result.outcome, result.time_scale)
    if pause:
        table.add_row("pause", pause)
    for reading in result.readings:
        table.add_row("why", reading.sentence())
    table.add_row(
        "decision after first canary traffic",
        f"{_fmt_seconds(result.decision_after_first_traffic_seconds)} "
        f"({_fmt_number(result.analysis_intervals_to_decision)} analysis intervals)",
    )
    table.add_row("canary exposure", format_seconds(result.canary_exposure_seconds))
    table.add_row("affected authorizations", f"{data['affected_transactions']} ({_parts(data)})")
    table.add_row(
        "authorizations (canary / total)",
        f"{data['canary_transactions']:,} / {data['total_transactions']:,}",
    )
    rate = data["rate"]
    table.add_row(
        "traffic (real-time equivalent)",
        f"{rate['achieved_per_second']:,}/s of {rate['target_per_second']:,}/s"
        + ("" if rate["sustained"] else " [bold red](NOT sustained on this host)[/]"),
    )
    for name, value in callers_summary(result.callers):
        table.add_row(name, value)
    table.add_row("time scale", f"{result.time_scale:g}x, {result.wall_seconds:.0f}s wall time")
    console.print(table)
