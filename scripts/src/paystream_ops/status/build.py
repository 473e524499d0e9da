"""Rollout, ReplicaSets, AnalysisRuns and Applications (as the API server returns them) -> the
view. Pure: the cluster and a lab directory hand in the same objects.

A metric named `<network>-<signal>` (`visa-failures`) with one value is read as that network's
signal; any other metric is shown as the vector it returned (its elements carry no network).
A figure (`visa-canary-requests`, judge/figures.py) is shown as a figure, never as a verdict.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from paystream_auth.networks import NETWORKS

from paystream_ops.judge.figures import figure_of
from paystream_ops.status.model import (
    AppView,
    FreezeView,
    MetricView,
    Revision,
    RolloutView,
    RunView,
    StatusView,
    Threshold,
    ValueCheck,
)

K8sObject = Mapping[str, Any]
REVISION_ANNOTATION = "rollout.argoproj.io/revision"
_COMPARISON = re.compile(
    r"(?P<left>#|result(?:\[0\])?|\{\{\s*args\.[\w-]+\s*\}\}|-?[\d.]+(?:[eE][-+]?\d+)?)\s*"
    r"(?P<op><=|>=|<|>)\s*"
    r"(?P<right>#|result(?:\[0\])?|\{\{\s*args\.[\w-]+\s*\}\}|-?[\d.]+(?:[eE][-+]?\d+)?)"
)
_ARG = re.compile(r"\{\{\s*args\.([\w-]+)\s*\}\}")
FIGURE = "figure"
_NEGATE = {"<=": ">", "<": ">=", ">=": "<", ">": "<="}
_MIRROR = {"<=": ">=", "<": ">", ">=": "<=", ">": "<"}


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, Mapping) else None
    return obj


def split_metric_name(name: str) -> tuple[str | None, str]:
    """`visa-failures` -> ("visa", "failures"); `failure-ratio-delta` -> (None, the name)."""
    network, sep, signal = name.partition("-")
    if sep and network in NETWORKS and signal:
        return network, signal
    return None, name


def _is_result(side: str) -> bool:
    return side == "#" or side.startswith("result")


def _limit(side: str, args: Mapping[str, str]) -> tuple[float, str | None] | None:
    match = _ARG.fullmatch(side)
    name = match.group(1) if match else None
    text = args.get(name) if name else side
    try:
        return float(text), name  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def threshold(metric: K8sObject, args: Mapping[str, str]) -> Threshold | None:
    """The pass limit from the failure condition (negated), else the success condition."""
    for key, negate in (("failureCondition", True), ("successCondition", False)):
        condition = metric.get(key)
        if not isinstance(condition, str):
            continue
        for match in _COMPARISON.finditer(condition):
            left, op, right = match.group("left"), match.group("op"), match.group("right")
            if _is_result(right) and not _is_result(left):
                left, right, op = right, left, _MIRROR[op]
            if not _is_result(left):
                continue
            limit = _limit(right, args)
            if limit is None:
                continue
            return Threshold(_NEGATE[op] if negate else op, limit[0], limit[1])
    return None


def parse_values(value: str) -> list[float | None]:
    """The controller's value string ("0.1", "[0.1,NaN]") as numbers; NaN and junk -> None."""
    text = value.strip()
    items = text[1:-1].split(",") if text.startswith("[") and text.endswith("]") else [text]
    out: list[float | None] = []
    for item in items:
        try:
            number = float(item)
        except ValueError:
            number = math.nan
        out.append(None if math.isnan(number) else number)
    return [] if text in ("", "[]") else out


def _checks(
    values: Sequence[float | None], network: str | None, limit: Threshold | None, figure: bool
) -> tuple[ValueCheck, ...]:
    checks = []
    for v in values:
        if figure:
            verdict = FIGURE  # what the canary saw; it passes or fails nothing
        elif v is None:
            verdict = "no data"
        elif limit is None:
            verdict = "-"
        else:
            verdict = "ok" if limit.passes(v) else "over"
        checks.append(ValueCheck(network, v, verdict))
    return tuple(checks)


