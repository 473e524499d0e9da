"""PromQL parsing (promql-parser, the Rust parser's Python binding) and variable substitution."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import promql_parser

from paystream_ops.errors import UserError

# MatchOp values are not hashable: look them up by their repr (`MatchOp.Re`).
_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}
# Longest names first so `$window` never eats the start of `$window_seconds`.
_GRAFANA_VAR = re.compile(r"\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z0-9_]+)")


def parse(expr: str, *, where: str) -> promql_parser.Expr:
    try:
        return promql_parser.parse(expr)
    except Exception as exc:  # the binding raises a bare Exception with the parser's message
        raise UserError(f"{where}: invalid PromQL: {exc}") from exc


def _selector_text(node: promql_parser.VectorSelector) -> str:
    """`name{label="value", ...}` without offset or @: the series the node reads, now."""
    matchers = [
        f"{m.name}{_OPS[str(m.op)]}{json.dumps(m.value)}"
        for m in node.matchers.matchers
        if not (m.name == "__name__" and node.name)
    ]
    return f"{node.name or ''}{{{', '.join(matchers)}}}"


def selectors(expr: str, *, where: str = "expression") -> list[str]:
    """Every series selector an expression reads, each once, in order of appearance."""
    found: list[str] = []

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(_selector_text(node))
            return
        if isinstance(node, promql_parser.MatrixSelector):
            found.append(_selector_text(node.vector_selector))
            return
        if isinstance(node, promql_parser.Call):
            for arg in node.args:
                visit(arg)
            return
        for attr in ("param", "expr", "lhs", "rhs"):
            child = getattr(node, attr, None)
            if isinstance(child, promql_parser.Expr):
                visit(child)

    visit(parse(expr, where=where))
    return list(dict.fromkeys(found))


def substitute_grafana(expr: str, values: Mapping[str, str], *, where: str) -> str:
    """Replace Grafana's `$name` / `${name}` variables; an unknown variable is a UserError."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise UserError(f"{where}: no value for the dashboard variable ${name}")
        return values[name]

    return _GRAFANA_VAR.sub(one, expr)
