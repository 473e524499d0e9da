"""Plain data shared by the validator's layers: problems, rendered targets, objects."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

K8sObject = dict[str, Any]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong, printed as ``target: Kind/name: field: message``."""

    target: str
    obj: str
    field: str
    message: str
    check: str = ""

    def line(self) -> str:
        parts = [self.target]
        if self.obj:
            parts.append(self.obj)
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


def obj_id(obj: K8sObject) -> str:
    """``Kind/name``: how problems name an object (the target already names the namespace)."""
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', '<no kind>')}/{meta.get('name', '<unnamed>')}"


def group_of(obj: K8sObject) -> str:
    api_version = str(obj.get("apiVersion", ""))
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def name_of(obj: K8sObject) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def namespace_of(obj: K8sObject) -> str:
    return str((obj.get("metadata") or {}).get("namespace", ""))


def labels_of(obj: K8sObject) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def annotations_of(obj: K8sObject) -> dict[str, str]:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return {str(k): str(v) for k, v in annotations.items()}


def dig(obj: Any, *path: str | int) -> Any:
    """``obj[path[0]][path[1]]...`` or None when any step is missing or of the wrong type."""
    current = obj
    for step in path:
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                return None
        elif not isinstance(current, dict):
            return None
        current = current[step] if isinstance(step, int) else current.get(step)
        if current is None:
            return None
    return current


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Target:
    """A Kustomize path to render, named as problems show it (relative to the repo root)."""

    name: str
    path: Path


@dataclass
class Rendered:
    """A target's rendered objects (or why it could not be rendered)."""

    target: Target
    objects: list[K8sObject] = field(default_factory=list)
    error: str = ""

    def of_kind(self, *kinds: str) -> Iterator[K8sObject]:
        return (o for o in self.objects if o.get("kind") in kinds)

    def find(self, kind: str, name: str) -> K8sObject | None:
        for obj in self.objects:
            if obj.get("kind") == kind and name_of(obj) == name:
                return obj
        return None


def sorted_problems(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(set(problems), key=lambda p: (p.target, p.obj, p.field, p.message))
