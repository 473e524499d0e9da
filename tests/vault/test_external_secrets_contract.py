"""The rendered External Secrets wiring matches what `vault bootstrap` creates: the validator's
`secrets` check (what `paystream-ops validate` runs) on a reduced prod overlay and one mutation
at a time, on the real overlays, and what ESO would read from a bootstrapped OpenBao."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from paystream_ops.paths import ENVIRONMENTS, overlay_dir
from paystream_ops.render import K8sObject, render
from paystream_ops.validate.checks import Settings, TargetContext, external_secrets
from paystream_ops.validate.checks.external_secrets import eso_vault_api_path
from paystream_ops.validate.model import Rendered, Target
from paystream_ops.vault import contract

FIXTURE = Path(__file__).parent / "fixtures" / "secrets-prod-valid.yaml"


def valid() -> list[K8sObject]:
    return [doc for doc in yaml.safe_load_all(FIXTURE.read_text()) if doc]


def check_secret_manifests(objects: list[K8sObject], env: str) -> list[str]:
    """The validator's External Secrets check on `objects` as the overlay of `env`."""
    target = Target(f"overlays/{env}", overlay_dir(env))
    settings = Settings(root=overlay_dir(env).parents[1], exported_metrics=frozenset())
    ctx = TargetContext(Rendered(target, objects), settings, env, {})
    return [problem.line() for problem in external_secrets.check(ctx)]


def rendered_secret_wiring(env: str) -> list[K8sObject]:
    """The environment's ClusterSecretStore (its own Application, overlays/<env>/namespace) and
    the service's overlay, whose ExternalSecrets read through it."""
    return render(overlay_dir(env) / "namespace") + render(overlay_dir(env))


def by_name(objects: list[K8sObject], kind: str, name: str) -> K8sObject:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def _store(o: list[K8sObject]) -> dict[str, Any]:
    vault: dict[str, Any] = by_name(o, "ClusterSecretStore", "vault-paystream")["spec"]["provider"][
        "vault"
    ]
    return vault


def _es(o: list[K8sObject], name: str = "admin-token") -> dict[str, Any]:
    spec: dict[str, Any] = by_name(o, "ExternalSecret", f"auth-service-{name}")["spec"]
    return spec


def _pod(o: list[K8sObject]) -> dict[str, Any]:
    pod: dict[str, Any] = by_name(o, "Rollout", "auth-service")["spec"]["template"]["spec"]
    return pod


MUTATIONS: dict[str, tuple[Callable[[list[K8sObject]], None], str]] = {
    "kv mount": (lambda o: _store(o).update(path="secret"), "vault.path: 'secret'"),
    "kv v1": (lambda o: _store(o).update(version="v1"), "vault.version: 'v1'"),
    "auth mount of the other env": (
        lambda o: _store(o)["auth"]["kubernetes"].update(mountPath="kubernetes-staging"),
        "mountPath: 'kubernetes-staging'",
    ),
    "default auth mount": (
        lambda o: _store(o)["auth"]["kubernetes"].pop("mountPath"),
        "mountPath: 'kubernetes'",
    ),
    "role": (
        lambda o: _store(o)["auth"]["kubernetes"].update(role="external-secrets"),
        "role: 'external-secrets'",
    ),
    "service account without namespace": (
        lambda o: _store(o)["auth"]["kubernetes"].update(
            serviceAccountRef={"name": "external-secrets"}
        ),
        "serviceAccountRef: None/external-secrets",
    ),
    "static token auth": (
        lambda o: _store(o)["auth"].update(tokenSecretRef={"name": "t", "key": "t"}),
        "tokenSecretRef set",
    ),
    "v1beta1 store": (
        lambda o: by_name(o, "ClusterSecretStore", "vault-paystream").update(
            apiVersion="external-secrets.io/v1beta1"
        ),
        "apiVersion: 'external-secrets.io/v1beta1'",
    ),
    "other env's key": (
        lambda o: _es(o)["data"][0]["remoteRef"].update(key="staging/auth-service/admin-token"),
        "reads 'paystream/data/staging/auth-service/admin-token'",
    ),
    "key with a leading data/": (
        lambda o: _es(o)["data"][0]["remoteRef"].update(key="data/prod/auth-service/admin-token"),
        "reads 'paystream/data/data/prod/auth-service/admin-token'",
    ),
    "property": (
        lambda o: _es(o)["data"][0]["remoteRef"].update(property="token"),
        "remoteRef.property: 'token'",
    ),
    "pinned version": (
        lambda o: _es(o)["data"][0]["remoteRef"].update(version="1"),
        "remoteRef.version: '1'",
    ),
    "secret key": (
        lambda o: _es(o)["data"][0].update(secretKey="token"),
        "secretKey: 'token'",
    ),
    "refresh": (lambda o: _es(o).update(refreshInterval="1h"), "refreshInterval: '1h'"),
    "store kind": (
        lambda o: _es(o)["secretStoreRef"].update(kind="SecretStore"),
        "secretStoreRef: SecretStore/vault-paystream",
    ),
    "target name": (
        lambda o: _es(o)["target"].update(name="admin"),
        "target.name: 'admin'",
    ),
    "deletion policy": (
        lambda o: _es(o)["target"].update(deletionPolicy="Delete"),
        "deletionPolicy: 'Delete'",
    ),
    "missing ExternalSecret": (
        lambda o: o.remove(by_name(o, "ExternalSecret", "auth-service-processor-api-key")),
        "ExternalSecret/auth-service-processor-api-key: expected exactly one, found 0",
    ),
    "subPath": (
        lambda o: _pod(o)["containers"][0]["volumeMounts"][0].update(subPath="admin-token"),
        "a secret mounted with subPath never sees a rotation",
    ),
    "mount path": (
        lambda o: _pod(o)["containers"][0]["volumeMounts"][0].update(mountPath="/secrets"),
        "mountPath: '/secrets'",
    ),
    "file name": (
        lambda o: _pod(o)["volumes"][0]["projected"]["sources"][0]["secret"]["items"][0].update(
            path="api-key"
        ),
        "must land in the file 'processor-api-key'; found 'api-key'",
    ),
    "optional source": (
        lambda o: _pod(o)["volumes"][0]["projected"]["sources"][1]["secret"].update(optional=True),
        "optional: true",
    ),
    "secret as env var": (
        lambda o: _pod(o)["containers"][0].update(
            env=[
                {
                    "name": "ADMIN_TOKEN",
                    "valueFrom": {
                        "secretKeyRef": {"name": "auth-service-admin-token", "key": "admin-token"}
                    },
                }
            ]
        ),
        "reads auth-service-admin-token as an environment variable",
    ),
    "pod in another namespace": (
        lambda o: by_name(o, "Rollout", "auth-service")["metadata"].update(namespace="default"),
        "metadata.namespace: 'default'",
    ),
}


