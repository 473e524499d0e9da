"""`vault bootstrap`: read what Vault has, plan against the desired state, apply the difference."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from paystream_ops.vault import contract
from paystream_ops.vault.client import VaultClient
from paystream_ops.vault.desired import BootstrapSettings, Kind, Resource, desired_resources
from paystream_ops.vault.plan import Plan, SecretState, build_plan, project
from paystream_ops.vault.values import SecretValue
from paystream_ops.vault.version_retention import parse_vault_time


def read_actual(
    client: VaultClient, resources: Sequence[Resource]
) -> dict[str, dict[str, Any] | None]:
    """What Vault has for each resource, projected to the fields we own (None: absent)."""
    mounts = client.mounts()
    auths = client.auth_methods()
    actual: dict[str, dict[str, Any] | None] = {}
    for resource in resources:
        raw: Mapping[str, Any] | None
        if resource.parent is not None and actual.get(resource.parent) is None:
            raw = None  # lives under a mount that does not exist yet
        elif resource.kind is Kind.SECRETS_ENGINE:
            raw = mounts.get(resource.name)
        elif resource.kind is Kind.AUTH_METHOD:
            raw = auths.get(resource.name)
        else:
            raw = client.read(resource.read_path)
        actual[resource.read_path] = None if raw is None else project(resource, raw)
    return actual


def secret_state(raw: Mapping[str, Any] | None, now: datetime) -> SecretState | None:
    """From `GET <mount>/metadata/<path>`: the current version and whether it can be read."""
    if raw is None:
        return None
    current = int(raw.get("current_version", 0))
    info = (raw.get("versions") or {}).get(str(current))
    if not current or info is None or info.get("destroyed"):
        return SecretState(current, False)
    deletion = info.get("deletion_time") or ""
    readable = not deletion or parse_vault_time(deletion, "deletion_time") > now
    return SecretState(current, readable)


def plan_bootstrap(
    client: VaultClient,
    settings: BootstrapSettings,
    seeds: Mapping[str, SecretValue],
    generate: Callable[[], SecretValue] | None,
    now: datetime | None = None,
) -> Plan:
    resources = desired_resources(settings)
    actual = read_actual(client, resources)
    moment = now or datetime.now(UTC)
    kv_exists = actual.get(f"sys/mounts/{contract.KV_MOUNT}") is not None
    states = {
        name: secret_state(
            client.read(contract.kv_metadata_api_path(settings.env, name)) if kv_exists else None,
            moment,
        )
        for name in contract.SECRET_NAMES
    }
    return build_plan(settings.env, resources, actual, states, seeds, generate)


def apply_plan(client: VaultClient, plan: Plan) -> None:
    """Write in plan order: mounts before what lives in them, settings before values."""
    for resource in plan.resource_writes:
        client.write(resource.write_path, resource.payload)
    for write in plan.secret_writes:
        client.write(
            f"{contract.KV_MOUNT}/data/{write.path}",
            {
                "data": {contract.SECRET_PROPERTY: write.value.reveal()},
                "options": {"cas": write.cas},
            },
        )
