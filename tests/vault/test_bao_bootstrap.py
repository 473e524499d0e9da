"""`vault bootstrap` against a real OpenBao dev server on loopback."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import hvac
import hvac.exceptions
import pytest
from paystream_ops.vault import contract
from paystream_ops.vault.policy import read_policy_hcl
from paystream_ops.vault.values import GENERATED_PATTERN

# 5 for Vault itself, 2 x (settings + value) per secret
CHANGES = 5 + 2 * len(contract.SECRET_NAMES)

# A value typed on the command line, generated per run (never a committed literal).
ARGV_VALUE = "argv-" + secrets.token_hex(12)

pytestmark = pytest.mark.integration


def snapshot(server: Any, env: str) -> dict[str, Any]:
    """Everything bootstrap owns, as Vault reports it (timestamps included, to catch rewrites)."""
    client = server.client()
    mount = contract.auth_mount(env)
    state: dict[str, Any] = {
        "kv": client.mounts().get("paystream/"),
        "auth": client.auth_methods().get(f"{mount}/"),
        "policy": client.read(f"sys/policies/acl/{contract.policy_name(env)}"),
        "config": client.read(f"auth/{mount}/config"),
        "role": client.read(f"auth/{mount}/role/{contract.role_name(env)}"),
    }
    for name in contract.SECRET_NAMES:
        state[f"metadata:{name}"] = client.read(contract.kv_metadata_api_path(env, name))
    return state


def seeds_json(**values: str) -> str:
    return json.dumps({key.replace("_", "-"): value for key, value in values.items()})


def test_bootstrap_creates_kv_policy_auth_role_and_seeds(
    bao: Any, run_cli: Callable[..., Any], bootstrap_argv: Callable[..., list[str]]
) -> None:
    api_key = "pk_" + "a1" * 16
    result = run_cli(
        bootstrap_argv("staging", "--secrets-file", "-", "--generate"),
        bao.environ(),
        stdin=seeds_json(processor_api_key=api_key),
    )
    assert result.exit_code == 0, result.stderr
    state = snapshot(bao, "staging")
    assert state["kv"]["type"] == "kv" and state["kv"]["options"]["version"] == "2"
    assert state["auth"]["type"] == "kubernetes"
    assert state["policy"]["policy"] == read_policy_hcl("staging")
    assert state["config"]["kubernetes_host"] == "https://staging.kubernetes.invalid:6443"
    assert state["config"]["disable_local_ca_jwt"] is True
    role = state["role"]
    assert role["bound_service_account_names"] == ["external-secrets"]
    assert role["bound_service_account_namespaces"] == ["external-secrets"]
    assert role["token_policies"] == ["paystream-staging-read"]
    for name in contract.SECRET_NAMES:
        meta = state[f"metadata:{name}"]
        assert meta["delete_version_after"] == "0s"
        assert meta["max_versions"] == 10
        assert meta["custom_metadata"]["rotation_grace_seconds"] == "86400"
    read = bao.hvac().secrets.kv.v2.read_secret_version
    seeded = read(
        "staging/auth-service/processor-api-key",
        mount_point="paystream",
        raise_on_deleted_version=True,
    )
    assert seeded["data"]["data"] == {"value": api_key}
    generated = read(
        "staging/auth-service/admin-token", mount_point="paystream", raise_on_deleted_version=True
    )
    assert GENERATED_PATTERN.fullmatch(generated["data"]["data"]["value"])
    # The plan names what it created and never prints a value.
    assert "create" in result.stdout and "paystream-staging-read" in result.stdout
    assert api_key not in result.stdout + result.stderr
    assert generated["data"]["data"]["value"] not in result.stdout + result.stderr


def test_second_bootstrap_changes_nothing_and_says_so(
    bao: Any, run_cli: Callable[..., Any], bootstrap_argv: Callable[..., list[str]]
) -> None:
    first = run_cli(bootstrap_argv("prod", "--generate"), bao.environ())
    assert first.exit_code == 0, first.stderr
    before = snapshot(bao, "prod")

    second = run_cli(bootstrap_argv("prod", "--generate", "--json"), bao.environ())

    assert second.exit_code == 0, second.stderr
    doc = json.loads(second.stdout)
    assert doc["counts"] == {"create": 0, "update": 0, "unchanged": len(doc["changes"])}
    # 5 for Vault itself, 2 x (settings + value) per secret
    assert len(doc["changes"]) == 5 + 2 * len(contract.SECRET_NAMES)
    # Verified by reading state, not by trusting the plan: no write touched anything, so every
    # timestamp and version number is what the first run left.
    assert snapshot(bao, "prod") == before
    text = run_cli(bootstrap_argv("prod"), bao.environ())
    assert text.exit_code == 0
    assert f"nothing to change: {CHANGES} unchanged" in text.stdout


def test_bootstrap_of_one_environment_leaves_the_other_alone(
    bao: Any, run_cli: Callable[..., Any], bootstrap_argv: Callable[..., list[str]]
) -> None:
    assert run_cli(bootstrap_argv("staging", "--generate"), bao.environ()).exit_code == 0
    prod = json.loads(run_cli(bootstrap_argv("prod", "--generate", "--json"), bao.environ()).stdout)
    created = {c["name"] for c in prod["changes"] if c["action"] == "create"}
    # The KV mount is shared; everything else is per environment and new.
    assert "paystream/" not in created
    assert {"paystream-prod-read", "kubernetes-prod/"} <= created
    assert bao.client().read(contract.kv_metadata_api_path("staging", "admin-token")) is not None


def test_bootstrap_repairs_a_widened_policy_and_then_is_quiet(
    bao: Any, run_cli: Callable[..., Any], bootstrap_argv: Callable[..., list[str]]
) -> None:
    assert run_cli(bootstrap_argv("staging", "--generate"), bao.environ()).exit_code == 0
    bao.hvac().sys.create_or_update_policy(
        "paystream-staging-read", 'path "paystream/*" { capabilities = ["read", "update"] }'
    )
    role_path = "auth/kubernetes-staging/role/external-secrets-staging"
    bao.hvac().write_data(role_path, data={"token_policies": ["default", "root"]})

    repair = json.loads(run_cli(bootstrap_argv("staging", "--json"), bao.environ()).stdout)

    updates = {
        (c["name"], tuple(c["changed_fields"]))
        for c in repair["changes"]
        if c["action"] == "update"
    }
    assert updates == {
        ("paystream-staging-read", ("policy",)),
        (role_path, ("token_policies",)),
    }
    assert bao.client().read("sys/policies/acl/paystream-staging-read")["policy"] == (
        read_policy_hcl("staging")
    )
    again = json.loads(run_cli(bootstrap_argv("staging", "--json"), bao.environ()).stdout)
    assert again["counts"]["update"] == 0 and again["counts"]["create"] == 0


def test_bootstrap_never_overwrites_an_existing_secret_with_a_seed(
    bao: Any, run_cli: Callable[..., Any], bootstrap_argv: Callable[..., list[str]]
) -> None:
    assert run_cli(bootstrap_argv("staging", "--generate"), bao.environ()).exit_code == 0
    path = "staging/auth-service/admin-token"
    kv = bao.hvac().secrets.kv.v2
    before = kv.read_secret_version(path, mount_point="paystream", raise_on_deleted_version=True)

    result = run_cli(
        bootstrap_argv("staging", "--secrets-file", "-"),
        bao.environ(),
        stdin=seeds_json(admin_token="an-attempt-to-roll-back-0001"),
    )

    assert result.exit_code == 0
    assert "bootstrap never overwrites" in result.stdout
    after = kv.read_secret_version(path, mount_point="paystream", raise_on_deleted_version=True)
    assert after["data"] == before["data"]


def test_bootstrap_without_values_for_missing_secrets_writes_nothing(
    bao: Any, run_cli: Callable[..., Any], bootstrap_argv: Callable[..., list[str]]
) -> None:
    result = run_cli(bootstrap_argv("staging"), bao.environ())

    assert result.exit_code == 2
    assert "no value for missing secret(s) processor-api-key, admin-token" in result.stderr
    assert "paystream/" not in bao.client().mounts()  # planned first, nothing half-applied


@pytest.mark.parametrize(
    "extra",
    [
        ["--value", "paystream_" + "x" * 43],
        ["--secret", ARGV_VALUE],
        ["--secrets-file", json.dumps({"admin-token": ARGV_VALUE})],
        ["--secrets-file", f"admin-token={ARGV_VALUE}"],
    ],
)
def test_bootstrap_refuses_secret_values_on_the_command_line(
    bao: Any,
    run_cli: Callable[..., Any],
    bootstrap_argv: Callable[..., list[str]],
    extra: list[str],
) -> None:
    result = run_cli(bootstrap_argv("staging", *extra), bao.environ())

    assert result.exit_code == 2
    assert "refusing a secret value on the command line" in result.stderr
    assert ARGV_VALUE not in result.stderr and "xxxx" not in result.stderr
    assert "paystream/" not in bao.client().mounts()


def test_env_token_reads_its_env_and_is_denied_the_other_env_and_every_write(
    bao: Any, run_cli: Callable[..., Any], bootstrap_argv: Callable[..., list[str]]
) -> None:
    for env in ("staging", "prod"):
        assert run_cli(bootstrap_argv(env, "--generate"), bao.environ()).exit_code == 0
    # A token exactly as the Kubernetes role would issue it: the role's policies and TTL.
    role = bao.client().read("auth/kubernetes-staging/role/external-secrets-staging")
    assert role is not None
    issued = bao.hvac().auth.token.create(
        policies=role["token_policies"], ttl=f"{role['token_ttl']}s"
    )
    eso = bao.hvac(issued["auth"]["client_token"])
    kv = eso.secrets.kv.v2

    own = kv.read_secret_version(
        "staging/auth-service/processor-api-key",
        mount_point="paystream",
        raise_on_deleted_version=True,
    )
    assert own["data"]["data"]["value"]
    assert kv.read_secret_metadata("staging/auth-service/admin-token", mount_point="paystream")

    denied: list[Callable[[], object]] = [
        lambda: kv.read_secret_version(
            "prod/auth-service/processor-api-key",
            mount_point="paystream",
            raise_on_deleted_version=True,
        ),
        lambda: kv.read_secret_metadata("prod/auth-service/admin-token", mount_point="paystream"),
        lambda: kv.create_or_update_secret(
            "staging/auth-service/admin-token", secret={"value": "x" * 20}, mount_point="paystream"
        ),
        lambda: kv.create_or_update_secret(
            "staging/auth-service/new", secret={"value": "y" * 20}, mount_point="paystream"
        ),
        lambda: kv.delete_latest_version_of_secret(
            "staging/auth-service/admin-token", mount_point="paystream"
        ),
        lambda: kv.update_metadata(
            "staging/auth-service/admin-token", max_versions=1, mount_point="paystream"
        ),
        lambda: kv.list_secrets("staging/auth-service", mount_point="paystream"),
        lambda: eso.sys.create_or_update_policy("paystream-staging-read", 'path "*" {}'),
        lambda: eso.secrets.kv.v2.read_secret_version(
            "anything", mount_point="secret", raise_on_deleted_version=True
        ),
    ]
    for attempt in denied:
        with pytest.raises(hvac.exceptions.Forbidden):
            attempt()


def test_unreachable_vault_is_a_one_line_error(
    run_cli: Callable[..., Any], bootstrap_argv: Callable[..., list[str]]
) -> None:
    from paystream_ops.processes import free_port

    result = run_cli(
        bootstrap_argv("staging", "--generate"),
        {"VAULT_ADDR": f"http://127.0.0.1:{free_port()}", "VAULT_TOKEN": "not-a-real-token"},
    )

    assert result.exit_code == 2
    assert "unreachable" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not-a-real-token" not in result.stderr


def test_bad_token_is_a_one_line_error(
    bao: Any, run_cli: Callable[..., Any], bootstrap_argv: Callable[..., list[str]]
) -> None:
    result = run_cli(bootstrap_argv("staging", "--generate"), bao.environ("s.not-valid-at-all"))

    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "VAULT_TOKEN is invalid, expired or revoked" in result.stderr
    assert "s.not-valid-at-all" not in result.stderr


def test_vault_outside_a_cluster_without_a_ca_is_rejected_by_vault_in_one_line(
    bao: Any, run_cli: Callable[..., Any]
) -> None:
    """The in-cluster default (no CA file) makes Vault read its own pod's CA, absent here."""
    result = run_cli(["vault", "bootstrap", "--env", "staging", "--generate"], bao.environ())

    assert result.exit_code == 2
    assert "auth/kubernetes-staging/config" in result.stderr
    assert "ca.crt" in result.stderr