def _metric_view(result: K8sObject, spec: K8sObject | None, args: Mapping[str, str]) -> MetricView:
    name = str(result.get("name", ""))
    measurements = [m for m in result.get("measurements") or [] if isinstance(m, Mapping)]
    last = measurements[-1] if measurements else {}
    value = str(last.get("value", ""))
    values = parse_values(value)
    network, signal = split_metric_name(name)
    if network is not None and len(values) != 1:
        network, signal = None, name  # not one value: the name's shape says nothing
    figure = figure_of(name) is not None
    limit = None if figure else (threshold(spec, args) if spec else None)
    return MetricView(
        name=name,
        network=network,
        signal=signal,
        phase=str(result.get("phase", "")),
        dry_run=bool(result.get("dryRun")),
        count=int(result.get("count") or 0),
        failed=int(result.get("failed") or 0),
        inconclusive=int(result.get("inconclusive") or 0),
        error=int(result.get("error") or 0),
        message=str(result.get("message", "")),
        threshold=limit,
        last_value=value,
        last_phase=str(last.get("phase", "")),
        last_at=str(last.get("finishedAt") or last.get("startedAt") or ""),
        checks=_checks(values, network, limit, figure),
        figure=figure,
        history=tuple(
            (
                str(m.get("finishedAt") or m.get("startedAt") or ""),
                str(m.get("phase", "")),
                str(m.get("value") or m.get("message") or ""),
            )
            for m in measurements
        ),
    )


def _label(metric: MetricView) -> str:
    return f"{metric.network} {metric.signal}" if metric.network else metric.name


def run_view(run: K8sObject, current: bool) -> RunView:
    spec = run.get("spec") or {}
    status = run.get("status") or {}
    args = {
        str(a.get("name")): str(a["value"])
        for a in spec.get("args") or []
        if isinstance(a, Mapping) and "value" in a
    }
    specs = {str(m.get("name")): m for m in spec.get("metrics") or [] if isinstance(m, Mapping)}
    metrics = tuple(
        _metric_view(r, specs.get(str(r.get("name"))), args)
        for r in status.get("metricResults") or []
        if isinstance(r, Mapping)
    )
    phase = str(status.get("phase", "Pending"))
    deciding = tuple(_label(m) for m in metrics if not m.dry_run and m.phase == phase)
    return RunView(
        name=str(_get(run, "metadata", "name")),
        kind=str(_get(run, "metadata", "labels", "rollout-type") or "Step"),
        step=str(_get(run, "metadata", "labels", "step-index") or ""),
        phase=phase,
        message=str(status.get("message", "")),
        started_at=str(status.get("startedAt", "")),
        completed_at=str(status.get("completedAt", "")),
        current=current,
        metrics=metrics,
        deciding=deciding if phase in ("Failed", "Error", "Inconclusive") else (),
    )


def step_text(step: Any) -> str:
    """`CanaryStepString` (utils/rollout/rolloututil.go)."""
    if not isinstance(step, Mapping):
        return "invalid"
    if "setWeight" in step:
        return f"setWeight: {step['setWeight']}"
    if "pause" in step:
        duration = _get(step, "pause", "duration")
        return f"pause: {duration}" if duration is not None else "pause"
    if "analysis" in step:
        return "analysis"
    if "experiment" in step:
        return "experiment"
    return "invalid"


def _image(template: Any) -> str:
    containers = _get(template, "spec", "containers") or []
    return str(containers[0].get("image", "?")) if containers else "?"


def _revision(hash_: str, replica_sets: Sequence[K8sObject], fallback: Any) -> Revision:
    for rs in replica_sets:
        if _get(rs, "metadata", "labels", "rollouts-pod-template-hash") == hash_:
            return Revision(
                hash_,
                _image(_get(rs, "spec", "template")),
                str(_get(rs, "metadata", "annotations", REVISION_ANNOTATION) or "?"),
            )
    return Revision(hash_, _image(fallback) if fallback is not None else "?", "?")


def _waiting_for(rollout: K8sObject, steps: Sequence[Any], index: int | None) -> str:
    name = str(_get(rollout, "metadata", "name"))
    if _get(rollout, "spec", "paused"):
        return f"a person: manually paused (kubectl argo rollouts resume {name})"
    for condition in _get(rollout, "status", "pauseConditions") or []:
        reason = condition.get("reason")
        since = condition.get("startTime", "?")
        if reason == "InconclusiveAnalysisRun":
            return (
                f"a person, since {since}: an AnalysisRun was Inconclusive (too little data to "
                f"decide): `kubectl argo rollouts promote {name}` to go on, "
                f"`kubectl argo rollouts abort {name}` to roll back"
            )
        if reason == "CanaryPauseStep":
            step = steps[index] if index is not None and index < len(steps) else {}
            duration = _get(step, "pause", "duration")
            if duration is not None:
                return f"the pause step to end ({step_text(step)}, paused since {since})"
            return (
                f"a person, since {since}: an indefinite pause step: "
                f"`kubectl argo rollouts promote {name}` to go on"
            )
        return f"{reason} (since {since})"
    return ""