def test_the_valid_fixture_passes() -> None:
    assert check_secret_manifests(valid(), "prod") == []


def test_the_valid_prod_fixture_is_wrong_for_staging() -> None:
    problems = check_secret_manifests(valid(), "staging")

    assert any("mountPath: 'kubernetes-prod'" in p for p in problems)
    assert any("reads 'paystream/data/prod/auth-service/admin-token'" in p for p in problems)


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_every_broken_wiring_is_rejected_naming_the_field(mutation: str) -> None:
    objects = copy.deepcopy(valid())
    mutate, expected = MUTATIONS[mutation]
    mutate(objects)

    problems = check_secret_manifests(objects, "prod")

    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("store_path", "version", "key", "api_path"),
    [
        # The examples ESO documents for its buildPath (providers/v1/vault/client_get.go).
        ("secret/path", "v2", "foo", "secret/path/data/foo"),
        ("secret/path", "v1", "foo", "secret/path/foo"),
        ("secret/path", "v2", "secret/path/foo", "secret/path/data/foo"),
        ("secret/path", "v2", "secret/path/data/foo", "secret/path/data/foo"),
        ("secret/path", "v1", "secret/path/foo", "secret/path/foo"),
        (None, "v2", "secret/path/foo", "secret/data/path/foo"),
        (None, "v2", "secret/path/data/foo", "secret/path/data/foo"),
        (None, "v1", "secret/path/foo", "secret/path/foo"),
    ],
)
def test_remote_keys_resolve_like_eso(
    store_path: str | None, version: str, key: str, api_path: str
) -> None:
    assert eso_vault_api_path(store_path, version, key) == api_path


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_rendered_overlay_reads_exactly_what_bootstrap_writes(env: str) -> None:
    objects = rendered_secret_wiring(env)

    assert check_secret_manifests(objects, env) == []


@pytest.mark.integration
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_eso_reading_the_rendered_overlay_finds_the_bootstrapped_secrets(
    env: str, bao: Any, run_cli: Callable[..., Any], bootstrap_argv: Callable[..., list[str]]
) -> None:
    """Do what ESO does with the rendered objects against a bootstrapped OpenBao: take the auth
    mount and role from the store, get a token with that role's policies, read each
    ExternalSecret's resolved path and property."""
    assert run_cli(bootstrap_argv(env, "--generate"), bao.environ()).exit_code == 0
    objects = rendered_secret_wiring(env)
    store = _store(objects)
    kube = store["auth"]["kubernetes"]
    role = bao.client().read(f"auth/{kube['mountPath']}/role/{kube['role']}")
    assert role is not None, f"{kube['mountPath']}/{kube['role']} does not exist after bootstrap"
    token = bao.hvac().auth.token.create(policies=role["token_policies"])["auth"]["client_token"]
    eso = bao.hvac(token)
    for name in contract.SECRET_NAMES:
        entry = _es(objects, name)["data"][0]
        api_path = eso_vault_api_path(
            store["path"], store.get("version", "v2"), entry["remoteRef"]["key"]
        )
        response = eso.adapter.get(f"/v1/{api_path}")
        value = response["data"]["data"][entry["remoteRef"]["property"]]
        assert value == bao.client().read(contract.kv_data_api_path(env, name))["data"]["value"]
