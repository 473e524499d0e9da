"""Which versions a rotation keeps readable, and for how long (pure, no I/O).

KV v2 gives two knobs and neither is a grace period on its own:

- `max_versions` destroys the oldest versions once a secret has more than N, whatever their
  age: two quick rotations with N=2 would destroy the version pods were still using.
- `delete_version_after` stamps *every* new version with `deletion_time = created_time + d`,
  including the one that is current. A secret that is not rotated within `d` disappears, and
  ESO then finds no data. We never set it (bootstrap writes "0s").

So the rule lives here and `vault rotate` applies it: when version N+1 is written, version N
stays readable for at least `grace` (stored per secret in custom_metadata by bootstrap).
An older version v is soft-deleted by the first rotation that happens after
`created_time(v+1) + grace`; soft-deleted versions can still be undeleted by an operator until
`max_versions` destroys them. A rotation that would make `max_versions` destroy a version still
inside its grace period is refused unless forced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from paystream_ops.errors import UserError
from paystream_ops.vault.desired import GRACE_METADATA_KEY

_VAULT_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$")


def parse_vault_time(text: str, where: str) -> datetime:
    """Vault's RFC 3339 timestamps carry nanoseconds; Python keeps microseconds."""
    match = _VAULT_TIME.match(text)
    if match is None:
        raise UserError(f"{where}: unexpected timestamp {text!r}")
    base, fraction, zone = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    offset = "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(f"{base}.{micro}{offset}").astimezone(UTC)


@dataclass(frozen=True)
class VersionInfo:
    version: int
    created: datetime
    readable: bool  # not destroyed and not (soft-)deleted as of `now`


@dataclass(frozen=True)
class SecretMetadata:
    path: str
    current_version: int
    max_versions: int
    grace: timedelta
    delete_version_after: str
    versions: tuple[VersionInfo, ...]

    def version(self, number: int) -> VersionInfo | None:
        return next((info for info in self.versions if info.version == number), None)


def parse_metadata(raw: Mapping[str, Any], path: str, now: datetime) -> SecretMetadata:
    """Vault's `GET <mount>/metadata/<path>` data, checked to be one bootstrap set up."""
    custom = raw.get("custom_metadata") or {}
    grace_text = custom.get(GRACE_METADATA_KEY)
    if grace_text is None or not str(grace_text).isdigit():
        raise UserError(
            f"{path}: custom_metadata.{GRACE_METADATA_KEY} is missing: the secret was not "
            "set up by `paystream-ops vault bootstrap`; run it for this environment first"
        )
    versions: list[VersionInfo] = []
    for number, info in (raw.get("versions") or {}).items():
        deletion = info.get("deletion_time") or ""
        deleted = bool(deletion) and parse_vault_time(deletion, f"{path}: v{number}") <= now
        versions.append(
            VersionInfo(
                version=int(number),
                created=parse_vault_time(info["created_time"], f"{path}: v{number}"),
                readable=not info.get("destroyed", False) and not deleted,
            )
        )
    return SecretMetadata(
        path=path,
        current_version=int(raw.get("current_version", 0)),
        max_versions=int(raw.get("max_versions", 0)),
        grace=timedelta(seconds=int(grace_text)),
        delete_version_after=str(raw.get("delete_version_after", "0s")),
        versions=tuple(sorted(versions, key=lambda info: info.version)),
    )


@dataclass(frozen=True)
class RotationPlan:
    previous_version: int
    previous_readable: bool
    new_version: int
    # The previous version stays readable at least until then.
    previous_kept_until: datetime
    # Older versions whose grace period is over: soft-deleted after the write.
    retire: tuple[int, ...]
    # Versions max_versions would destroy although they are still in their grace period.
    evicted_in_grace: tuple[int, ...]


def superseded_at(meta: SecretMetadata, number: int, now: datetime) -> datetime:
    """When `number` stopped being current: the next version's creation (now for the current)."""
    later = [info.created for info in meta.versions if info.version > number]
    return min(later) if later else now


def plan_rotation(meta: SecretMetadata, now: datetime) -> RotationPlan:
    if meta.delete_version_after not in ("0s", "0"):
        raise UserError(
            f"{meta.path}: delete_version_after is {meta.delete_version_after}: it would also "
            "expire the current version; re-run `vault bootstrap` to reset it to 0s"
        )
    if meta.max_versions and meta.max_versions < 2:
        raise UserError(
            f"{meta.path}: max_versions is {meta.max_versions}: a rotation would destroy the "
            "previous version at once; re-run `vault bootstrap`"
        )
    new_version = meta.current_version + 1
    current = meta.version(meta.current_version)
    retire: list[int] = []
    evicted: list[int] = []
    # Vault keeps the newest max_versions versions after the write (0 means its default, 10).
    keep_from = new_version - (meta.max_versions or 10) + 1
    for info in meta.versions:
        if not info.readable:
            continue
        in_grace = (
            info.version == meta.current_version
            or superseded_at(meta, info.version, now) + meta.grace > now
        )
        if info.version < keep_from:
            if in_grace:
                evicted.append(info.version)
        elif not in_grace:
            retire.append(info.version)
    return RotationPlan(
        previous_version=meta.current_version,
        previous_readable=current is not None and current.readable,
        new_version=new_version,
        previous_kept_until=now + meta.grace,
        retire=tuple(retire),
        evicted_in_grace=tuple(evicted),
    )