def rollout_view(rollout: K8sObject, replica_sets: Sequence[K8sObject]) -> RolloutView:
    status = rollout.get("status") or {}
    steps = _get(rollout, "spec", "strategy", "canary", "steps") or []
    index = status.get("currentStepIndex")
    index = int(index) if isinstance(index, int) else None
    if status.get("abort"):
        text = "aborted: the controller set the step back to 0"
    elif index is None:
        text = "-"
    elif index >= len(steps):
        text = "fully promoted" if steps else "-"
    else:
        text = f"step {index}: {step_text(steps[index])}"
    weight = _get(status, "canary", "weights", "canary", "weight")
    current_hash = str(status.get("currentPodHash", ""))
    stable_hash = status.get("stableRS")
    template = _get(rollout, "spec", "template")
    return RolloutView(
        name=str(_get(rollout, "metadata", "name")),
        namespace=str(_get(rollout, "metadata", "namespace") or ""),
        phase=str(status.get("phase") or "Unknown"),
        message=str(status.get("message", "")),
        step_index=index,
        step_count=len(steps),
        step_text=text,
        canary_weight=int(weight) if isinstance(weight, int) else None,
        canary=_revision(current_hash, replica_sets, template),
        stable=_revision(str(stable_hash), replica_sets, None) if stable_hash else None,
        aborted=bool(status.get("abort")),
        waiting_for=_waiting_for(rollout, steps, index),
    )


def _created(run: K8sObject) -> str:
    return str(_get(run, "metadata", "creationTimestamp") or _get(run, "status", "startedAt") or "")


def select_runs(rollout: K8sObject, runs: Sequence[K8sObject]) -> list[tuple[K8sObject, bool]]:
    """The Rollout's current runs (status.canary) and the last one before them."""
    canary = _get(rollout, "status", "canary") or {}
    current = {
        str(ref.get("name"))
        for key in ("currentStepAnalysisRunStatus", "currentBackgroundAnalysisRunStatus")
        if isinstance(ref := canary.get(key), Mapping)
    }
    ordered = sorted(runs, key=_created, reverse=True)
    chosen = [(r, True) for r in ordered if _get(r, "metadata", "name") in current]
    last = next((r for r in ordered if _get(r, "metadata", "name") not in current), None)
    if last is not None:
        chosen.append((last, False))
    return chosen


def app_view(app: K8sObject) -> AppView:
    spec = app.get("spec") or {}
    single = spec.get("source")
    sources: list[Mapping[str, Any]] = [single] if isinstance(single, Mapping) else []
    sources += [s for s in spec.get("sources") or [] if isinstance(s, Mapping)]
    paths = {str(s.get("path", "")).strip("/") for s in sources}
    part = "service" if any(p.startswith("overlays/") for p in paths) else "platform"
    revision = _get(app, "status", "sync", "revision") or ""
    return AppView(
        name=str(_get(app, "metadata", "name")),
        part=part,
        sync=str(_get(app, "status", "sync", "status") or "Unknown"),
        health=str(_get(app, "status", "health", "status") or "Unknown"),
        revision=str(revision)[:12],
    )


def build_status(
    *,
    source: str,
    env: str,
    rollout: K8sObject,
    replica_sets: Sequence[K8sObject],
    analysis_runs: Sequence[K8sObject],
    applications: Sequence[K8sObject] | None,
    freeze: FreezeView | None,
    notes: Sequence[str] = (),
) -> StatusView:
    runs = tuple(run_view(r, current) for r, current in select_runs(rollout, analysis_runs))
    apps = (
        tuple(
            sorted((app_view(a) for a in applications), key=lambda a: (a.part != "service", a.name))
        )
        if applications is not None
        else None
    )
    return StatusView(
        source=source,
        env=env,
        rollout=rollout_view(rollout, replica_sets),
        runs=runs,
        apps=apps,
        freeze=freeze,
        notes=tuple(notes),
    )
