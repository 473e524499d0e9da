"""The per-environment read policy External Secrets logs in with, as HCL text."""

from __future__ import annotations

from paystream_ops.vault.contract import KV_MOUNT, policy_name


def read_policy_hcl(env: str) -> str:
    """Read on this environment's data and metadata, nothing else.

    `read` on `data/<env>/*` also allows `?version=N`, so a pod-side rollback can read the
    previous version during the rotation grace period. No `list`: ESO reads each secret by its
    full path and never needs to enumerate. The `+`-free glob stops at the environment: staging's
    token can never match `paystream/data/prod/...`.
    """
    return (
        f"# {policy_name(env)}: External Secrets in the {env} cluster reads {env} secrets only.\n"
        f'path "{KV_MOUNT}/data/{env}/*" {{\n'
        '  capabilities = ["read"]\n'
        "}\n"
        "\n"
        f'path "{KV_MOUNT}/metadata/{env}/*" {{\n'
        '  capabilities = ["read"]\n'
        "}\n"
    )