def test_dry_run_prints_the_plan_and_writes_nothing(
    bao: Any, run_cli: Callable[..., Any], bootstrap_argv: Callable[..., list[str]]
) -> None:
    result = run_cli(bootstrap_argv("staging", "--generate", "--dry-run"), bao.environ())

    assert result.exit_code == 0, result.stderr
    assert f"{CHANGES} created, 0 updated, 0 unchanged (dry run: nothing written" in result.stdout
    assert "paystream/" not in bao.client().mounts()
    assert "kubernetes-staging/" not in bao.client().auth_methods()


def test_the_installed_command_reads_seeds_from_stdin_and_is_quiet_the_second_time(
    bao: Any, ca_pem_file: Any, tmp_path: Any
) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    command = [
        str(Path(sys.executable).parent / "paystream-ops"),
        "vault", "bootstrap", "--env", "prod", "--secrets-file", "-",
        "--kubernetes-host", "https://prod.kubernetes.invalid:6443",
        "--kubernetes-ca-file", str(ca_pem_file),
    ]  # fmt: skip
    seeds = seeds_json(
        processor_api_key="pk_" + "c3" * 16,
        admin_token="at_" + "d4" * 16,
        idempotency_hmac_key="hk_" + "e5" * 16,
        idempotency_store_password="sp_" + "f6" * 16,
    )
    env = {**os.environ, **bao.environ()}

    first = subprocess.run(command, input=seeds, env=env, capture_output=True, text=True)
    second = subprocess.run(command, input=seeds, env=env, capture_output=True, text=True)

    assert first.returncode == 0, first.stderr
    assert f"{CHANGES} created, 0 updated, 0 unchanged" in first.stdout
    assert second.returncode == 0, second.stderr
    assert f"nothing to change: {CHANGES} unchanged" in second.stdout
    assert "c3c3" not in first.stdout + second.stdout + first.stderr + second.stderr
