"""The scrape and the queries: the PodMonitor sees the pods and labels them as the analysis
expects, and every metric the analysis, rules and dashboards read is one that exists.

A renamed metric in the service or a typo in a query makes an analysis return nothing, which
(guarded) is Inconclusive forever: better to fail here, before merge.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from paystream_ops.validate.checks import TargetContext
from paystream_ops.validate.checks.workloads import (
    container_ports,
    match_labels,
    pod_templates,
    selects,
)
from paystream_ops.validate.metrics import SERVICE_PREFIX, metric_names
from paystream_ops.validate.model import K8sObject, Problem, as_dict, as_list, dig, labels_of

NAME_PODMONITOR = "podmonitor"
NAME_METRICS = "metric-names"
# PodMonitor relabelings the analysis relies on: target label -> pod label it comes from.
REQUIRED_LABELS = {"role": "role", "rollouts_pod_template_hash": "rollouts-pod-template-hash"}
SERVICE_JOB = "auth-service"


def check(ctx: TargetContext) -> Iterator[Problem]:
    yield from _podmonitors(ctx)
    yield from _metric_names(ctx)


def _meta_label(pod_label: str) -> str:
    return "__meta_kubernetes_pod_label_" + "".join(c if c.isalnum() else "_" for c in pod_label)


def _podmonitors(ctx: TargetContext) -> Iterator[Problem]:
    templates = list(pod_templates(ctx.objects))
    for monitor in ctx.rendered.of_kind("PodMonitor"):
        selector = match_labels(dig(monitor, "spec", "selector"))
        selected = [(w, labels) for w, labels in templates if selects(selector, labels)]
        if not selected:
            yield ctx.problem(
                monitor, "spec.selector", "selects no pods of any workload here", NAME_PODMONITOR
            )
            continue
        job_label = dig(monitor, "spec", "jobLabel")
        for workload, labels in selected:
            if job_label and job_label not in labels:
                yield ctx.problem(
                    monitor,
                    "spec.jobLabel",
                    f"pods of {workload.get('kind')}/"
                    f"{dig(workload, 'metadata', 'name')} have no label "
                    f"{job_label!r}: job would not be set",
                    NAME_PODMONITOR,
                )
            if workload.get("kind") == "Rollout" and labels.get(str(job_label)) != SERVICE_JOB:
                yield ctx.problem(
                    monitor,
                    "spec.jobLabel",
                    f"gives job="
                    f"{labels.get(str(job_label))!r}; the analysis and alerts "
                    f"select job={SERVICE_JOB!r}",
                    NAME_PODMONITOR,
                )
        for i, endpoint in enumerate(as_list(dig(monitor, "spec", "podMetricsEndpoints"))):
            endpoint = as_dict(endpoint)
            port = endpoint.get("port")
            if port and not any(port in container_ports(w) for w, _ in selected):
                yield ctx.problem(
                    monitor,
                    f"spec.podMetricsEndpoints[{i}].port",
                    f"no selected container has a port named {port!r}",
                    NAME_PODMONITOR,
                )
            if any(w.get("kind") == "Rollout" for w, _ in selected):
                yield from _relabelings(ctx, monitor, i, endpoint)


def _relabelings(
    ctx: TargetContext, monitor: K8sObject, index: int, endpoint: dict[str, object]
) -> Iterator[Problem]:
    produced: dict[str, set[str]] = {}
    for rule in as_list(endpoint.get("relabelings")):
        rule = as_dict(rule)
        if rule.get("action", "replace") == "replace" and rule.get("targetLabel"):
            produced.setdefault(str(rule["targetLabel"]), set()).update(
                str(s) for s in as_list(rule.get("sourceLabels"))
            )
    for label in as_list(dig(monitor, "spec", "podTargetLabels")):
        sanitized = "".join(c if c.isalnum() else "_" for c in str(label))
        produced.setdefault(sanitized, set()).add(_meta_label(str(label)))
    for target, pod_label in REQUIRED_LABELS.items():
        if _meta_label(pod_label) not in produced.get(target, set()):
            yield ctx.problem(
                monitor,
                f"spec.podMetricsEndpoints[{index}].relabelings",
                f"no relabeling sets {target!r} from pod label {pod_label!r}: the "
                "analysis cannot tell canary from stable",
                NAME_PODMONITOR,
            )


def expressions(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, str, str]]:
    """(object, field, PromQL) for every query in analysis templates, rules and dashboards."""
    for obj in objects:
        kind = obj.get("kind")
        if kind in ("AnalysisTemplate", "ClusterAnalysisTemplate"):
            for metric in as_list(dig(obj, "spec", "metrics")):
                query = dig(metric, "provider", "prometheus", "query")
                if isinstance(query, str):
                    yield obj, f"spec.metrics[{as_dict(metric).get('name')}]", query
        elif kind == "PrometheusRule":
            for g in as_list(dig(obj, "spec", "groups")):
                for rule in as_list(as_dict(g).get("rules")):
                    rule = as_dict(rule)
                    if isinstance(rule.get("expr"), str):
                        name = rule.get("record") or rule.get("alert")
                        yield (
                            obj,
                            f"spec.groups[{as_dict(g).get('name')}].rules[{name}]",
                            str(rule["expr"]),
                        )
        elif kind == "ConfigMap" and labels_of(obj).get("grafana_dashboard"):
            for key, text in as_dict(obj.get("data")).items():
                try:
                    dashboard = json.loads(str(text))
                except json.JSONDecodeError:
                    continue
                for expr in _dashboard_queries(dashboard):
                    yield obj, f"data[{key}]", expr


def _dashboard_queries(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "query") and isinstance(value, str):
                yield value
            elif key == "query" and isinstance(value, dict) and isinstance(value.get("query"), str):
                yield value["query"]
            else:
                yield from _dashboard_queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from _dashboard_queries(item)


def _metric_names(ctx: TargetContext) -> Iterator[Problem]:
    recorded = {
        str(as_dict(rule).get("record"))
        for obj in ctx.rendered.of_kind("PrometheusRule")
        for g in as_list(dig(obj, "spec", "groups"))
        for rule in as_list(as_dict(g).get("rules"))
        if as_dict(rule).get("record")
    }
    exported = ctx.settings.exported_metrics
    for obj, where, expr in expressions(ctx.objects):
        for name in sorted(metric_names(expr)):
            if name.startswith(SERVICE_PREFIX) and name not in exported:
                yield ctx.problem(
                    obj, where, f"reads {name}, which the service does not export", NAME_METRICS
                )
            elif ":" in name and name not in recorded:
                yield ctx.problem(
                    obj, where, f"reads {name}, which no recording rule here defines", NAME_METRICS
                )
