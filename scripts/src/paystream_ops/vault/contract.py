"""The names DESIGN.md "Vault and secrets" fixes for Vault, External Secrets and the pod.

Every other module (bootstrap, rotate, the manifest check) builds its paths from these functions,
so the Vault side and the Kubernetes side cannot drift apart silently.
"""

from __future__ import annotations

from paystream_ops.errors import UserError
from paystream_ops.paths import ENVIRONMENTS

KV_MOUNT = "paystream"
SERVICE = "auth-service"
# One Vault secret per file the pod reads; the file, the Secret key and the Vault name agree.
SECRET_NAMES: tuple[str, ...] = (
    "processor-api-key",
    "admin-token",
    "idempotency-hmac-key",
    "idempotency-store-password",
)
SECRET_PROPERTY = "value"  # noqa: S105 (a property name, not a password)

ESO_SERVICE_ACCOUNT = "external-secrets"
ESO_NAMESPACE = "external-secrets"
CLUSTER_SECRET_STORE = "vault-paystream"  # noqa: S105 (an object name)
EXTERNAL_SECRET_REFRESH = "1m"  # noqa: S105 (a duration)
POD_SECRETS_DIR = "/var/run/secrets/paystream"


def check_env(env: str) -> str:
    if env not in ENVIRONMENTS:
        raise UserError(
            f"--env: unknown environment {env!r}; expected one of {', '.join(ENVIRONMENTS)}"
        )
    return env


# Rotating it renames every stored idempotency key: each retry in flight would authorize again.
NOT_ROTATABLE: frozenset[str] = frozenset({"idempotency-hmac-key"})


def check_secret_name(name: str) -> str:
    if name not in SECRET_NAMES:
        raise UserError(
            f"--key: unknown secret {name!r}; expected one of {', '.join(SECRET_NAMES)}"
        )
    return name


def check_rotatable(name: str) -> str:
    check_secret_name(name)
    if name in NOT_ROTATABLE:
        raise UserError(
            f"--key: {name} is not rotated: a new value forgets every stored idempotency answer "
            "(docs/decisions/0054-shared-idempotency-store.md)"
        )
    return name


def secret_path(env: str, name: str) -> str:
    """The secret's path inside the KV mount: `<env>/auth-service/<name>`."""
    return f"{env}/{SERVICE}/{name}"


def secret_full_path(env: str, name: str) -> str:
    """`paystream/<env>/auth-service/<name>`, as people and DESIGN.md write it."""
    return f"{KV_MOUNT}/{secret_path(env, name)}"


def kv_data_api_path(env: str, name: str) -> str:
    """The KV v2 API path ESO reads: `paystream/data/<env>/auth-service/<name>`."""
    return f"{KV_MOUNT}/data/{secret_path(env, name)}"


def kv_metadata_api_path(env: str, name: str) -> str:
    return f"{KV_MOUNT}/metadata/{secret_path(env, name)}"


def auth_mount(env: str) -> str:
    return f"kubernetes-{env}"


def role_name(env: str) -> str:
    return f"external-secrets-{env}"


def policy_name(env: str) -> str:
    return f"paystream-{env}-read"


def external_secret_name(name: str) -> str:
    """The ExternalSecret and the Secret it creates share this name."""
    return f"{SERVICE}-{name}"
