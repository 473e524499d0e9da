"""What bootstrap would apply: the pinned Argo CD manifest, then clusters/<env> whose root
Application manages that same folder. The plan is pure; its API calls (server-side apply,
the --yes guard) are tested in tests/kube/test_bootstrap_apply.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from paystream_ops.bootstrap.plan import (
    ARGOCD_INSTALL_URL,
    Apply,
    ApplyManifest,
    WaitReady,
    build_plan,
    check_cluster_folder,
    describe,
)
from paystream_ops.cli import main
from paystream_ops.errors import UserError
from paystream_ops.render import render

pytestmark = pytest.mark.integration  # renders with the pinned kubectl


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_plan_installs_pinned_argocd_then_the_cluster_folder(repo_root: Path, env: str) -> None:
    objects = render(repo_root / "clusters" / env)
    plan = build_plan(env, objects)
    assert ARGOCD_INSTALL_URL == (
        "https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/install.yaml"
    )
    install = next(s for s in plan if isinstance(s, ApplyManifest))
    assert install.url == ARGOCD_INSTALL_URL and install.namespace == "argocd"
    last = plan[-1]
    assert isinstance(last, Apply)
    kinds = {(o["kind"], o["metadata"]["name"]) for o in last.objects}
    assert {
        ("AppProject", "paystream"),
        ("Application", "root"),
        ("ConfigMap", "argocd-cm"),
    } <= kinds
    root = next(o for o in last.objects if o["metadata"]["name"] == "root")
    assert root["spec"]["source"]["path"] == f"clusters/{env}"
    assert f"auth-service-{env}" in {o["metadata"]["name"] for o in last.objects}
    assert plan.index(install) < len(plan) - 1
    waits = [s for s in plan if isinstance(s, WaitReady)]
    assert plan.index(install) < plan.index(waits[0]) and plan.index(waits[-1]) < len(plan) - 1
    assert "server-side apply" in describe(last)


def test_a_root_application_that_does_not_manage_its_folder_is_refused(repo_root: Path) -> None:
    objects = render(repo_root / "clusters" / "staging")
    for obj in objects:
        if obj["kind"] == "Application" and obj["metadata"]["name"] == "root":
            obj["spec"]["source"]["path"] = "clusters/prod"
    with pytest.raises(UserError, match=r"clusters/staging: Application/root: spec.source.path"):
        check_cluster_folder("staging", objects)


def test_dry_run_without_a_kubeconfig_is_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    repo_root: Path,
) -> None:
    """--dry-run is a server dry run: it needs a cluster, and says so in one line."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    monkeypatch.chdir(repo_root)
    assert main(["bootstrap", "--env", "staging", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("paystream-ops bootstrap: error: no kubeconfig") and err.count("\n") == 1
