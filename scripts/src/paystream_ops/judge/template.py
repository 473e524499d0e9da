"""The AnalysisTemplate and the overlay-values transformer, built from the signals (pure).

One metric per card network and signal, named `<network>-<signal>` so Argo CD, the abort
message and the revert pull request name what failed. Every metric is one strike
(`failureLimit: 0`): its bar already asks for overwhelming evidence.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paystream_auth.networks import NETWORKS

from paystream_ops.dashboards.analysis import AnalysisQuery
from paystream_ops.judge.budget import (
    derive,
    margin_value,
    stall_value,
    sub_window_requests,
    sub_window_value,
)
from paystream_ops.judge.figures import FIGURE_ARGS, FIGURES_TEMPLATE_NAME, figures_template
from paystream_ops.judge.signals import SIGNALS, Signal
from paystream_ops.judge.verdict import named as network_of

TEMPLATE_NAME = "auth-service-canary-vs-stable"
ROLLOUT_NAME = "auth-service"
THRESHOLDS = "analysis-thresholds"  # the overlay ConfigMap and the transformer reading it
TEMPLATE_PATH = Path("base/analysis/analysis-canary-vs-stable.yaml")
TRANSFORMER_PATH = Path("base/transformers/analysis-thresholds.yaml")
COMMAND = "`paystream-ops dashboards` (make dashboards)"
SOURCE = "scripts/src/paystream_ops/judge/"


@dataclass(frozen=True)
class Arg:
    name: str
    default: str | None  # None: passed by the Rollout
    overlay: bool = True  # each overlay sets it in analysis-thresholds.yaml


def args() -> tuple[Arg, ...]:
    bars = derive(tuple(s.name for s in SIGNALS))
    return (
        Arg("namespace", "paystream", overlay=False),
        Arg("canary-hash", None, overlay=False),
        Arg("stable-hash", None, overlay=False),
        Arg(
            "prometheus-address",
            "http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090",
            overlay=False,
        ),
        Arg("window", "1m"),
        Arg("interval", "30s"),
        Arg("initial-delay", "30s"),
        Arg("count", "4"),
        Arg("inconclusive-limit", "1"),
        Arg("consecutive-error-limit", "4"),
        Arg("min-requests", "150"),
        Arg("min-latency-requests", "150"),
        *(Arg(s.threshold_arg, bars[s.name].value) for s in SIGNALS),
        *(Arg(s.margin_arg, margin_value()) for s in SIGNALS if s.margin_arg),
        *(Arg(s.sub_window_arg, sub_window_value()) for s in SIGNALS if s.sub_window_arg),
        *(
            Arg(s.sub_window_requests_arg, str(sub_window_requests()))
            for s in SIGNALS
            if s.sub_window_requests_arg
        ),
        # Last: the fixtures' JSON patches address the args above by index.
        *(Arg(s.stall_arg, stall_value()) for s in SIGNALS if s.stall_arg),
    )


def metric_name(network: str, signal: Signal) -> str:
    return f"{network}-{signal.name}"


def _metric(network: str, signal: Signal) -> dict[str, Any]:
    bar = f"{{{{args.{signal.threshold_arg}}}}}"
    return {
        "name": metric_name(network, signal),
        "initialDelay": "{{args.initial-delay}}",
        "interval": "{{args.interval}}",
        "count": "{{args.count}}",
        "failureLimit": 0,
        "inconclusiveLimit": "{{args.inconclusive-limit}}",
        "consecutiveErrorLimit": "{{args.consecutive-error-limit}}",
        "successCondition": f"len(result) > 0 && all(result, {{!isNaN(#) && # <= {bar}}})",
        "failureCondition": f"len(result) > 0 && any(result, {{!isNaN(#) && # > {bar}}})",
        "provider": {
            "prometheus": {
                "address": "{{args.prometheus-address}}",
                "timeout": 10,
                "query": signal.query(network) + "\n",
            }
        },
    }


def analysis_template() -> dict[str, Any]:
    spec_args: list[dict[str, str]] = []
    for arg in args():
        spec_args.append(
            {"name": arg.name} if arg.default is None else {"name": arg.name, "value": arg.default}
        )
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {
            "name": TEMPLATE_NAME,
            "labels": {
                "app.kubernetes.io/name": "auth-service",
                "app.kubernetes.io/part-of": "paystream",
            },
        },
        "spec": {
            "args": spec_args,
            "metrics": [_metric(n, s) for n in NETWORKS for s in SIGNALS],
        },
    }


def thresholds_transformer() -> dict[str, Any]:
    """Copies overlays/<env>/analysis-thresholds.yaml into the template's arg defaults."""
    return {
        "apiVersion": "builtin",
        "kind": "ReplacementTransformer",
        "metadata": {"name": THRESHOLDS},
        "replacements": [
            {
                "source": {
                    "kind": "ConfigMap",
                    "name": THRESHOLDS,
                    "fieldPath": f"data.{arg.name}",
                },
                "targets": [
                    {
                        "select": {"kind": "AnalysisTemplate", "name": name},
                        "fieldPaths": [f"spec.args.[name={arg.name}].value"],
                    }
                    for name in _templates_with(arg.name)
                ],
            }
            for arg in args()
            if arg.overlay
        ]
        + [_background_initial_delay()],
    }


