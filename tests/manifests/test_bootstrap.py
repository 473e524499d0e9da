"""What bootstrap would apply: the pinned Argo CD manifest, then clusters/<env> whose root
Application manages that same folder. (No cluster here: the plan is the contract.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from paystream_ops.bootstrap.plan import ARGOCD_INSTALL_URL, build_plan, check_cluster_folder
from paystream_ops.cli import main
from paystream_ops.errors import UserError
from paystream_ops.render import render

pytestmark = pytest.mark.integration  # renders with the pinned kubectl


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_plan_installs_pinned_argocd_then_the_cluster_folder(repo_root: Path, env: str) -> None:
    objects = render(repo_root / "clusters" / env)
    plan = build_plan(env, objects, "kubectl", "ctx")
    assert ARGOCD_INSTALL_URL == (
        "https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/install.yaml"
    )
    install = next(s for s in plan if ARGOCD_INSTALL_URL in s.argv)
    assert "--server-side" in install.argv and install.argv[1:3] == ("--context", "ctx")
    applied = list(yaml.safe_load_all(plan[-1].stdin or ""))
    kinds = {(o["kind"], o["metadata"]["name"]) for o in applied}
    assert {
        ("AppProject", "paystream"),
        ("Application", "root"),
        ("ConfigMap", "argocd-cm"),
    } <= kinds
    root = next(o for o in applied if o["metadata"]["name"] == "root")
    assert root["spec"]["source"]["path"] == f"clusters/{env}"
    assert f"auth-service-{env}" in {o["metadata"]["name"] for o in applied}
    assert plan.index(install) < len(plan) - 1


def test_a_root_application_that_does_not_manage_its_folder_is_refused(repo_root: Path) -> None:
    objects = render(repo_root / "clusters" / "staging")
    for obj in objects:
        if obj["kind"] == "Application" and obj["metadata"]["name"] == "root":
            obj["spec"]["source"]["path"] = "clusters/prod"
    with pytest.raises(UserError, match=r"clusters/staging: Application/root: spec.source.path"):
        check_cluster_folder("staging", objects)


def test_dry_run_prints_the_plan_and_applies_nothing(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    repo_root: Path,
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    monkeypatch.chdir(repo_root)
    assert main(["bootstrap", "--env", "staging", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert ARGOCD_INSTALL_URL in out
    assert "clusters/staging: AppProject, argocd-cm, root Application" in out
    assert "bootstrap done" not in out


def test_installing_needs_yes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, repo_root: Path
) -> None:
    monkeypatch.chdir(repo_root)
    assert main(["bootstrap", "--env", "prod", "--context", "prod-cluster"]) == 2
    err = capsys.readouterr().err
    assert "refusing to install into context 'prod-cluster' without --yes" in err
