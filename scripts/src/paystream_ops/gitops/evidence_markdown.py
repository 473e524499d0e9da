"""The staging evidence as the prod pull request shows it: Markdown, every value from the event
inert (numbers the reader has checked, written by us; anything else in code spans, no pipes or
line breaks). Pure. docs/decisions/0123-evidence-table-from-the-last-step.md"""

from __future__ import annotations

import re

from paystream_auth.networks import NETWORKS

from paystream_ops.gitops.evidence import CompletedEvent, Evidence, MetricEvidence, RunEvidence
from paystream_ops.gitops.evidence_figures import shown
from paystream_ops.judge.figures import FIGURES, figure_metric_name, figure_of
from paystream_ops.judge.signals import SIGNALS, Signal
from paystream_ops.judge.verdict import short

# The run table stops here, so the pull request body stays far below GitHub's 65,536 characters
# (the evidence file keeps every row).
MAX_ROWS = 150


def _cell(text: str) -> str:
    """Inert in a Markdown table: no pipes, backticks or line breaks from the event."""
    return "`" + re.sub(r"[|`\r\n]", " ", text) + "`" if text else "-"


def figures_run(event: CompletedEvent) -> RunEvidence | None:
    """The run the per-network table reads: the newest Successful step run that holds a figure
    (the last step's, docs/decisions/0122-canary-figures-beside-the-verdict.md), else the newest
    Successful step run (runs come newest first)."""
    steps = [r for r in event.analysis_runs if r.type == "Step" and r.phase == "Successful"]
    with_figures = [r for r in steps if any(figure_of(m.name) for m in r.metrics)]
    found = with_figures or steps
    return found[0] if found else None


def _measured(run: RunEvidence) -> dict[str, str]:
    """metric name -> last value; a figure that errored holds no value ("not measured")."""
    return {m.name: ("" if m.phase == "Error" else m.value) for m in run.metrics}


def _score(run: RunEvidence, values: dict[str, str], network: str, signal: Signal) -> str:
    value = values.get(f"{network}-{signal.name}")
    if value is None:
        return "not measured"
    bars = {a.name: a.value for a in run.args}
    bar = bars.get(signal.threshold_arg)
    return f"{short(value) or 'no value'} (bar {bar})" if bar else short(value) or "no value"


def per_network(event: CompletedEvent) -> list[str]:
    """The per-network table's Markdown lines: the canary's figures and each verdict's score
    against its bar, from one run's last measurement; [] when no step run passed."""
    run = figures_run(event)
    if run is None:
        return []
    values = _measured(run)
    minimum = {a.name: a.value for a in run.args}.get("min-requests")
    last = max((m.finished_at for m in run.metrics if m.finished_at), default="-")
    head = ["Network", *(f.title for f in FIGURES), *(f"{s.title} score" for s in SIGNALS)]
    lines = [
        f"Per network, the canary in step analysis `{run.name}` (started {run.started_at or '-'}"
        f", last measured {last}), at its last measurement: the figures (never a verdict) and "
        "each verdict's score against its bar"
        + (
            f"; below {minimum} canary requests only a score over its bar decides."
            if minimum
            else "."
        ),
        "",
        "| " + " | ".join(head) + " |",
        "|---" * len(head) + "|",
    ]
    for network in NETWORKS:
        figures = [shown(f, values.get(figure_metric_name(network, f))) for f in FIGURES]
        scores = [_score(run, values, network, s) for s in SIGNALS]
        lines.append(f"| {network} | " + " | ".join(figures + scores) + " |")
    return [*lines, ""]


def missing_figures(event: CompletedEvent) -> list[str]:
    """The figures no network of the table's run holds a value for."""
    run = figures_run(event)
    values = _measured(run) if run else {}
    return [
        f.title for f in FIGURES if not any(values.get(figure_metric_name(n, f)) for n in NETWORKS)
    ]


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
    lines += per_network(e)
    lines += [
        "| Analysis run | Type | Phase | Started | Metric | Metric phase | "
        "Measured (ok/failed/inconclusive/error) | Last value | Last measured |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rows = [_row(run, m) for run in e.analysis_runs for m in (run.metrics or (None,))]
    lines += rows[:MAX_ROWS]
    if len(rows) > MAX_ROWS:
        lines.append(f"| {len(rows) - MAX_ROWS} more rows in `{path}` | | | | | | | | |")
    missing = missing_figures(e)
    if missing:
        lines += [
            "",
            f"Not measured: {', '.join(missing)} (no `<network>-canary-<figure>` metric holds "
            "a value in that run).",
        ]
    return "\n".join(lines) + "\n"


def no_evidence_note(reason: str) -> str:
    return (
        f"BREAK-GLASS without staging evidence: {reason}\n\n"
        "No completed, healthy staging rollout is recorded for this image; a person chose to "
        "promote it anyway."
    )