# The background analysis looks between the step analysis' looks, not with them (the same
# comparison twice): docs/decisions/0138-background-analysis-looks-between-the-steps-looks.md
BACKGROUND_INITIAL_DELAY = "background-initial-delay"


def _background_initial_delay() -> dict[str, Any]:
    return {
        "source": {
            "kind": "ConfigMap",
            "name": THRESHOLDS,
            "fieldPath": f"data.{BACKGROUND_INITIAL_DELAY}",
        },
        "targets": [
            {
                "select": {"kind": "Rollout", "name": ROLLOUT_NAME},
                "fieldPaths": ["spec.strategy.canary.analysis.args.[name=initial-delay].value"],
            }
        ],
    }


def _templates_with(arg: str) -> tuple[str, ...]:
    """The generated templates declaring `arg`: both must hold the overlay's one value."""
    return (TEMPLATE_NAME, FIGURES_TEMPLATE_NAME) if arg in FIGURE_ARGS else (TEMPLATE_NAME,)


def canary_figures_template() -> dict[str, Any]:
    """The figures' template, its arg defaults the deciding template's (judge/figures.py)."""
    return figures_template({arg.name: arg.default for arg in args()})


def template_header() -> str:
    return (
        "# yaml-language-server: $schema=https://raw.githubusercontent.com/datreeio/CRDs-catalog/"
        "main/argoproj.io/analysistemplate_v1alpha1.json\n"
        f"# GENERATED by {COMMAND} from {SOURCE}; a test fails when it is stale.\n"
        "# One metric per card network and signal, canary against stable; each overlay sets\n"
        "# the args in overlays/<env>/analysis-thresholds.yaml. see docs/analysis.md\n"
    )


def transformer_header() -> str:
    return (
        f"# GENERATED by {COMMAND} from {SOURCE}; a test fails when it is stale.\n"
        "# Copies overlays/<env>/analysis-thresholds.yaml into the AnalysisTemplate's arg\n"
        "# defaults; every key is required, so a missing one fails the build.\n"
    )


def per_signal(queries: list[AnalysisQuery]) -> list[AnalysisQuery]:
    """One query per signal for the dashboard: a network's rendered query, widened to every
    network (the panel draws one line per network, the query each metric runs)."""
    out: list[AnalysisQuery] = []
    seen: set[str] = set()
    for query in queries:
        named = network_of(query.metric)
        if named is None:
            out.append(query)
            continue
        network, signal = named
        if signal in seen:
            continue
        seen.add(signal)
        widened = query.query.replace(f'network="{network}"', 'network!="unknown"')
        out.append(dataclasses.replace(query, metric=signal, query=widened))
    return out
