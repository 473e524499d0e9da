"""`paystream-ops bootstrap` through the real `kubernetes` client against an API server on
loopback: server-side apply requests as the API server expects them (PATCH,
application/apply-patch+yaml, fieldManager, force=false, dryRun=All for --dry-run), CRDs
Established before their objects, what changed said per object, conflicts named, the guard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from paystream_ops.bootstrap.plan import FIELD_MANAGER, INSTALL_FIELD_MANAGER
from paystream_ops.cli import main

from .apiserver import ApiServer, Recorded, Running, User
from .conftest import CONTEXT, REPO

pytestmark = pytest.mark.integration  # a server on loopback, the pinned kustomize
HEALTH = "resource.customizations.health.argoproj.io_Application"  # clusters/common/argocd-cm


@pytest.fixture
def install_manifest(tmp_path: Path, argo_crds: list[dict[str, Any]]) -> Path:
    """An Argo CD install manifest cut down to what bootstrap waits for: the pinned CRDs, the
    repo server, the application controller and an empty argocd-cm (as upstream ships it)."""
    labels = {"app.kubernetes.io/part-of": "argocd"}
    docs: list[dict[str, Any]] = [
        c
        for c in argo_crds
        if c["spec"]["group"] == "argoproj.io"
        and c["spec"]["names"]["kind"] in ("Application", "AppProject")
    ]
    docs += [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm", "labels": labels},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "argocd-repo-server", "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "argocd-application-controller", "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}},
        },
    ]
    path = tmp_path / "install.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return path


@pytest.fixture
def fresh(use_kubeconfig: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ApiServer, str]]:
    """A cluster with nothing of Argo CD yet, the kubeconfig's current context its admin, and
    the repository as the working directory (bootstrap renders clusters/ from there)."""
    server = ApiServer(users={"admin-token": User("admin", None)})
    with Running(server) as running:
        use_kubeconfig(running.url, {CONTEXT: "admin-token"})
        monkeypatch.chdir(REPO)
        yield server, running.url


def patches(server: ApiServer) -> list[Recorded]:
    return [r for r in server.requests if r.method == "PATCH"]


def bootstrap(
    capsys: pytest.CaptureFixture[str], manifest: Path, *argv: str
) -> tuple[int, str, str]:
    code = main(["bootstrap", "--env", "prod", "--argocd-manifest", str(manifest), *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_bootstrap_applies_server_side_with_its_field_manager_and_says_what_changed(
    fresh: tuple[ApiServer, str],
    install_manifest: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, _ = fresh
    code, out, err = bootstrap(capsys, install_manifest, "--yes")
    assert code == 0, err
    sent = patches(server)
    assert sent and all(
        r.headers["content-type"] == "application/apply-patch+yaml"
        and r.query["force"] == ["false"]
        and "dryRun" not in r.query
        for r in sent
    )
    managers = {r.path.rsplit("/", 1)[-1]: r.query["fieldManager"] for r in sent}
    assert managers["argocd-repo-server"] == [INSTALL_FIELD_MANAGER]
    assert managers["applications.argoproj.io"] == [INSTALL_FIELD_MANAGER]
    assert managers["root"] == [FIELD_MANAGER]
    paths = [r.path for r in sent]
    assert paths[0] == "/api/v1/namespaces/argocd"
    crd = paths.index(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/applications.argoproj.io"
    )
    root = paths.index("/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/root")
    assert crd < root
    gets = [r.path for r in server.requests if r.method == "GET"]
    assert "/apis/apps/v1/namespaces/argocd/deployments/argocd-repo-server" in gets  # waited
    body = next(r.body for r in sent if r.path.endswith("/applications/root"))
    assert body["spec"]["source"]["path"] == "clusters/prod"
    assert "created         Application argocd/root" in out
    assert "created         Namespace argocd" in out
    assert "bootstrap done in 'prod-eu1'" in out
    # Again: nothing to change, and it says so.
    code, out, err = bootstrap(capsys, install_manifest, "--yes")
    assert code == 0, err
    assert "created" not in out and "configured" not in out
    assert "unchanged       Application argocd/root" in out


def test_dry_run_is_a_server_dry_run_that_persists_nothing(
    fresh: tuple[ApiServer, str],
    install_manifest: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, _ = fresh
    code, out, err = bootstrap(capsys, install_manifest, "--dry-run")
    assert code == 0, err
    sent = patches(server)
    assert sent and all(r.query.get("dryRun") == ["All"] for r in sent)
    assert server.objects == {}
    assert "would create    Namespace argocd" in out
    assert (
        "would create    Application argocd/root  (its CRD is not served yet: not dry-run)" in out
    )
    assert "nothing was changed" in out


def test_a_field_owned_by_another_manager_is_a_conflict_named_not_forced(
    fresh: tuple[ApiServer, str],
    install_manifest: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, _ = fresh
    server.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}})
    server.add(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm", "namespace": "argocd"},
            "data": {HEALTH: "hs = {status = 'Healthy'}\nreturn hs\n"},
        }
    )
    key = ("v1", "configmaps", "argocd", "argocd-cm")
    server.owners[key] = {f".data.{HEALTH}": "kubectl-edit"}
    code, _, err = bootstrap(capsys, install_manifest, "--yes")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "ConfigMap argocd/argocd-cm: conflict: Apply failed with 1 conflict" in err
    assert f'.data.{HEALTH} (conflict with "kubectl-edit" using v1)' in err
    assert "never forces" in err
    assert server.objects[key]["data"][HEALTH].startswith("hs = {status = 'Healthy'}")


def test_without_yes_nothing_is_applied_and_403_names_the_object(
    fresh: tuple[ApiServer, str],
    install_manifest: Path,
    capsys: pytest.CaptureFixture[str],
    use_kubeconfig: Any,
    status_reader_rules: list[dict[str, Any]],
) -> None:
    server, url = fresh
    server.users["oncall-token"] = User("oncall@paystream", status_reader_rules)
    use_kubeconfig(url, {CONTEXT: "admin-token", "oncall": "oncall-token"})
    code, out, err = bootstrap(capsys, install_manifest)
    assert code == 2 and "refusing to install into context 'prod-eu1' without --yes" in err
    assert "1. namespace argocd: server-side apply Namespace/argocd" in out
    assert server.requests == []
    code, _, err = bootstrap(capsys, install_manifest, "--yes", "--context", "oncall")
    assert code == 2 and err.count("\n") == 1
    assert "Namespace argocd: no access: cannot get it (403 Forbidden" in err


def test_an_unreadable_install_manifest_is_one_line_and_applies_nothing_after_it(
    fresh: tuple[ApiServer, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, _ = fresh
    missing = tmp_path / "install.yaml"
    code, _, err = bootstrap(capsys, missing, "--yes")
    assert code == 2 and err.count("\n") == 1
    assert f"{missing}: cannot read the install manifest" in err
    assert [r.path for r in patches(server)] == ["/api/v1/namespaces/argocd"]
