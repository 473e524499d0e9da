"""The view drawn for a terminal (rich) or for machines (JSON). Pure: no I/O."""

from __future__ import annotations

import dataclasses
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from paystream_ops.status.model import MetricView, RunView, StatusView

_PHASE_STYLE = {
    "Healthy": "green",
    "Successful": "green",
    "Progressing": "cyan",
    "Running": "cyan",
    "Paused": "yellow",
    "Inconclusive": "yellow",
    "Degraded": "bold red",
    "Failed": "bold red",
    "Error": "bold red",
    "Synced": "green",
    "OutOfSync": "yellow",
}


def _phase(text: str) -> Text:
    return Text(text, style=_PHASE_STYLE.get(text, ""))


def to_json(view: StatusView) -> dict[str, Any]:
    data = dataclasses.asdict(view)
    for run, run_view in zip(data["runs"], view.runs, strict=True):
        run["decided"] = run_view.decided
    return data


def _check_text(metric: MetricView) -> Text:
    if not metric.checks:
        return Text(metric.last_phase or "-")
    if metric.network is not None:
        verdict = metric.checks[0].verdict
        return Text(verdict, style="bold red" if verdict == "over" else "")
    over = sum(1 for c in metric.checks if c.verdict == "over")
    missing = sum(1 for c in metric.checks if c.verdict == "no data")
    parts = [f"{over} of {len(metric.checks)} over"] if over else ["none over"]
    if missing:
        parts.append(f"{missing} no data")
    return Text(", ".join(parts), style="bold red" if over else "")


def _run_table(run: RunView) -> Table:
    when = "current" if run.current else "last"
    table = Table(
        title=f"AnalysisRun {run.name} ({run.kind}{' ' + run.step if run.step else ''}, {when}): "
        f"[{_PHASE_STYLE.get(run.phase, '')}]"
        f"{run.phase}[/]",
        title_justify="left",
        caption=f"decided: {run.decided}",
        caption_justify="left",
    )
    for column in ("network signal", "phase", "last value", "pass if", "check", "n/F/I/E"):
        table.add_column(column)
    for m in sorted(run.metrics, key=lambda m: (m.network or "~", m.signal)):
        name = f"{m.network} {m.signal}" if m.network else f"{m.name} (vector)"
        kind = " (figure, not a verdict)" if m.figure else (" (dry run)" if m.dry_run else "")
        table.add_row(
            name + kind,
            _phase(m.phase),
            m.last_value or m.message or "-",
            f"{m.threshold.op} {m.threshold.limit:g}" if m.threshold else "-",
            _check_text(m),
            f"{m.count}/{m.failed}/{m.inconclusive}/{m.error}",
        )
    return table


def render(view: StatusView) -> RenderableType:
    r = view.rollout
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("source", view.source)
    head.add_row("Rollout", f"{r.namespace}/{r.name}")
    head.add_row("phase", Text.assemble(_phase(r.phase), f"  {r.message}" if r.message else ""))
    step = r.step_text
    if r.step_index is not None and r.step_count and not r.aborted:
        step = f"{r.step_text} ({min(r.step_index, r.step_count)}/{r.step_count} done)"
    head.add_row("step", step)
    promoted = r.stable is not None and r.stable.pod_hash == r.canary.pod_hash
    weight = "-" if r.canary_weight is None else f"{r.canary_weight}%"
    head.add_row(
        "canary weight", "fully promoted: stable is the new revision" if promoted else weight
    )
    head.add_row(
        "canary", f"{r.canary.image}  revision {r.canary.revision}  hash {r.canary.pod_hash}"
    )
    if r.stable is not None:
        head.add_row(
            "stable", f"{r.stable.image}  revision {r.stable.revision}  hash {r.stable.pod_hash}"
        )
    if r.aborted:
        head.add_row("aborted", Text("yes: traffic is back on stable", style="bold red"))
    if r.waiting_for:
        head.add_row("waiting for", Text(r.waiting_for, style="yellow"))
    if view.freeze is not None:
        f = view.freeze
        style = "bold yellow" if f.frozen else "green"
        head.add_row("sync window", Text(f.text, style=style))
    parts: list[RenderableType] = [head]
    if not view.runs:
        parts.append(Text("no AnalysisRun for this Rollout"))
    parts.extend(_run_table(run) for run in view.runs)
    if view.apps is not None:
        apps = Table(title="Argo CD Applications", title_justify="left")
        for column in ("application", "part", "sync", "health", "revision"):
            apps.add_column(column)
        for a in view.apps:
            apps.add_row(a.name, a.part, _phase(a.sync), _phase(a.health), a.revision or "-")
        parts.append(apps)
    parts.extend(Text(note, style="dim") for note in view.notes)
    return Group(*parts)
