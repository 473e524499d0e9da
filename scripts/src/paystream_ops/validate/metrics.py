"""Metric names: what the service exports (read from its source) and what PromQL uses.

The service's names come from its prometheus_client definitions (``Counter("name", ...)`` and
friends), expanded the way the client exposes them (a Counter ``x`` is ``x_total``, a Histogram
``x`` is ``x_bucket``/``x_count``/``x_sum``). Until the service defines any, the names in
DESIGN.md's contract stand in, so the manifests can be checked while it is being written.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

SERVICE_PACKAGE = Path("service/src/paystream_auth")
SERVICE_PREFIX = "paystream_auth_"

# DESIGN.md "Contracts between the parts": the names every consumer relies on.
CONTRACT_METRICS: dict[str, str] = {
    "paystream_auth_requests": "Counter",
    "paystream_auth_request_duration_seconds": "Histogram",
    "paystream_auth_circuit_breaker_state": "Gauge",
    "paystream_auth_circuit_breaker_transitions": "Counter",
    "paystream_auth_build": "Info",
}

_SUFFIXES: dict[str, tuple[str, ...]] = {
    "Counter": ("_total", "_created"),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_count", "_sum", "_created"),
    "Summary": ("", "_count", "_sum", "_created"),
    "Info": ("_info",),
    "Enum": ("",),
}


def exposed_names(name: str, kind: str) -> set[str]:
    if kind == "Counter":
        name = name.removesuffix("_total")
    return {name + suffix for suffix in _SUFFIXES[kind]}


def definitions_in_source(source: str) -> Iterator[tuple[str, str]]:
    """(name, kind) of every prometheus_client metric a module defines with a literal name."""
    tree = ast.parse(source)
    constants = {
        target.id: node.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        kind = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if kind not in _SUFFIXES:
            continue
        raw = (
            node.args[0]
            if node.args
            else next((k.value for k in node.keywords if k.arg == "name"), None)
        )
        name = _literal(raw, constants)
        if name is None:
            continue
        parts = [
            _literal(k.value, constants)
            for k in node.keywords
            if k.arg in ("namespace", "subsystem")
        ]
        full = "_".join([p for p in parts if p] + [name])
        yield full, kind


def _literal(node: ast.expr | None, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def service_metrics(root: Path) -> tuple[frozenset[str], str]:
    """Exported names and where they came from (the service source, or the contract)."""
    names: set[str] = set()
    package = root / SERVICE_PACKAGE
    if package.is_dir():
        for path in sorted(package.rglob("*.py")):
            try:
                source = path.read_text(encoding="utf-8")
                found = list(definitions_in_source(source))
            except (SyntaxError, UnicodeDecodeError):
                continue
            for name, kind in found:
                names |= exposed_names(name, kind)
    if any(n.startswith(SERVICE_PREFIX) for n in names):
        return frozenset(names), str(SERVICE_PACKAGE)
    contract = set()
    for name, kind in CONTRACT_METRICS.items():
        contract |= exposed_names(name, kind)
    return frozenset(contract), "DESIGN.md contract (no metric definitions in the service yet)"


_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_TEMPLATES = re.compile(r"\{\{.*?\}\}|\$\{[^}]*\}|\$\w+", re.DOTALL)
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w:.])([A-Za-z_:][A-Za-z0-9_:]*)\s*(\()?")
_KEYWORDS = frozenset(
    {
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "and",
        "or",
        "unless",
        "offset",
        "atan2",
        "inf",
        "nan",
        "start",
        "end",
    }
)


def metric_names(expr: str) -> set[str]:
    """Metric (and recording-rule) names a PromQL expression reads."""
    text = _TEMPLATES.sub(" 1 ", expr)
    text = _STRINGS.sub('""', text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _LABEL_LISTS.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def unknown_service_metrics(exprs: Iterable[str], exported: frozenset[str]) -> set[str]:
    used = set().union(*(metric_names(e) for e in exprs)) if exprs else set()
    return {n for n in used if n.startswith(SERVICE_PREFIX) and n not in exported}
