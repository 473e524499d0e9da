"""Judge expressions against a live Prometheus: each must parse, and read series that exist.

Pure over a `query` function (an instant query returning Prometheus' `result` list, raising
UserError on a query error), so the rules are testable without a server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from paystream_ops.errors import UserError
from paystream_ops.monitoring.expressions import Expression
from paystream_ops.monitoring.promql import selectors

Query = Callable[[str], list[dict[str, Any]]]


@dataclass(frozen=True)
class Finding:
    source: str
    expr: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source}: {self.problem}"


def check(expressions: Iterable[Expression], query: Query) -> list[Finding]:
    """Every problem found; an empty list means every expression works on this data."""
    findings: list[Finding] = []
    seen: dict[str, bool] = {}

    def has_data(expr: str) -> bool:
        if expr not in seen:
            seen[expr] = bool(query(expr))
        return seen[expr]

    for expression in expressions:
        try:
            result = query(expression.expr)
            selector_list = selectors(expression.expr, where=expression.source)
        except UserError as exc:
            findings.append(Finding(expression.source, expression.expr, str(exc)))
            continue
        if expression.must_return_data and not result:
            findings.append(Finding(expression.source, expression.expr, "returned no data"))
        for selector in selector_list:
            if not has_data(selector):
                findings.append(
                    Finding(expression.source, expression.expr, f"{selector} matches no series")
                )
    return findings
