"""The canary analysis queries, read from rendered AnalysisTemplates, with their args filled in.

Argo Rollouts substitutes `{{args.NAME}}` in a Prometheus query before it runs it. The dashboard
fills the same placeholders with Grafana variables and the live test with concrete values, so
both run exactly the query the analysis runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from paystream_ops.errors import UserError
from paystream_ops.render import K8sObject, object_key

TEMPLATE_KINDS = ("AnalysisTemplate", "ClusterAnalysisTemplate")
_ARG = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}")


@dataclass(frozen=True)
class AnalysisQuery:
    """One Prometheus metric of an analysis template."""

    template: str  # the template's `Kind/name`
    metric: str
    query: str
    success_condition: str
    failure_condition: str
    args: tuple[str, ...]  # every arg the query uses, in order of first use

    @property
    def title(self) -> str:
        return f"{self.template.split('/')[-1]}: {self.metric}"


def query_args(query: str) -> tuple[str, ...]:
    """The arg names a query uses, each once, in order of first use."""
    return tuple(dict.fromkeys(_ARG.findall(query)))


def fill_args(query: str, values: Mapping[str, str], *, where: str = "query") -> str:
    """Replace every `{{args.NAME}}` with `values[NAME]`; a missing value is a UserError."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise UserError(f"{where}: uses {{{{args.{name}}}}} but no value was given for it")
        return values[name]

    return _ARG.sub(one, query)


def analysis_queries(objects: Iterable[K8sObject]) -> list[AnalysisQuery]:
    """Every Prometheus query in the rendered analysis templates, in document order."""
    found: list[AnalysisQuery] = []
    for obj in objects:
        if obj.get("kind") not in TEMPLATE_KINDS:
            continue
        key = object_key(obj)
        metrics = (obj.get("spec") or {}).get("metrics") or []
        for index, metric in enumerate(metrics):
            prometheus = (metric.get("provider") or {}).get("prometheus")
            if prometheus is None:
                continue
            query = prometheus.get("query")
            if not isinstance(query, str) or not query.strip():
                raise UserError(f"{key}: spec.metrics[{index}].provider.prometheus.query is empty")
            found.append(
                AnalysisQuery(
                    template=key,
                    metric=str(metric.get("name", f"metrics[{index}]")),
                    query=query.strip(),
                    success_condition=str(metric.get("successCondition", "")),
                    failure_condition=str(metric.get("failureCondition", "")),
                    args=query_args(query),
                )
            )
    return found
