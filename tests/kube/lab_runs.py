"""Lab runs for the status view and the API server, made cheaply: the lab's own pure state
machines (the Rollout and AnalysisRun controllers) on the prod overlay's real Rollout and
AnalysisTemplate, fed recorded measurements instead of a live Prometheus, written by the lab's
controller writer."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paystream_ops.judge.figures import figure_of
from paystream_ops.judge.template import TEMPLATE_NAME
from paystream_ops.lab.analysis import AnalysisRun, Measurement, MetricSpec, evaluate_result
from paystream_ops.lab.controller_objects import ControllerObjects, write_objects
from paystream_ops.lab.manifests import LabContext, metric_specs, read_manifests
from paystream_ops.lab.provider import format_result
from paystream_ops.lab.rollout import RolloutMachine

REPO = Path(__file__).resolve().parents[2]
NAN = math.nan
NETWORKS = ("visa", "mastercard", "amex", "discover")
CONTEXT = LabContext(
    time_scale=1.0,
    prometheus_address="http://kube-prometheus-stack-prometheus.monitoring:9090",
    canary_hash="7c9d5f6b8",
    stable_hash="5d4b7c9f6",
)
# Recorded query results (scores, in units of chance), one per network in the order visa,
# mastercard, amex, discover; keyed by signal.
HEALTHY = {
    "failures": [0.4, -0.2, 0.9, 0.1],
    "approvals": [1.1, 0.3, -0.5, 0.0],
    "latency": [0.8, 1.2, 0.5, 0.9],
}
INCIDENT = {**HEALTHY, "failures": [11.2, -0.2, 0.9, 0.1]}  # Visa timeouts at the canary
LOW_TRAFFIC = {name: [NAN, NAN, NAN, NAN] for name in HEALTHY}
SCENARIOS = {"healthy": HEALTHY, "incident": INCIDENT, "low-traffic": LOW_TRAFFIC}
VECTOR_SUFFIX = "-score"
FIGURE_VALUE = 1234.0


def vector(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The template reshaped the old way: one metric per signal (`failures-score`), each a
    vector of per-network values without their labels, the same args and conditions."""
    out = json.loads(json.dumps(objects))
    template = next(
        o for o in out if o["kind"] == "AnalysisTemplate" and o["metadata"]["name"] == TEMPLATE_NAME
    )
    metrics = []
    for metric in template["spec"]["metrics"]:
        network, _, signal = metric["name"].partition("-")
        if network == NETWORKS[0]:
            metrics.append({**metric, "name": signal + VECTOR_SUFFIX})
    template["spec"]["metrics"] = metrics
    return out


def recorded(values: dict[str, list[float]]) -> Callable[[MetricSpec, float], Measurement]:
    def measure(spec: MetricSpec, now: float) -> Measurement:
        network, _, signal = spec.name.partition("-")
        if figure_of(spec.name) is not None:
            result = [FIGURE_VALUE]  # a figure reads what it reads, whatever the scores say
        elif network in NETWORKS:
            result: list[float] = [values[signal][NETWORKS.index(network)]]
        else:
            result = values[spec.name.removesuffix(VECTOR_SUFFIX)]
        phase, message = evaluate_result(spec, result)
        return Measurement(phase, now, now, format_result(result), message, tuple(result))

    return measure


def lab_run(
    objects: list[dict[str, Any]], scenario: str, directory: Path, until: float = 7200.0
) -> Path:
    """Drive the lab's machines at every wake-up (the canary ready at once) until the verdict
    or `until` seconds; write what the controller would hold then."""
    manifests = read_manifests(objects, "overlays/prod", 1.0)
    specs = {
        label: metric_specs(analysis, manifests, CONTEXT)
        for label, analysis in manifests.analyses()
    }

    def make_run(kind: str, index: int, templates: tuple[str, ...], now: float) -> AnalysisRun:
        label = "background" if kind == "background" else f"step {index}"
        suffix = "bg" if kind == "background" else str(index)
        return AnalysisRun(f"auth-service-{CONTEXT.canary_hash}-{suffix}", specs[label], now)

    machine = RolloutMachine(manifests.plan, make_run, started_at=0.0)
    measure = recorded(SCENARIOS[scenario])
    now = 0.0
    while not machine.finished and now <= until:
        machine.reconcile(now, True, measure)
        wake = machine.next_wakeup()
        if wake is None:
            break
        now = max(wake, now + 1e-6)
    writer = ControllerObjects(manifests, CONTEXT, directory)
    write_objects(directory, writer.objects(machine, min(now, until), 1.0))
    return directory
