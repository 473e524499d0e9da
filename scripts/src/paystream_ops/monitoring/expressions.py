"""Collect every PromQL expression the platform runs, each with where it came from.

Sources: PrometheusRule rules, AnalysisTemplate queries (args filled in), and the dashboard's
panel targets, annotations and query variables (Grafana variables substituted).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from paystream_ops.dashboards.analysis import AnalysisQuery, fill_args
from paystream_ops.errors import UserError
from paystream_ops.monitoring.promql import substitute_grafana
from paystream_ops.monitoring.rule_files import Rule

_LABEL_VALUES = re.compile(
    r"^\s*label_values\((?P<selector>.+),\s*(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.S
)


@dataclass(frozen=True)
class Expression:
    source: str
    kind: str  # record, alert, analysis, panel, annotation, variable
    expr: str
    # An alert's condition is empty while nothing is wrong: only its selectors must match data.
    # Everything else is a value someone reads and must answer.
    must_return_data: bool


def rule_expressions(rules: Iterable[Rule]) -> list[Expression]:
    return [
        Expression(rule.source, rule.kind, rule.expr, must_return_data=rule.kind == "record")
        for rule in rules
    ]


def analysis_expressions(
    queries: Iterable[AnalysisQuery], args: Mapping[str, str]
) -> list[Expression]:
    out: list[Expression] = []
    for query in queries:
        where = f"{query.template} metric {query.metric}"
        out.append(Expression(where, "analysis", fill_args(query.query, args, where=where), True))
    return out


def _panels(panels: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels") or [])


def dashboard_expressions(
    dashboard: Mapping[str, Any], variables: Mapping[str, str], *, name: str = "dashboard"
) -> list[Expression]:
    """Panel targets, annotation queries and `label_values` variable selectors, substituted."""
    out: list[Expression] = []
    for panel in _panels(dashboard.get("panels") or []):
        for target in panel.get("targets") or []:
            expr = target.get("expr")
            if not expr:
                continue
            where = f"{name} panel {panel.get('id')} {panel.get('title')!r} {target.get('refId')}"
            out.append(
                Expression(where, "panel", substitute_grafana(expr, variables, where=where), True)
            )
    for annotation in (dashboard.get("annotations") or {}).get("list") or []:
        expr = annotation.get("expr")
        if expr:
            where = f"{name} annotation {annotation.get('name')!r}"
            out.append(
                Expression(
                    where, "annotation", substitute_grafana(expr, variables, where=where), True
                )
            )
    for variable in (dashboard.get("templating") or {}).get("list") or []:
        if variable.get("type") != "query":
            continue
        where = f"{name} variable ${variable.get('name')}"
        match = _LABEL_VALUES.match(str(variable.get("query", "")))
        if match is None:
            raise UserError(f"{where}: query is not label_values(SELECTOR, LABEL)")
        selector = substitute_grafana(match["selector"], variables, where=where)
        out.append(Expression(where, "variable", selector, True))
    return out
