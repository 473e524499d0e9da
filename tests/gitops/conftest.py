"""Real git repositories for the delivery tests: a bare remote plus clones, seeded with a copy of
this repository's own `apps/`, `base/`, `clusters/` and `overlays/` (the layout bump, promote,
rollback and diff work on in production), each overlay's image set to a known starting point."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SEEDED_FROM_REPO = ("apps", "base", "clusters", "overlays")
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
DIGEST_C = "sha256:" + "c" * 64
DIGEST_D = "sha256:" + "d" * 64
DIGEST_E = "sha256:" + "e" * 64
IMAGE = "ghcr.io/paystream/auth-service"
# What each overlay runs in the seeded repository: staging one release ahead of prod.
STARTING_IMAGES = {"staging": ("1.4.0", DIGEST_A), "prod": ("1.3.0", DIGEST_B)}


def git(cwd: Path, *args: str, input_text: str | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, input=input_text
    )
    assert proc.returncode == 0, f"git {' '.join(args)} failed: {proc.stderr}"
    return proc.stdout.strip()


@dataclass
class Remote:
    """A bare 'origin' and a place to make clones of it."""

    bare: Path
    workdir: Path

    def clone(self, name: str) -> Path:
        path = self.workdir / name
        git(self.workdir, "clone", "--quiet", str(self.bare), str(path))
        return path

    def log(self, *args: str) -> list[str]:
        out = git(self.bare, "log", "--format=%H %s", "main", *args)
        return out.splitlines()

    def show(self, path: str, ref: str = "main") -> str:
        proc = subprocess.run(
            ["git", "show", f"{ref}:{path}"], cwd=self.bare, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def head(self) -> str:
        return git(self.bare, "rev-parse", "main")

    @staticmethod
    def git(cwd: Path, *args: str) -> str:
        return git(cwd, *args)

    @staticmethod
    def ref(tag: str | None, letter: str | None) -> str:
        """An image reference for the fixture image, e.g. ref("1.5.0", "c")."""
        text = IMAGE
        if tag:
            text += f":{tag}"
        if letter:
            text += "@sha256:" + letter * 64
        return text


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git config leaks in (signing, hooks, templates); a fixed identity."""
    home = tmp_path_factory.mktemp("githome")
    config = home / "gitconfig"
    config.write_text(
        "[user]\n\tname = Release Bot\n\temail = release-bot@paystream.test\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
        "[advice]\n\tdetachedHead = false\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)


def real_layout(dest: Path) -> Path:
    """A copy of the repository's apps/, base/, clusters/ and overlays/ with each overlay's
    `images:` entry set to `STARTING_IMAGES` and prod's change-freeze windows emptied (a delivery
    test must not depend on today's date; tests/gitops/test_freeze_gates.py sets its own)."""
    for name in SEEDED_FROM_REPO:
        shutil.copytree(REPO / name, dest / name)
    for env, (tag, digest) in STARTING_IMAGES.items():
        path = dest / "overlays" / env / "kustomization.yaml"
        text, tags = re.subn(r"(?m)^(    newTag: ).*$", rf"\g<1>{tag}", path.read_text())
        text, digests = re.subn(r"(?m)^(    digest: ).*$", rf"\g<1>{digest}", text)
        assert (tags, digests) == (1, 1), f"{path}: expected one newTag and one digest line"
        path.write_text(text)
    project = dest / "clusters" / "prod" / "appproject.yaml"
    head, found, _ = project.read_text().partition("\n  syncWindows:\n")
    assert found, f"{project}: expected spec.syncWindows as its last block"
    project.write_text(head + "\n  syncWindows: []\n")
    return dest


def seed_remote(workdir: Path, tree: Path | None = None) -> Remote:
    seed = workdir / "seed"
    if tree is None:
        real_layout(seed)
    else:
        shutil.copytree(tree, seed)
    git(seed, "init", "--quiet", "--initial-branch=main")
    git(seed, "add", "-A")
    git(seed, "commit", "--quiet", "-m", "chore: initial platform")
    bare = workdir / "origin.git"
    git(workdir, "clone", "--quiet", "--bare", str(seed), str(bare))
    shutil.rmtree(seed)
    return Remote(bare=bare, workdir=workdir)


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Remote]:
    yield seed_remote(tmp_path)


