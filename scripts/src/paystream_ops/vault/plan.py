"""Desired vs actual: what bootstrap creates, updates or leaves alone (pure, no I/O).

`actual` maps a resource's read path to what Vault returned for it (already projected by
`project`), or None when it does not exist. Secret *values* are planned separately: bootstrap
creates a missing secret and never overwrites an existing one (that is `vault rotate`'s job).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from paystream_ops.errors import UserError
from paystream_ops.vault import contract
from paystream_ops.vault.desired import Kind, Resource
from paystream_ops.vault.values import SecretValue


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Change:
    """One line of the plan. Never holds a secret value, only names."""

    kind: str
    name: str
    action: Action
    changed_fields: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class SecretState:
    """What Vault holds for one secret: its current version and whether that one is readable."""

    current_version: int
    current_readable: bool


@dataclass(frozen=True)
class SecretWrite:
    name: str
    path: str  # inside the KV mount
    cas: int  # the write fails if another writer got there between plan and apply
    value: SecretValue
    source: str  # "seed" or "generated"


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    resource_writes: tuple[Resource, ...] = ()
    secret_writes: tuple[SecretWrite, ...] = field(default=())

    def counts(self) -> dict[str, int]:
        counted = Counter(change.action.value for change in self.changes)
        return {action.value: counted.get(action.value, 0) for action in Action}

    @property
    def is_noop(self) -> bool:
        return all(change.action is Action.UNCHANGED for change in self.changes)


def _normalise(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return sorted((_normalise(item) for item in value), key=repr)
    if isinstance(value, Mapping):
        return {str(key): _normalise(item) for key, item in value.items()}
    return value


def project(resource: Resource, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Reduce what Vault returned to the fields this tool owns, in the desired shape."""
    if resource.kind is Kind.SECRETS_ENGINE:
        options = raw.get("options") or {}
        version = options.get("version", "1") if raw.get("type") == "kv" else None
        return {"type": raw.get("type"), "version": version}
    if resource.kind is Kind.AUTH_METHOD:
        return {"type": raw.get("type")}
    projected = {key: raw.get(key) for key in resource.fields}
    if "custom_metadata" in projected and projected["custom_metadata"] is None:
        projected["custom_metadata"] = {}
    return projected


def diff_resource(resource: Resource, actual: Mapping[str, Any] | None) -> Change:
    if actual is None:
        return Change(resource.kind.value, resource.name, Action.CREATE)
    changed = tuple(
        sorted(
            key
            for key, want in resource.fields.items()
            if _normalise(want) != _normalise(actual.get(key))
        )
    )
    if not changed:
        return Change(resource.kind.value, resource.name, Action.UNCHANGED)
    if resource.create_only:
        found = ", ".join(f"{key}={actual.get(key)!r}" for key in changed)
        wanted = ", ".join(f"{key}={resource.fields[key]!r}" for key in changed)
        raise UserError(
            f"{resource.read_path}: exists with {found}; expected {wanted}. Refusing to "
            "change a mount in place (it holds data): move or remove it by hand first"
        )
    return Change(resource.kind.value, resource.name, Action.UPDATE, changed)


def plan_secrets(
    env: str,
    states: Mapping[str, SecretState | None],
    seeds: Mapping[str, SecretValue],
    generate: Callable[[], SecretValue] | None,
) -> tuple[list[Change], list[SecretWrite]]:
    """Create each missing secret from a seed or, if allowed, a generated value.

    A secret that exists is left alone even when a seed is given: re-running bootstrap must
    never roll back a rotation. A secret whose current version was deleted counts as missing
    (the next version is written with check-and-set on that version number).
    """
    changes: list[Change] = []
    writes: list[SecretWrite] = []
    missing: list[str] = []
    for name in contract.SECRET_NAMES:
        state = states.get(name)
        label = contract.secret_full_path(env, name)
        if state is not None and state.current_readable:
            note = (
                "exists; bootstrap never overwrites (use `vault rotate`)" if name in seeds else ""
            )
            changes.append(Change("secret", label, Action.UNCHANGED, note=note))
            continue
        current = state.current_version if state is not None else 0
        if name in seeds:
            value, source = seeds[name], "seed"
        elif generate is not None:
            value, source = generate(), "generated"
        else:
            missing.append(name)
            continue
        note = f"{source} value" + (
            f"; version {current} was deleted" if state is not None and current else ""
        )
        changes.append(Change("secret", label, Action.CREATE, ("value",), note))
        writes.append(SecretWrite(name, contract.secret_path(env, name), current, value, source))
    if missing:
        raise UserError(
            f"{env}: no value for missing secret(s) {', '.join(missing)}: give them in "
            "--secrets-file (a JSON object; `-` reads stdin) or pass --generate"
        )
    return changes, writes


def build_plan(
    env: str,
    resources: Sequence[Resource],
    actual: Mapping[str, Mapping[str, Any] | None],
    states: Mapping[str, SecretState | None],
    seeds: Mapping[str, SecretValue],
    generate: Callable[[], SecretValue] | None,
) -> Plan:
    changes = [diff_resource(resource, actual.get(resource.read_path)) for resource in resources]
    writes = tuple(
        resource
        for resource, change in zip(resources, changes, strict=True)
        if change.action is not Action.UNCHANGED
    )
    secret_changes, secret_writes = plan_secrets(env, states, seeds, generate)
    return Plan(tuple(changes + secret_changes), writes, tuple(secret_writes))
