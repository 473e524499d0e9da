"""What a bootstrapped environment looks like in Vault, as plain data (no I/O).

Each `Resource` names the Vault API path that reads it, the path that writes it, the fields this
tool owns (compared with what Vault reports) and the payload that sets them. Fields Vault adds
on its own (accessors, timestamps, defaults we do not care about) are never compared, so a
second bootstrap sees "unchanged" instead of fighting Vault's defaults.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from paystream_ops.errors import UserError
from paystream_ops.vault import contract
from paystream_ops.vault.policy import read_policy_hcl

# In-cluster default: Vault runs as a pod of the cluster whose tokens it reviews.
DEFAULT_KUBERNETES_HOST = "https://kubernetes.default.svc:443"
# ESO logs in again on every reconcile that has no cached client; a short token is enough and
# limits what a leaked ESO token can do.
ESO_TOKEN_TTL_SECONDS = 600
# How long the previous version of a rotated secret stays readable (see rotation.py).
DEFAULT_ROTATION_GRACE_SECONDS = 24 * 3600
# Versions Vault keeps per secret. Must be >= 2 so the previous version survives one rotation;
# 10 bounds how much old key material Vault holds.
DEFAULT_MAX_VERSIONS = 10
GRACE_METADATA_KEY = "rotation_grace_seconds"
MANAGED_BY_METADATA_KEY = "managed_by"
MANAGED_BY = "paystream-ops"


class Kind(enum.StrEnum):
    SECRETS_ENGINE = "secrets-engine"
    POLICY = "policy"
    AUTH_METHOD = "auth-method"
    AUTH_CONFIG = "auth-config"
    ROLE = "role"
    SECRET_SETTINGS = "secret-settings"  # noqa: S105 (a kind label)


@dataclass(frozen=True)
class Resource:
    kind: Kind
    name: str
    read_path: str
    write_path: str
    fields: Mapping[str, Any]
    payload: Mapping[str, Any]
    # Secrets engines and auth methods hold data: never changed in place, only created.
    create_only: bool = False
    # The resource lives under another one being created (e.g. a role under a new auth mount).
    parent: str | None = None


@dataclass(frozen=True)
class KubernetesAuth:
    """How Vault reaches the cluster's API server to review ESO's service-account token.

    With a CA certificate, Vault runs outside the cluster (one Vault, one auth mount per
    cluster): it reviews each client's own JWT against `host`. Without one, Vault runs inside
    the cluster and uses its own pod's CA and token.
    """

    host: str = DEFAULT_KUBERNETES_HOST
    ca_cert_pem: str | None = None


@dataclass(frozen=True)
class BootstrapSettings:
    env: str
    kubernetes: KubernetesAuth = field(default_factory=KubernetesAuth)
    rotation_grace_seconds: int = DEFAULT_ROTATION_GRACE_SECONDS
    max_versions: int = DEFAULT_MAX_VERSIONS

    def __post_init__(self) -> None:
        contract.check_env(self.env)
        if self.max_versions < 2:
            raise UserError(
                f"--max-versions: {self.max_versions}; at least 2 so the previous version "
                "survives a rotation"
            )
        if self.rotation_grace_seconds < 0:
            raise UserError(f"--rotation-grace-seconds: {self.rotation_grace_seconds} is negative")
        if not self.kubernetes.host.startswith(("https://", "http://")):
            raise UserError(
                f"--kubernetes-host: {self.kubernetes.host!r} is not a URL (https://host:port)"
            )


def secret_settings_fields(settings: BootstrapSettings) -> dict[str, Any]:
    return {
        "max_versions": settings.max_versions,
        # Never set: KV v2 stamps every new version, the current one included, with
        # deletion_time = created_time + delete_version_after. A secret nobody rotated in time
        # would vanish from under ESO (tests/vault proves it). The grace period is enforced by
        # `vault rotate` instead (rotation.py).
        "delete_version_after": "0s",
        "custom_metadata": {
            GRACE_METADATA_KEY: str(settings.rotation_grace_seconds),
            MANAGED_BY_METADATA_KEY: MANAGED_BY,
        },
    }


def desired_resources(settings: BootstrapSettings) -> list[Resource]:
    """Everything but the secret values, in the order they must be applied."""
    env = settings.env
    mount = contract.auth_mount(env)
    policy = contract.policy_name(env)
    role = contract.role_name(env)
    kube = settings.kubernetes
    auth_config: dict[str, Any] = {
        "kubernetes_host": kube.host,
        "kubernetes_ca_cert": kube.ca_cert_pem or "",
        "disable_local_ca_jwt": kube.ca_cert_pem is not None,
    }
    role_fields: dict[str, Any] = {
        "bound_service_account_names": [contract.ESO_SERVICE_ACCOUNT],
        "bound_service_account_namespaces": [contract.ESO_NAMESPACE],
        "token_policies": [policy],
        "token_ttl": ESO_TOKEN_TTL_SECONDS,
        "token_max_ttl": ESO_TOKEN_TTL_SECONDS,
    }
    resources = [
        Resource(
            kind=Kind.SECRETS_ENGINE,
            name=f"{contract.KV_MOUNT}/",
            read_path=f"sys/mounts/{contract.KV_MOUNT}",
            write_path=f"sys/mounts/{contract.KV_MOUNT}",
            fields={"type": "kv", "version": "2"},
            payload={
                "type": "kv",
                "options": {"version": "2"},
                "description": "PayStream application secrets (KV v2, one folder per environment)",
            },
            create_only=True,
        ),
        Resource(
            kind=Kind.POLICY,
            name=policy,
            read_path=f"sys/policies/acl/{policy}",
            write_path=f"sys/policies/acl/{policy}",
            fields={"policy": read_policy_hcl(env)},
            payload={"policy": read_policy_hcl(env)},
        ),
        Resource(
            kind=Kind.AUTH_METHOD,
            name=f"{mount}/",
            read_path=f"sys/auth/{mount}",
            write_path=f"sys/auth/{mount}",
            fields={"type": "kubernetes"},
            payload={
                "type": "kubernetes",
                "description": f"service-account logins from the {env} cluster",
            },
            create_only=True,
        ),
        Resource(
            kind=Kind.AUTH_CONFIG,
            name=f"auth/{mount}/config",
            read_path=f"auth/{mount}/config",
            write_path=f"auth/{mount}/config",
            fields=auth_config,
            payload=auth_config,
            parent=f"sys/auth/{mount}",
        ),
        Resource(
            kind=Kind.ROLE,
            name=f"auth/{mount}/role/{role}",
            read_path=f"auth/{mount}/role/{role}",
            write_path=f"auth/{mount}/role/{role}",
            fields=role_fields,
            payload=role_fields,
            parent=f"sys/auth/{mount}",
        ),
    ]
    for name in contract.SECRET_NAMES:
        fields = secret_settings_fields(settings)
        resources.append(
            Resource(
                kind=Kind.SECRET_SETTINGS,
                name=contract.secret_full_path(env, name),
                read_path=contract.kv_metadata_api_path(env, name),
                write_path=contract.kv_metadata_api_path(env, name),
                fields=fields,
                payload=fields,
                parent=f"sys/mounts/{contract.KV_MOUNT}",
            )
        )
    return resources