@pytest.fixture
def remote_factory() -> Callable[[Path, Path], Remote]:
    """Seed a remote from any tree (e.g. a copy of the real manifests)."""

    def make(workdir: Path, tree: Path) -> Remote:
        workdir.mkdir(parents=True, exist_ok=True)
        return seed_remote(workdir, tree)

    return make


def _completed_payload(image: str, revision: str = "7", env: str = "staging") -> dict[str, Any]:
    """The `client_payload` base/delivery's completed-rollout template renders for a healthy
    canary (tests/workflows/test_completion_contract.py renders the real template): two step
    runs and the background run, newest first, with per-network metrics."""

    def metric(name: str, value: str) -> dict[str, Any]:
        return {
            "name": name,
            "phase": "Successful",
            "count": 4,
            "successful": 4,
            "failed": 0,
            "inconclusive": 0,
            "error": 0,
            "value": value,
            "started_at": "2026-12-04T10:00:30Z",
            "finished_at": "2026-12-04T10:02:00Z",
        }

    step_metrics = [
        metric("visa-failures", "0.0012"),
        metric("visa-approvals", "0.931"),
        metric("visa-latency", "0.212"),
        metric("mastercard-failures", "0.0009"),
        metric("failure-ratio-delta", "[0.001,0,0,0]"),
        # The figures (dry-run, never a verdict) the last step analysis measures.
        metric("visa-canary-requests", "[1250]"),
        metric("visa-canary-failure-ratio", "[0.0016]"),
        metric("visa-canary-approval-ratio", "[0.9312]"),
        metric("visa-canary-p99-seconds", "[0.2125]"),
        metric("mastercard-canary-requests", "[12]"),
        metric("mastercard-canary-failure-ratio", "[NaN]"),
    ]
    return {
        "environment": env,
        "namespace": f"paystream-{env}",
        "rollout": "auth-service",
        "image": image,
        "revision": revision,
        "rollout_status": {
            "aborted": False,
            "promote_full": False,
            "step_index": 5,
            "steps": 5,
            "phase": "Progressing",
            "message": 'canary "ok"\nsecond line',
            "canary_hash": "5b9c7d8e1",
            "stable_hash": "6d4f8b7c9",
        },
        "completed_at": "2026-12-04T10:05:00Z",
        "analysis_runs": [
            {
                "name": f"auth-service-5b9c7d8e1-{revision}-3",
                "type": "Step",
                "phase": "Successful",
                "started_at": "2026-12-04T10:03:00Z",
                "metrics": step_metrics,
                "args": [
                    {"name": "min-requests", "value": "30"},
                    {"name": "max-failures-score", "value": "4.61"},
                    {"name": "max-approvals-score", "value": "4.61"},
                    {"name": "max-latency-score", "value": "5.00"},
                ],
            },
            {
                "name": f"auth-service-5b9c7d8e1-{revision}-1",
                "type": "Step",
                "phase": "Successful",
                "started_at": "2026-12-04T10:00:00Z",
                "metrics": [metric("visa-failures", "0.0031")],
            },
            {
                "name": f"auth-service-5b9c7d8e1-{revision}",
                "type": "Background",
                "phase": "Running",
                "started_at": "2026-12-04T10:00:00Z",
                "metrics": [{**metric("visa-failures", "0.001"), "phase": "Running"}],
            },
        ],
    }


def _record_evidence(clone: Path, image: str, revision: str = "7") -> str:
    """Record a healthy completion of `image` on the clone's main and push it (what
    .github/workflows/staging-evidence.yaml does); returns the evidence commit."""
    from paystream_ops.gitops.evidence_record import record

    payload = json.dumps(_completed_payload(image, revision))
    git(clone, "pull", "--quiet", "--ff-only")
    return record(clone, payload, "payload.json", push=True).commit


@pytest.fixture
def completed_payload() -> Callable[..., dict[str, Any]]:
    return _completed_payload


@pytest.fixture
def record_evidence() -> Callable[..., str]:
    return _record_evidence
