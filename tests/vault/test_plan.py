"""The pure planning core: desired state, diff, secret seeding (no Vault needed)."""

from __future__ import annotations

from typing import Any

import pytest
from paystream_ops.errors import UserError
from paystream_ops.vault.contract import SECRET_NAMES
from paystream_ops.vault.desired import (
    BootstrapSettings,
    KubernetesAuth,
    Resource,
    desired_resources,
)
from paystream_ops.vault.plan import Action, SecretState, build_plan, diff_resource, plan_secrets
from paystream_ops.vault.policy import read_policy_hcl
from paystream_ops.vault.values import SecretValue, generate

SETTINGS = BootstrapSettings(
    env="staging", kubernetes=KubernetesAuth("https://k8s.invalid:6443", "PEM")
)


def applied(resource: Resource) -> dict[str, Any]:
    """What Vault reports after applying a resource (own fields plus unrelated extras)."""
    return {**resource.fields, "accessor": "kv_1234", "token_num_uses": 0}


def test_plan_against_the_state_it_would_create_is_all_unchanged() -> None:
    resources = desired_resources(SETTINGS)
    actual = {r.read_path: applied(r) for r in resources}
    states = {name: SecretState(3, True) for name in SECRET_NAMES}

    plan = build_plan("staging", resources, actual, states, {}, None)

    assert plan.is_noop
    assert plan.resource_writes == () and plan.secret_writes == ()
    assert plan.counts() == {"create": 0, "update": 0, "unchanged": len(resources) + 4}


def test_empty_vault_plans_every_resource_and_secret_in_dependency_order() -> None:
    resources = desired_resources(SETTINGS)

    plan = build_plan("staging", resources, {}, {}, {}, generate)

    kinds = [change.kind for change in plan.changes]
    assert kinds == [
        "secrets-engine",
        "policy",
        "auth-method",
        "auth-config",
        "role",
        *["secret-settings"] * 4,
        *["secret"] * 4,
    ]
    assert all(change.action is Action.CREATE for change in plan.changes)
    assert [w.cas for w in plan.secret_writes] == [0, 0, 0, 0]


def test_list_order_does_not_count_as_a_change_but_a_new_member_does() -> None:
    role = next(r for r in desired_resources(SETTINGS) if r.kind.value == "role")
    reordered = {**role.fields, "token_policies": list(reversed(role.fields["token_policies"]))}
    widened = {**role.fields, "bound_service_account_namespaces": ["external-secrets", "default"]}

    assert diff_resource(role, reordered).action is Action.UNCHANGED
    change = diff_resource(role, widened)
    assert change.action is Action.UPDATE
    assert change.changed_fields == ("bound_service_account_namespaces",)


def test_a_kv_v1_mount_is_refused_never_converted_in_place() -> None:
    kv = desired_resources(SETTINGS)[0]

    with pytest.raises(UserError, match=r"sys/mounts/paystream: exists with version='1'"):
        diff_resource(kv, {"type": "kv", "version": "1"})


def test_existing_secrets_are_never_overwritten_even_when_a_seed_is_given() -> None:
    states = {name: SecretState(2, True) for name in SECRET_NAMES}
    seeds = {"admin-token": SecretValue("a-new-admin-token-value")}

    changes, writes = plan_secrets("prod", states, seeds, generate)

    assert writes == []
    assert [c.action for c in changes] == [Action.UNCHANGED] * 4
    assert "never overwrites" in changes[1].note


def test_a_deleted_current_version_is_rewritten_with_check_and_set_on_it() -> None:
    states = {name: SecretState(2, True) for name in SECRET_NAMES}
    states["processor-api-key"] = SecretState(4, False)

    changes, writes = plan_secrets("prod", states, {}, generate)

    assert [(w.name, w.cas, w.source) for w in writes] == [("processor-api-key", 4, "generated")]
    assert "version 4 was deleted" in changes[0].note


def test_missing_values_are_an_error_naming_every_missing_secret() -> None:
    with pytest.raises(UserError, match="processor-api-key, admin-token"):
        plan_secrets("prod", {}, {}, None)


def test_plan_and_its_writes_never_show_a_value() -> None:
    secret = "paystream_plan-must-not-print-this-value-0000000000"
    plan = build_plan(
        "staging",
        desired_resources(SETTINGS),
        {},
        {},
        {"admin-token": SecretValue(secret)},
        generate,
    )

    assert secret not in repr(plan) and secret not in str(plan)
    assert "SecretValue(***)" in repr(plan.secret_writes)


def test_policy_reads_only_its_own_environment() -> None:
    hcl = read_policy_hcl("prod")

    paths = [line.split('"')[1] for line in hcl.splitlines() if line.startswith("path ")]
    assert paths == ["paystream/data/prod/*", "paystream/metadata/prod/*"]
    assert hcl.count('capabilities = ["read"]') == 2
    for forbidden in ("create", "update", "delete", "list", "sudo", "staging"):
        assert forbidden not in hcl


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"env": "qa"}, "unknown environment 'qa'"),
        ({"env": "prod", "max_versions": 1}, "at least 2"),
        ({"env": "prod", "rotation_grace_seconds": -1}, "negative"),
        ({"env": "prod", "kubernetes": KubernetesAuth("k8s:6443")}, "not a URL"),
    ],
)
def test_bad_settings_are_one_line_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError, match=message):
        BootstrapSettings(**kwargs)


def test_without_a_ca_vault_is_configured_to_use_its_own_pod_credentials() -> None:
    in_cluster = BootstrapSettings(env="prod")

    config = next(r for r in desired_resources(in_cluster) if r.kind.value == "auth-config")

    assert config.payload == {
        "kubernetes_host": "https://kubernetes.default.svc:443",
        "kubernetes_ca_cert": "",
        "disable_local_ca_jwt": False,
    }
