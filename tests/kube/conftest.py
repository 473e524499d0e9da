"""Fixtures for the tools that talk to the Kubernetes API: the prod overlay, the Argo CRDs,
and a small API server on loopback with a kubeconfig pointing at it (the CRD directory:
the repository root conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from paystream_ops.paths import overlay_dir
from paystream_ops.render import render

from .apiserver import ApiServer, Running, User, kubeconfig

REPO = Path(__file__).resolve().parents[2]
CONTEXT = "prod-eu1"


@pytest.fixture(scope="session")
def prod_objects() -> list[dict[str, Any]]:
    return render(overlay_dir("prod"))


@pytest.fixture(scope="session")
def status_reader_rules() -> list[dict[str, Any]]:
    """The rules of the read-only ClusterRole `status` documents."""
    role = yaml.safe_load((REPO / "scripts" / "rbac" / "status-reader.yaml").read_text())
    rules: list[dict[str, Any]] = role["rules"]
    return rules


@pytest.fixture(scope="session")
def argo_crds(crds_dir: Path) -> list[dict[str, Any]]:
    """Argo Rollouts' and Argo CD's pinned CRDs (parsed once: they are large)."""
    paths = [
        crds_dir / "argo-rollouts" / f"{n}.argoproj.io.yaml" for n in ("rollouts", "analysisruns")
    ]
    paths += [
        crds_dir / "argo-cd" / f"{n}.argoproj.io.yaml" for n in ("applications", "appprojects")
    ]
    return [yaml.load(p.read_text(), Loader=yaml.CSafeLoader) for p in paths]


@pytest.fixture
def api(argo_crds: list[dict[str, Any]]) -> Iterator[tuple[ApiServer, str]]:
    """The server (Argo Rollouts' and Argo CD's CRDs served) and its URL; the token
    "admin-token" may do everything."""
    server = ApiServer(users={"admin-token": User("admin", None)})
    for crd in argo_crds:
        server.serve_crd(crd)
    with Running(server) as running:
        yield server, running.url


@pytest.fixture
def use_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Write a kubeconfig (context name -> token) for the server and point KUBECONFIG at it."""

    def write(url: str, contexts: dict[str, str], current: str | None = CONTEXT) -> Path:
        path = tmp_path / "kubeconfig"
        path.write_text(kubeconfig(url, contexts, current))
        monkeypatch.setenv("KUBECONFIG", str(path))
        return path

    return write
