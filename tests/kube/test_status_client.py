"""`paystream-ops status` against a cluster, through the real `kubernetes` client talking to an
API server on loopback: the objects it serves are the lab's (valid against the pinned CRDs) and
the repository's Applications; errors are the API server's metav1.Status objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from paystream_ops.cli import main
from paystream_ops.freeze.cluster import load_cluster
from paystream_ops.lab.controller_schema import schema_errors
from paystream_ops.status.kube import READS
from paystream_ops.validate.crds import CrdIndex
from paystream_ops.validate.schemas import SchemaValidator

from .apiserver import ApiServer, User
from .conftest import CONTEXT, REPO
from .lab_runs import lab_run

pytestmark = pytest.mark.integration  # a server on loopback, the pinned kustomize


def load_cluster_state(
    server: ApiServer, directory: Path, crds: CrdIndex, frozen: bool = False
) -> None:
    """The lab's objects and prod's Argo CD objects, with the status Argo CD would report."""
    assert schema_errors(directory, crds) == []
    for path in sorted(directory.glob("*.yaml")):
        server.add(yaml.safe_load(path.read_text()))
    cluster = load_cluster(REPO, "prod")
    validator = SchemaValidator(crds)
    for project in cluster.projects.values():
        if not frozen:
            project["spec"].pop("syncWindows", None)
        server.add(project)
    for app in cluster.applications:
        app = json.loads(json.dumps(app))
        app["status"] = {
            "sync": {"status": "Synced", "revision": "4f2c9e1d0b7a6c5e"},
            "health": {
                "status": "Degraded" if app["metadata"]["name"].startswith("auth") else "Healthy"
            },
        }
        assert validator.validate(app) == []
        server.add(app)


def run_status(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["status", "--env", "prod", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_status_lists_through_the_client_and_names_the_failing_network(
    api: tuple[ApiServer, str],
    use_kubeconfig: Any,
    prod_objects: list[dict[str, Any]],
    crd_index: CrdIndex,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, url = api
    load_cluster_state(server, lab_run(prod_objects, "incident", tmp_path / "run"), crd_index)
    use_kubeconfig(url, {CONTEXT: "admin-token"})
    code, out, err = run_status(capsys, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["source"] == f"kube context {CONTEXT}"
    assert data["rollout"]["phase"] == "Degraded"
    assert data["rollout"]["stable"]["revision"] == "1"
    step = next(r for r in data["runs"] if r["kind"] == "Step")
    assert step["deciding"] == ["visa failures"]
    apps = {a["name"]: a for a in data["apps"]}
    assert apps["auth-service-prod"]["part"] == "service"
    assert apps["auth-service-prod"]["health"] == "Degraded"
    assert apps["argo-rollouts"]["part"] == "platform"
    assert data["freeze"]["frozen"] is False
    assert data["notes"] == []
    lists = [(r.method, r.path) for r in server.requests]
    assert ("GET", "/apis/argoproj.io/v1alpha1/namespaces/paystream/rollouts") in lists
    assert ("GET", "/apis/apps/v1/namespaces/paystream/replicasets") in lists
    assert all(method == "GET" for method, _ in lists)  # read-only
    rs = next(r for r in server.requests if r.path.endswith("/replicasets"))
    assert "labelSelector" in rs.query  # only the Rollout's own ReplicaSets
    code, out, _ = run_status(capsys)
    assert code == 0 and "visa failures" in out and "Failed on visa failures" in out


def test_the_read_only_cluster_role_grants_what_status_reads_and_no_more(
    api: tuple[ApiServer, str],
    use_kubeconfig: Any,
    prod_objects: list[dict[str, Any]],
    crd_index: CrdIndex,
    status_reader_rules: list[dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    role = yaml.safe_load((REPO / "scripts" / "rbac" / "status-reader.yaml").read_text())
    assert SchemaValidator(crd_index).validate(role) == []
    verbs = {v for rule in status_reader_rules for v in rule["verbs"]}
    assert verbs <= {"get", "list", "watch"}  # nothing that writes
    server, url = api
    load_cluster_state(server, lab_run(prod_objects, "low-traffic", tmp_path / "run"), crd_index)
    server.users["oncall-token"] = User("oncall@paystream", status_reader_rules)
    use_kubeconfig(url, {CONTEXT: "oncall-token"})
    code, out, err = run_status(capsys, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["notes"] == []  # every read allowed
    assert "Inconclusive" in data["rollout"]["waiting_for"]
    granted = {
        (g, r, v)
        for rule in status_reader_rules
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }
    assert {(r.group, r.plural, r.verb) for r in READS} <= granted


def test_403_names_the_verb_and_resource_missing(
    api: tuple[ApiServer, str],
    use_kubeconfig: Any,
    prod_objects: list[dict[str, Any]],
    crd_index: CrdIndex,
    status_reader_rules: list[dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, url = api
    load_cluster_state(server, lab_run(prod_objects, "healthy", tmp_path / "run"), crd_index)
    without_runs = [
        {**rule, "resources": [r for r in rule["resources"] if r != "analysisruns"]}
        for rule in status_reader_rules
    ]
    without_apps = [
        {**rule, "resources": [r for r in rule["resources"] if r != "applications"]}
        for rule in status_reader_rules
    ]
    server.users["no-runs"] = User("dev@paystream", without_runs)
    server.users["no-apps"] = User("dev@paystream", without_apps)
    use_kubeconfig(url, {CONTEXT: "no-runs", "no-apps": "no-apps"})
    code, out, err = run_status(capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "no access: cannot list analysisruns.argoproj.io in namespace paystream (403" in err
    assert 'User "dev@paystream" cannot list resource "analysisruns"' in err
    # Applications are not needed to judge the release: a note, not a failure.
    code, out, err = run_status(capsys, "--context", "no-apps", "--json")
    assert code == 0, err
    notes = json.loads(out)["notes"]
    assert any("cannot list applications.argoproj.io in namespace argocd" in n for n in notes)


def test_401_missing_rollout_missing_crd_and_no_context_are_one_line(
    api: tuple[ApiServer, str],
    use_kubeconfig: Any,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, url = api
    use_kubeconfig(url, {CONTEXT: "stolen-token", "empty": "admin-token"})
    code, _, err = run_status(capsys)
    assert code == 2 and "401 Unauthorized" in err and err.count("\n") == 1
    code, _, err = run_status(capsys, "--context", "empty")
    assert code == 2 and err.count("\n") == 1
    assert "no Rollout 'auth-service' in namespace paystream (the namespace has no Rollout)" in err
    assert main(["status", "--env", "staging", "--context", "empty"]) == 2
    assert "in namespace paystream-staging" in capsys.readouterr().err  # overlays/staging's
    server.resources.pop("argoproj.io/v1alpha1")  # Argo Rollouts not installed
    code, _, err = run_status(capsys, "--context", "empty")
    assert code == 2 and "does not serve rollouts.argoproj.io (404 Not Found" in err
    code, _, err = run_status(capsys, "--context", "staging-eu1")
    assert code == 2 and "kube context 'staging-eu1' is not in your kubeconfig" in err
    use_kubeconfig(url, {CONTEXT: "admin-token"}, current=None)
    code, _, err = run_status(capsys)
    assert code == 2 and "no current kube context: pass --context NAME" in err
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    code, _, err = run_status(capsys)
    assert code == 2 and err.startswith("paystream-ops status: error: no kubeconfig")


def test_an_unreachable_api_server_is_one_line(
    use_kubeconfig: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from paystream_ops.processes import free_port

    use_kubeconfig(f"http://127.0.0.1:{free_port()}", {CONTEXT: "admin-token"})
    code, _, err = run_status(capsys)
    assert code == 2 and err.count("\n") == 1
    assert "cannot reach the API server at http://127.0.0.1:" in err
