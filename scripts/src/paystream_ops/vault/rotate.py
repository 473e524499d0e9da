"""`vault rotate`: write the next version, keep the previous one for the grace period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from paystream_ops.errors import UserError
from paystream_ops.vault import contract
from paystream_ops.vault.client import VaultClient
from paystream_ops.vault.values import SecretValue
from paystream_ops.vault.version_retention import RotationPlan, parse_metadata, plan_rotation


@dataclass(frozen=True)
class RotationResult:
    path: str
    new_version: int
    plan: RotationPlan


def rotate(
    client: VaultClient,
    env: str,
    name: str,
    value: SecretValue,
    *,
    force: bool = False,
    now: datetime | None = None,
) -> RotationResult:
    contract.check_env(env)
    contract.check_rotatable(name)
    path = contract.secret_path(env, name)
    label = contract.secret_full_path(env, name)
    moment = now or datetime.now(UTC)
    raw = client.read(contract.kv_metadata_api_path(env, name))
    if raw is None:
        raise UserError(
            f"{label}: does not exist: run `paystream-ops vault bootstrap --env {env}` first"
        )
    meta = parse_metadata(raw, label, moment)
    plan = plan_rotation(meta, moment)
    if plan.evicted_in_grace and not force:
        versions = ", ".join(str(v) for v in plan.evicted_in_grace)
        raise UserError(
            f"{label}: max_versions={meta.max_versions} would destroy version(s) {versions} "
            "still inside their grace period; wait, raise --max-versions with bootstrap, or "
            "pass --force"
        )
    if plan.previous_readable:
        current = client.read(contract.kv_data_api_path(env, name)) or {}
        data = current.get("data") or {}
        if data.get(contract.SECRET_PROPERTY) == value.reveal():
            raise UserError(f"{label}: the new value equals the current one; nothing rotated")
    try:
        response = client.write(
            contract.kv_data_api_path(env, name),
            {
                "data": {contract.SECRET_PROPERTY: value.reveal()},
                "options": {"cas": meta.current_version},
            },
        )
    except UserError as exc:
        if "check-and-set" in str(exc):
            raise UserError(
                f"{label}: another writer changed the secret during the rotation; re-run"
            ) from None
        raise
    new_version = int(((response or {}).get("data") or {}).get("version", plan.new_version))
    client.delete_versions(contract.KV_MOUNT, path, plan.retire)
    return RotationResult(path=label, new_version=new_version, plan=plan)
