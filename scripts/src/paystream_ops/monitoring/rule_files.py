"""Prometheus rule files from rendered PrometheusRule objects (what the operator would load)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from paystream_ops.errors import UserError
from paystream_ops.render import K8sObject, object_key

PROMETHEUS_RULE = "PrometheusRule"


@dataclass(frozen=True)
class RuleFile:
    """The `spec` of one PrometheusRule: a Prometheus rule file of its own."""

    source: str  # `PrometheusRule/namespace/name`
    groups: list[dict[str, Any]]

    @property
    def filename(self) -> str:
        return self.source.replace("/", "_") + ".yaml"

    def text(self) -> str:
        return yaml.safe_dump({"groups": self.groups}, sort_keys=False, width=10_000)


@dataclass(frozen=True)
class Rule:
    source: str  # `PrometheusRule/ns/name group[i] rule[j] (name)`
    kind: str  # "record" or "alert"
    name: str
    expr: str
    labels: dict[str, str]
    annotations: dict[str, str]


def rule_files(objects: Iterable[K8sObject]) -> list[RuleFile]:
    files: list[RuleFile] = []
    for obj in objects:
        if obj.get("kind") != PROMETHEUS_RULE:
            continue
        key = object_key(obj)
        groups = (obj.get("spec") or {}).get("groups")
        if not isinstance(groups, list) or not groups:
            raise UserError(f"{key}: spec.groups is empty")
        files.append(RuleFile(key, groups))
    return files


def rules(files: Iterable[RuleFile]) -> list[Rule]:
    found: list[Rule] = []
    for file in files:
        for gi, group in enumerate(file.groups):
            for ri, rule in enumerate(group.get("rules") or []):
                kind = "alert" if "alert" in rule else "record"
                name = str(rule.get(kind, ""))
                where = f"{file.source} groups[{gi}].rules[{ri}] ({name})"
                expr = rule.get("expr")
                if not isinstance(expr, str) or not expr.strip():
                    raise UserError(f"{where}: expr is empty")
                found.append(
                    Rule(
                        source=where,
                        kind=kind,
                        name=name,
                        expr=expr.strip(),
                        labels={str(k): str(v) for k, v in (rule.get("labels") or {}).items()},
                        annotations={
                            str(k): str(v) for k, v in (rule.get("annotations") or {}).items()
                        },
                    )
                )
    return found


def write_rule_files(files: Iterable[RuleFile], directory: Path) -> list[Path]:
    """One Prometheus rule file per PrometheusRule, as Prometheus and promtool read them."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for file in files:
        path = directory / file.filename
        path.write_text(file.text())
        paths.append(path)
    return paths
