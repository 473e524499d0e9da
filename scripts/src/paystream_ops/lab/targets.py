"""A Prometheus scrape job for the lab's processes, built from the rendered PodMonitor.

In a cluster the Prometheus Operator turns the PodMonitor into a `kubernetes_sd_configs` job whose
relabelings read `__meta_kubernetes_*` labels of each pod. The lab has no Kubernetes API, so it
gives each process a static target carrying the `__meta_kubernetes_*` labels the pod would have
(namespace, pod name, pod labels, container and port name) and the relabelings the operator
generates (`pkg/prometheus/promcfg.go`, `generatePodMonitorConfig`: selector keeps, port keep,
namespace/container/pod, `podTargetLabels`, `job` from `jobLabel`, `endpoint`, then the
PodMonitor's own `relabelings` and `metricRelabelings`). Prometheus itself applies them, so the
series carry exactly the labels the PodMonitor would produce, or none if it would select nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from paystream_ops.errors import UserError
from paystream_ops.lab.durations import format_prometheus_duration, parse_prometheus_duration
from paystream_ops.render import K8sObject

DEFAULT_SCRAPE_INTERVAL_SECONDS = 30.0  # the Prometheus Operator's default scrapeInterval
MIN_SCRAPE_INTERVAL_SECONDS = 0.5  # below this Prometheus and the host get noisy
_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")
_RELABEL_KEYS = {
    "sourceLabels": "source_labels",
    "separator": "separator",
    "targetLabel": "target_label",
    "regex": "regex",
    "modulus": "modulus",
    "replacement": "replacement",
    "action": "action",
}


def sanitize(name: str) -> str:
    return _INVALID_LABEL_CHARS.sub("_", name)


@dataclass(frozen=True)
class PodTarget:
    """One lab process seen as a Kubernetes pod."""

    address: str  # host:port
    namespace: str
    pod: str
    labels: Mapping[str, str]
    container: str
    port_name: str
    port_number: int


def _meta_labels(target: PodTarget) -> dict[str, str]:
    labels = {
        "__meta_kubernetes_namespace": target.namespace,
        "__meta_kubernetes_pod_name": target.pod,
        "__meta_kubernetes_pod_container_name": target.container,
        "__meta_kubernetes_pod_container_port_name": target.port_name,
        "__meta_kubernetes_pod_container_port_number": str(target.port_number),
        "__meta_kubernetes_pod_ready": "true",
        "__meta_kubernetes_pod_phase": "Running",
    }
    for key, value in target.labels.items():
        labels[f"__meta_kubernetes_pod_label_{sanitize(key)}"] = value
        labels[f"__meta_kubernetes_pod_labelpresent_{sanitize(key)}"] = "true"
    return labels


def _user_relabelings(items: object, where: str) -> list[dict[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise UserError(f"{where}: expected a list")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise UserError(f"{where}[{i}]: expected a mapping")
        unknown = sorted(set(item) - set(_RELABEL_KEYS))
        if unknown:
            raise UserError(f"{where}[{i}].{unknown[0]}: not a relabeling field")
        config = {_RELABEL_KEYS[k]: v for k, v in item.items()}
        if "action" in config:
            config["action"] = str(config["action"]).lower()
        out.append(config)
    return out


def _selector_relabelings(selector: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for key, value in sorted((selector.get("matchLabels") or {}).items()):
        name = sanitize(str(key))
        rules.append(
            {
                "action": "keep",
                "source_labels": [
                    f"__meta_kubernetes_pod_label_{name}",
                    f"__meta_kubernetes_pod_labelpresent_{name}",
                ],
                "regex": f"({value});true",
            }
        )
    for i, expression in enumerate(selector.get("matchExpressions") or []):
        key = sanitize(str(expression.get("key", "")))
        operator = expression.get("operator")
        values = "|".join(str(v) for v in expression.get("values") or [])
        both = [f"__meta_kubernetes_pod_label_{key}", f"__meta_kubernetes_pod_labelpresent_{key}"]
        present = [f"__meta_kubernetes_pod_labelpresent_{key}"]
        if operator == "In":
            rules.append({"action": "keep", "source_labels": both, "regex": f"({values});true"})
        elif operator == "NotIn":
            rules.append({"action": "drop", "source_labels": both, "regex": f"({values});true"})
        elif operator == "Exists":
            rules.append({"action": "keep", "source_labels": present, "regex": "true"})
        elif operator == "DoesNotExist":
            rules.append({"action": "drop", "source_labels": present, "regex": "true"})
        else:
            raise UserError(f"{where}.matchExpressions[{i}].operator: unknown {operator!r}")
    return rules


@dataclass(frozen=True)
class ScrapePlan:
    job: dict[str, Any]
    interval_seconds: float  # lab time
    cluster_interval_seconds: float
    clamped: bool
    monitor_name: str


def scrape_job(
    monitor: K8sObject | None,
    targets: Sequence[PodTarget],
    time_scale: float,
    source: str,
) -> ScrapePlan:
    """The scrape job the Prometheus Operator would generate for `monitor`, on static targets."""
    if monitor is None:
        raise UserError(f"{source}: no PodMonitor in the rendered overlay; the lab scrapes as it")
    meta = monitor.get("metadata") or {}
    name = str(meta.get("name", ""))
    namespace = str(meta.get("namespace") or targets[0].namespace if targets else "default")
    where = f"{source}: PodMonitor/{name}"
    spec = monitor.get("spec") or {}
    endpoints = spec.get("podMetricsEndpoints") or []
    if not endpoints:
        raise UserError(f"{where}: spec.podMetricsEndpoints: empty")
    endpoint = endpoints[0]
    port = endpoint.get("port")
    interval_text = endpoint.get("interval")
    cluster_interval = (
        parse_prometheus_duration(str(interval_text), f"{where}: podMetricsEndpoints[0].interval")
        if interval_text
        else DEFAULT_SCRAPE_INTERVAL_SECONDS
    )
    scaled = cluster_interval / time_scale
    interval = max(scaled, MIN_SCRAPE_INTERVAL_SECONDS)
    selected_namespaces = (spec.get("namespaceSelector") or {}).get("matchNames")
    any_namespace = bool((spec.get("namespaceSelector") or {}).get("any"))
    for target in targets:
        allowed = [namespace] if not selected_namespaces else list(selected_namespaces)
        if not any_namespace and target.namespace not in allowed:
            raise UserError(
                f"{where}: spec.namespaceSelector does not include the Rollout's namespace "
                f"{target.namespace!r}: Prometheus would not scrape the pods"
            )
    relabel: list[dict[str, Any]] = [
        {"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"}
    ]
    relabel += _selector_relabelings(spec.get("selector") or {}, f"{where}: spec.selector")
    if port:
        relabel.append(
            {
                "action": "keep",
                "source_labels": ["__meta_kubernetes_pod_container_port_name"],
                "regex": str(port),
            }
        )
    relabel += [
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
    ]
    for label in spec.get("podTargetLabels") or []:
        relabel.append(
            {
                "source_labels": [f"__meta_kubernetes_pod_label_{sanitize(str(label))}"],
                "target_label": sanitize(str(label)),
                "regex": "(.+)",
                "replacement": "${1}",
            }
        )
    relabel.append({"target_label": "job", "replacement": f"{namespace}/{name}"})
    if spec.get("jobLabel"):
        relabel.append(
            {
                "source_labels": [f"__meta_kubernetes_pod_label_{sanitize(str(spec['jobLabel']))}"],
                "target_label": "job",
                "regex": "(.+)",
                "replacement": "${1}",
            }
        )
    if port:
        relabel.append({"target_label": "endpoint", "replacement": str(port)})
    relabel += _user_relabelings(
        endpoint.get("relabelings"), f"{where}: podMetricsEndpoints[0].relabelings"
    )
    job: dict[str, Any] = {
        "job_name": f"podMonitor/{namespace}/{name}/0",
        "honor_labels": bool(endpoint.get("honorLabels", False)),
        "scrape_interval": format_prometheus_duration(interval),
        "scrape_timeout": format_prometheus_duration(interval),
        "metrics_path": str(endpoint.get("path") or "/metrics"),
        "static_configs": [{"targets": [t.address], "labels": _meta_labels(t)} for t in targets],
        "relabel_configs": relabel,
    }
    metric_relabel = _user_relabelings(
        endpoint.get("metricRelabelings"), f"{where}: podMetricsEndpoints[0].metricRelabelings"
    )
    if metric_relabel:
        job["metric_relabel_configs"] = metric_relabel
    return ScrapePlan(job, interval, cluster_interval, interval != scaled, name)


def prometheus_config(plan: ScrapePlan) -> dict[str, Any]:
    interval = plan.job["scrape_interval"]
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [plan.job],
    }
