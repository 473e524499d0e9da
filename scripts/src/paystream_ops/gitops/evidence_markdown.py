"""The staging evidence as the prod pull request shows it: Markdown, every value from the event
inert (in code spans, no pipes or line breaks). Pure."""

from __future__ import annotations

import re

from paystream_ops.gitops.evidence import CompletedEvent, Evidence, MetricEvidence, RunEvidence

# The run table stops here, so the pull request body stays far below GitHub's 65,536 characters
# (the evidence file keeps every row).
MAX_ROWS = 150
NETWORKS = ("visa", "mastercard", "amex", "discover")
# `<network>-<signal>` metric names and the column each signal fills; other signals keep their name.
SIGNALS = {
    "requests": "canary requests",
    "failures": "failure ratio",
    "approvals": "approval ratio",
    "latency": "P99 latency",
}


def _cell(text: str) -> str:
    """Inert in a Markdown table: no pipes, backticks or line breaks from the event."""
    return "`" + re.sub(r"[|`\r\n]", " ", text) + "`" if text else "-"


def _values(event: CompletedEvent) -> dict[str, str]:
    """metric name -> its last value, from the newest Successful step run holding it (runs come
    newest first), else from the background run."""
    found: dict[str, str] = {}
    ordered = [r for r in event.analysis_runs if r.type == "Step" and r.phase == "Successful"]
    ordered += [r for r in event.analysis_runs if r.type != "Step"]
    for run in ordered:
        for metric in run.metrics:
            found.setdefault(metric.name, metric.value)
    return found


def per_network(event: CompletedEvent) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The `<network>-<signal>` metrics as a table: signals (columns) and values per network."""
    table: dict[str, dict[str, str]] = {}
    signals: list[str] = []
    for name, value in _values(event).items():
        network, _, signal = name.partition("-")
        if network in NETWORKS and signal:
            table.setdefault(network, {})[signal] = value
            if signal not in signals:
                signals.append(signal)
    known = [s for s in SIGNALS if s in signals]
    return known + sorted(s for s in signals if s not in SIGNALS), table


def missing_signals(event: CompletedEvent) -> list[str]:
    signals, _ = per_network(event)
    return [label for signal, label in SIGNALS.items() if signal not in signals]


def _row(run: RunEvidence, m: MetricEvidence | None) -> str:
    metric = (
        [
            _cell(m.name),
            m.phase,
            f"{m.count} ({m.successful}/{m.failed}/{m.inconclusive}/{m.error})",
            _cell(m.value),
            m.finished_at or "-",
        ]
        if m
        else ["-"] * 5
    )
    head = [_cell(run.name), run.type or "-", run.phase, run.started_at or "-"]
    return "| " + " | ".join(head + metric) + " |"


def evidence_markdown(evidence: Evidence, path: str, recorded_in: str | None) -> str:
    e = evidence.event
    s = e.status
    lines = [
        "## Staging evidence",
        "",
        f"Staging's rollout of `{e.image}` completed healthy: revision {e.revision} of "
        f"`{e.namespace}/{e.rollout}`, {s.step_index} of {s.steps} canary steps, completed at "
        f"{e.completed_at}. Staging has run this image since {evidence.staging_commit}. "
        f"Recorded in `{path}`" + (f" ({recorded_in})." if recorded_in else "."),
        "",
    ]
    signals, table = per_network(e)
    if table:
        lines += [
            "Per network, the last measurement of each `<network>-<signal>` metric as the "
            "AnalysisTemplate defines it (newest Successful step run first):",
            "",
            "| Network | " + " | ".join(SIGNALS.get(s, s) for s in signals) + " |",
            "|---" * (len(signals) + 1) + "|",
        ]
        for network in NETWORKS:
            if network in table:
                row = [_cell(table[network].get(s, "")) for s in signals]
                lines.append(f"| {network} | " + " | ".join(row) + " |")
        lines.append("")
    lines += [
        "| Analysis run | Type | Phase | Started | Metric | Metric phase | "
        "Measured (ok/failed/inconclusive/error) | Last value | Last measured |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rows = [_row(run, m) for run in e.analysis_runs for m in (run.metrics or (None,))]
    lines += rows[:MAX_ROWS]
    if len(rows) > MAX_ROWS:
        lines.append(f"| {len(rows) - MAX_ROWS} more rows in `{path}` | | | | | | | | |")
    missing = missing_signals(e)
    if missing:
        lines += [
            "",
            f"Not in the AnalysisRuns: {', '.join(missing)} per network (no `<network>-<signal>` "
            "metric measures them; a vector metric keeps its values but not their network "
            "labels).",
        ]
    return "\n".join(lines) + "\n"


def no_evidence_note(reason: str) -> str:
    return (
        f"BREAK-GLASS without staging evidence: {reason}\n\n"
        "No completed, healthy staging rollout is recorded for this image; a person chose to "
        "promote it anyway."
    )
