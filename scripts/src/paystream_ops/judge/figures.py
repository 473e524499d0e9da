"""The canary's figures per network: what the analysis that passed saw, never a verdict (pure).

A second AnalysisTemplate, `auth-service-canary-figures`, runs beside the deciding template in
the last step analysis only (the cheapest run that ends with the verdict the evidence carries).
Each metric is `<network>-canary-<figure>` (`visa-canary-requests`), has neither
successCondition nor failureCondition (Argo Rollouts: Successful unless it errors,
utils/evaluate/evaluate.go `EvaluateResult`) and is dry-run (an Error never reaches the run's
phase or message, analysis/analysis.go `assessRunStatus`), so it can never decide. It measures
on the deciding metrics' schedule (`count`, `interval`, `initial-delay`, `window`), so its last
value is from the instant of the last verdict.
see docs/decisions/0122-canary-figures-beside-the-verdict.md
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paystream_auth.networks import NETWORKS, failure_regex

from paystream_ops.judge.signals import (
    APPROVED,
    BUCKET,
    DECLINED,
    INVALID,
    REQUESTS,
    _group,
    _lines,
    _sum,
)

FIGURES_TEMPLATE_NAME = "auth-service-canary-figures"
FIGURES_TEMPLATE_PATH = Path("base/analysis/analysis-canary-figures.yaml")
# The args the figures read; every other arg of a step analysis is the deciding template's.
FIGURE_ARGS = (
    "namespace",
    "canary-hash",
    "prometheus-address",
    "window",
    "interval",
    "initial-delay",
    "count",
)
PREFIX = "canary-"
# Every figure-named metric is dry-run; Argo matches this unanchored (Go regexp.MatchString).
DRY_RUN_PATTERN = rf"^({'|'.join(NETWORKS)})-{PREFIX}"


@dataclass(frozen=True)
class Figure:
    name: str  # the metric name's last part: `visa-canary-<name>`
    title: str  # the evidence table's column
    unit: str  # how a value reads: "count", "ratio" or "seconds"


FIGURES: tuple[Figure, ...] = (
    Figure("requests", "canary requests", "count"),
    Figure("failure-ratio", "failure ratio", "ratio"),
    Figure("approval-ratio", "approval ratio", "ratio"),
    Figure("p99-seconds", "P99", "seconds"),
)
_BY_NAME = {f.name: f for f in FIGURES}


def figure_metric_name(network: str, figure: Figure) -> str:
    return f"{network}-{PREFIX}{figure.name}"


def figure_of(metric: str) -> tuple[str, Figure] | None:
    """`visa-canary-requests` -> ("visa", requests); None for any other name."""
    network, _, rest = metric.partition("-")
    if network not in NETWORKS or not rest.startswith(PREFIX):
        return None
    figure = _BY_NAME.get(rest[len(PREFIX) :])
    return None if figure is None else (network, figure)


def looks_like_figure(metric: str) -> bool:
    """Named as a figure would be (`<network>-canary-...`), known or not: such a metric must
    never decide, whatever its last part says."""
    network, _, rest = metric.partition("-")
    return network in NETWORKS and rest.startswith(PREFIX)


def _canary(metric: str, network: str, extra: str = "", by: str = "network") -> str:
    return _sum(metric, "canary", network, extra, by=by)


def _ratio(network: str, part: str, whole: str) -> str:
    """part / whole; a network without a `part` series yet reads 0, without requests NaN/empty."""
    total = _canary(REQUESTS, network, whole)
    return _lines(
        _group(_lines(_canary(REQUESTS, network, part), "or", f"0 * {total}")), "/", total
    )


def figure_query(network: str, figure: Figure) -> str:
    answered = f', outcome=~"{APPROVED}|{DECLINED}"'
    if figure.name == "requests":
        # What `min-requests` is compared with: every outcome but `invalid`.
        return _canary(REQUESTS, network, f', outcome!="{INVALID}"')
    if figure.name == "failure-ratio":
        return _ratio(network, f', outcome=~"{failure_regex()}"', f', outcome!="{INVALID}"')
    if figure.name == "approval-ratio":
        return _ratio(network, f', outcome="{APPROVED}"', answered)
    if figure.name == "p99-seconds":
        return f"histogram_quantile(0.99, {_canary(BUCKET, network, by='network, le')})"
    raise ValueError(figure.name)


def _metric(network: str, figure: Figure) -> dict[str, Any]:
    return {
        "name": figure_metric_name(network, figure),
        "initialDelay": "{{args.initial-delay}}",
        "interval": "{{args.interval}}",
        "count": "{{args.count}}",
        "provider": {
            "prometheus": {
                "address": "{{args.prometheus-address}}",
                "timeout": 10,
                "query": figure_query(network, figure) + "\n",
            }
        },
    }


def figures_template(defaults: dict[str, str | None]) -> dict[str, Any]:
    """`defaults`: the deciding template's arg defaults (one value per arg in both templates,
    or Argo refuses the merged run: utils/analysis/helpers.go `flattenArgs`)."""
    spec_args = [
        {"name": name} if defaults[name] is None else {"name": name, "value": defaults[name]}
        for name in FIGURE_ARGS
    ]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {
            "name": FIGURES_TEMPLATE_NAME,
            "labels": {
                "app.kubernetes.io/name": "auth-service",
                "app.kubernetes.io/part-of": "paystream",
            },
        },
        "spec": {
            "args": spec_args,
            "dryRun": [{"metricName": DRY_RUN_PATTERN}],
            "metrics": [_metric(n, f) for n in NETWORKS for f in FIGURES],
        },
    }


def figures_header(command: str, source: str) -> str:
    return (
        "# yaml-language-server: $schema=https://raw.githubusercontent.com/datreeio/CRDs-catalog/"
        "main/argoproj.io/analysistemplate_v1alpha1.json\n"
        f"# GENERATED by {command} from {source}; a test fails when it is stale.\n"
        "# The canary's figures per network for the staging evidence: no conditions, dry-run,\n"
        "# never a verdict; run only beside the deciding template in the last step analysis.\n"
        "# see docs/decisions/0122-canary-figures-beside-the-verdict.md\n"
    )
