"""Pure: compare two sets of rendered objects, object by object and field by field."""

from __future__ import annotations

import difflib
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from paystream_ops.render import K8sObject

PathT = tuple[str, ...]
MISSING: Any = object()


def object_id(obj: K8sObject) -> str:
    """`Kind.group namespace/name`, unique across API groups (istio vs Gateway API Gateway)."""
    api = str(obj.get("apiVersion", ""))
    group = api.split("/")[0] if "/" in api else ""
    kind = str(obj.get("kind", "<no kind>"))
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace"), meta.get("name", "<unnamed>")
    qualified = f"{kind}.{group}" if group else kind
    return f"{qualified} {ns}/{name}" if ns else f"{qualified} {name}"


def redact_secrets(obj: K8sObject, key: bytes) -> K8sObject:
    """A Secret's values never reach a pull-request comment: each becomes a keyed hash that
    only says whether it changed within this diff (the key is random per run)."""
    if obj.get("kind") != "Secret" or obj.get("apiVersion") != "v1":
        return obj
    clean = dict(obj)
    for section in ("data", "stringData"):
        values = obj.get(section)
        if isinstance(values, dict):
            clean[section] = {
                k: "<redacted "
                + hmac.new(key, str(v).encode(), hashlib.sha256).hexdigest()[:12]
                + ">"
                for k, v in values.items()
            }
    return clean


def dump(obj: K8sObject) -> str:
    # libyaml's emitter: the same text as yaml.safe_dump for anything Kubernetes accepts (it
    # differs only on mapping keys holding control characters), several times faster.
    return yaml.dump(
        obj, Dumper=yaml.CSafeDumper, sort_keys=True, default_flow_style=False, width=1_000_000
    )


@dataclass(frozen=True)
class FieldChange:
    path: PathT
    old: Any
    new: Any


@dataclass(frozen=True)
class ObjectChange:
    target: str
    object_id: str
    kind: str
    status: str  # added, removed, changed
    old: K8sObject | None
    new: K8sObject | None
    diff: str
    fields: tuple[FieldChange, ...] = field(default=())


def _named(items: list[Any]) -> dict[str, Any] | None:
    if not items or not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        return None
    names = [i["name"] for i in items]
    return dict(zip(names, items, strict=True)) if len(set(names)) == len(names) else None


def field_changes(old: Any, new: Any, path: PathT = ()) -> list[FieldChange]:
    """Leaf-level differences. List items with a `name` are matched by name (`[name=x]`),
    other lists by position when their length is unchanged, else as a whole."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[FieldChange] = []
        for key in sorted(set(old) | set(new), key=str):
            out += field_changes(old.get(key, MISSING), new.get(key, MISSING), (*path, str(key)))
        return out
    if isinstance(old, list) and isinstance(new, list):
        old_named, new_named = _named(old), _named(new)
        if old_named is not None and new_named is not None:
            out = []
            for name in sorted(set(old_named) | set(new_named)):
                out += field_changes(
                    old_named.get(name, MISSING),
                    new_named.get(name, MISSING),
                    (*path, f"[name={name}]"),
                )
            return out
        if len(old) == len(new):
            out = []
            for i, (a, b) in enumerate(zip(old, new, strict=True)):
                out += field_changes(a, b, (*path, f"[{i}]"))
            return out
    if old == new:
        return []
    return [FieldChange(path, None if old is MISSING else old, None if new is MISSING else new)]


def unified(old_text: str, new_text: str, label: str) -> str:
    lines = difflib.unified_diff(
        old_text.splitlines(keepends=True),
        new_text.splitlines(keepends=True),
        fromfile=f"a/{label}",
        tofile=f"b/{label}",
        n=3,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def diff_target(
    target: str, old_objects: Iterable[K8sObject], new_objects: Iterable[K8sObject], key: bytes
) -> list[ObjectChange]:
    old_by_id = {object_id(o): redact_secrets(o, key) for o in old_objects}
    new_by_id = {object_id(o): redact_secrets(o, key) for o in new_objects}
    changes: list[ObjectChange] = []
    for oid in sorted(set(old_by_id) | set(new_by_id)):
        old, new = old_by_id.get(oid), new_by_id.get(oid)
        old_text, new_text = dump(old) if old else "", dump(new) if new else ""
        if old_text == new_text:
            continue
        status = "added" if old is None else "removed" if new is None else "changed"
        kind = str((new or old or {}).get("kind", ""))
        changes.append(
            ObjectChange(
                target=target,
                object_id=oid,
                kind=kind,
                status=status,
                old=old,
                new=new,
                diff=unified(old_text, new_text, f"{target}/{oid.replace(' ', '/')}"),
                fields=tuple(field_changes(old, new)) if status == "changed" else (),
            )
        )
    return changes
