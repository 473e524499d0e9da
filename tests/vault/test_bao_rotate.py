"""`vault rotate` against a real OpenBao dev server: versions, grace period, output."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import hvac.exceptions
import pytest
from paystream_ops.vault.values import GENERATED_PATTERN

# A value typed on the command line, generated per run (never a committed literal).
ARGV_VALUE = "argv-" + secrets.token_hex(12)

pytestmark = pytest.mark.integration

ADMIN = "staging/auth-service/admin-token"


def read_version(server: Any, version: int | None = None, token: str | None = None) -> str:
    response = server.hvac(token).secrets.kv.v2.read_secret_version(
        ADMIN, version=version, mount_point="paystream", raise_on_deleted_version=True
    )
    value: str = response["data"]["data"]["value"]
    return value


def eso_token(server: Any) -> str:
    """A token with exactly the policies the staging Kubernetes role issues."""
    role = server.client().read("auth/kubernetes-staging/role/external-secrets-staging")
    token: str = server.hvac().auth.token.create(policies=role["token_policies"])["auth"][
        "client_token"
    ]
    return token


@pytest.fixture
def bootstrapped(
    bao: Any, run_cli: Callable[..., Any], bootstrap_argv: Callable[..., list[str]]
) -> Callable[..., Any]:
    def setup(*extra: str) -> Any:
        result = run_cli(bootstrap_argv("staging", "--generate", *extra), bao.environ())
        assert result.exit_code == 0, result.stderr
        return bao

    return setup


def rotate(run_cli: Callable[..., Any], server: Any, *extra: str, stdin: str = "") -> Any:
    return run_cli(
        ["vault", "rotate", "--env", "staging", "--key", "admin-token", *extra],
        server.environ(),
        stdin=stdin,
    )


def test_rotate_writes_a_new_version_and_prints_its_number_never_the_value(
    bootstrapped: Callable[..., Any], run_cli: Callable[..., Any]
) -> None:
    server = bootstrapped()
    old = read_version(server)

    result = rotate(run_cli, server, "--generate")

    assert result.exit_code == 0, result.stderr
    new = read_version(server)
    assert new != old and GENERATED_PATTERN.fullmatch(new)
    assert "paystream/staging/auth-service/admin-token: version 2 is current" in result.stdout
    assert "version 1 stays readable until at least" in result.stdout
    assert new not in result.stdout + result.stderr
    assert old not in result.stdout + result.stderr


def test_rotate_reads_the_new_value_from_stdin(
    bootstrapped: Callable[..., Any], run_cli: Callable[..., Any]
) -> None:
    server = bootstrapped()
    value = "admin-" + "7f" * 16

    result = rotate(run_cli, server, "--stdin", "--json", stdin=value + "\n")

    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["version"] == 2 and doc["previous_version"] == 1
    assert read_version(server) == value
    assert value not in result.stdout


def test_previous_version_stays_readable_to_the_eso_token_during_the_grace_period(
    bootstrapped: Callable[..., Any], run_cli: Callable[..., Any]
) -> None:
    server = bootstrapped()
    v1 = read_version(server)
    assert rotate(run_cli, server, "--generate").exit_code == 0
    assert rotate(run_cli, server, "--generate").exit_code == 0

    token = eso_token(server)
    # Both superseded versions are inside the default 24 h grace period.
    assert read_version(server, 1, token) == v1
    assert read_version(server, 2, token)
    assert read_version(server, None, token) == read_version(server, 3)


def test_versions_whose_grace_is_over_are_soft_deleted_by_the_next_rotation(
    bootstrapped: Callable[..., Any], run_cli: Callable[..., Any]
) -> None:
    server = bootstrapped("--rotation-grace-seconds", "1")
    assert rotate(run_cli, server, "--generate").exit_code == 0  # v2; v1 in grace
    time.sleep(1.2)  # v1's grace (from v2's creation) is over
    result = rotate(run_cli, server, "--generate", "--json")  # v3

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["retired_versions"] == [1]
    with pytest.raises(hvac.exceptions.InvalidPath):
        read_version(server, 1)
    assert read_version(server, 2)  # the previous one: kept, its grace just started
    # Soft delete: an operator can still bring it back within max_versions.
    server.hvac().secrets.kv.v2.undelete_secret_versions(ADMIN, [1], mount_point="paystream")
    assert read_version(server, 1)


def test_rotation_that_max_versions_would_destroy_a_version_in_grace_is_refused(
    bootstrapped: Callable[..., Any], run_cli: Callable[..., Any]
) -> None:
    server = bootstrapped("--max-versions", "2")
    assert rotate(run_cli, server, "--generate").exit_code == 0  # v2, keeps v1

    refused = rotate(run_cli, server, "--generate")  # v3 would destroy v1, still in grace

    assert refused.exit_code == 2
    assert "would destroy version(s) 1 still inside their grace period" in refused.stderr
    assert server.client().read("paystream/metadata/" + ADMIN)["current_version"] == 2
    forced = rotate(run_cli, server, "--generate", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert read_version(server, 2)  # the previous version survives even a forced rotation


def test_rotate_refuses_the_current_value_and_values_on_the_command_line(
    bootstrapped: Callable[..., Any], run_cli: Callable[..., Any]
) -> None:
    server = bootstrapped()
    current = read_version(server)

    same = rotate(run_cli, server, "--stdin", stdin=current)
    on_argv = rotate(run_cli, server, "--generate", "--value", ARGV_VALUE)
    too_short = rotate(run_cli, server, "--stdin", stdin="short")

    assert same.exit_code == 2 and "equals the current one" in same.stderr
    assert on_argv.exit_code == 2 and "refusing a secret value" in on_argv.stderr
    assert too_short.exit_code == 2 and "at least 16" in too_short.stderr
    for result in (same, on_argv, too_short):
        assert current not in result.stderr and ARGV_VALUE not in result.stderr
    assert server.client().read("paystream/metadata/" + ADMIN)["current_version"] == 1


def test_rotate_before_bootstrap_says_to_bootstrap(bao: Any, run_cli: Callable[..., Any]) -> None:
    result = rotate(run_cli, bao, "--generate")

    assert result.exit_code == 2
    assert "vault bootstrap --env staging" in result.stderr


def test_delete_version_after_would_expire_the_current_version(bao: Any) -> None:
    """Why bootstrap pins delete_version_after to 0s and rotate enforces the grace itself."""
    kv = bao.hvac().secrets.kv.v2
    kv.update_metadata("scratch", delete_version_after="1s", mount_point="secret")
    kv.create_or_update_secret("scratch", secret={"value": "v1"}, mount_point="secret")
    assert kv.read_secret_version("scratch", mount_point="secret", raise_on_deleted_version=True)
    time.sleep(1.2)

    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version("scratch", mount_point="secret", raise_on_deleted_version=True)
    meta = kv.read_secret_metadata("scratch", mount_point="secret")["data"]
    assert meta["current_version"] == 1  # it was the current version, never superseded
