"""`paystream-ops diff` on real git and real kustomize over the repository's layout: each risky
category is flagged on a one-line change, and a pure image bump flags nothing beyond the image."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from paystream_ops.cli import main
from paystream_ops.gitops.diff import rendered_diff
from paystream_ops.gitops.risk import Category

pytestmark = pytest.mark.integration


def edit(clone: Path, rel: str, old: str, new: str) -> None:
    path = clone / rel
    text = path.read_text()
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1))


def commit_change(remote, clone: Path, change: Callable[[Path], None]) -> tuple[str, str]:
    base = remote.git(clone, "rev-parse", "HEAD")
    change(clone)
    remote.git(clone, "commit", "--quiet", "-am", "test: fixture change")
    return base, remote.git(clone, "rev-parse", "HEAD")


ROLLOUT = "base/auth-service/rollout.yaml"
TEMPLATE = "base/analysis/analysis-canary-vs-stable.yaml"
APP_PROD = "apps/prod/auth-service.yaml"
CASES: dict[str, tuple[Callable[[Path], None], set[Category]]] = {
    "canary step weight": (
        lambda c: edit(c, ROLLOUT, "setWeight: 10", "setWeight: 25"),
        {Category.CANARY},
    ),
    "canary steps removed": (
        lambda c: edit(c, ROLLOUT, "        - setWeight: 100\n", ""),
        {Category.CANARY},
    ),
    "route weights": (
        lambda c: edit(c, "base/networking/httproute.yaml", "weight: 0", "weight: 30"),
        {Category.CANARY},
    ),
    "analysis threshold": (
        lambda c: edit(
            c,
            "overlays/prod/analysis-thresholds.yaml",
            'max-failures-score: "4.61"',
            'max-failures-score: "9"',
        ),
        {Category.ANALYSIS},
    ),
    "analysis arg in the rollout": (
        lambda c: edit(c, ROLLOUT, 'value: "1000000"', 'value: "3"'),
        {Category.ANALYSIS},
    ),
    "analysis failure limit": (
        lambda c: edit(
            c,
            TEMPLATE,
            "failureLimit: 0",
            "failureLimit: 5",
        ),
        {Category.ANALYSIS},
    ),
    "rbac verbs": (
        lambda c: edit(
            c,
            "base/networking/rollouts-plugin-rbac.yaml",
            "    verbs:\n      - get\n  - apiGroups:",
            "    verbs:\n      - get\n      - list\n      - watch\n  - apiGroups:",
        ),
        {Category.RBAC},
    ),
    "network policy port": (
        lambda c: edit(
            c,
            "base/policies/networkpolicy-auth-service.yaml",
            "        - port: 15008\n          protocol: TCP\n",
            "",
        ),
        {Category.NETWORK_POLICY},
    ),
    "authorization policy principal": (
        lambda c: edit(
            c,
            "base/networking/authorizationpolicy-l7.yaml",
            "sa/paystream-ingress-istio",
            "sa/*",
        ),
        {Category.AUTHORIZATION_POLICY},
    ),
    "secret remote path": (
        lambda c: edit(
            c,
            "base/secrets/externalsecret-admin-token.yaml",
            "ENV/auth-service/admin-token",
            "ENV/auth-service/admin",
        ),
        {Category.SECRETS},
    ),
    "secret mount path": (
        lambda c: edit(
            c,
            ROLLOUT,
            "- name: secrets\n              mountPath: /var/run/secrets/paystream",
            "- name: secrets\n              mountPath: /etc/paystream",
        ),
        {Category.SECRETS},
    ),
    "argo cd self heal": (
        lambda c: edit(c, APP_PROD, "selfHeal: true", "selfHeal: false"),
        {Category.SYNC_POLICY},
    ),
    "argo cd target revision": (
        lambda c: edit(c, APP_PROD, "targetRevision: main", "targetRevision: feature"),
        {Category.SYNC_POLICY},
    ),
    "autoscaler bounds only": (
        lambda c: edit(
            c, "overlays/prod/horizontalpodautoscaler.yaml", "maxReplicas: 24", "maxReplicas: 30"
        ),
        set(),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_risky_category_is_flagged(remote, case: str) -> None:
    change, expected = CASES[case]
    clone = remote.clone("dev")
    base, head = commit_change(remote, clone, change)

    report = rendered_diff(clone, base, head)

    assert report.changes, "the fixture change must change rendered objects"
    assert {r.category for r in report.risks} == expected


def test_pure_image_bump_flags_only_the_image_line(remote) -> None:
    clone = remote.clone("dev")
    code = main(
        ["bump", "staging", "--image", remote.ref("1.5.0", "c"), "--repo", str(clone), "--no-push"]
    )
    assert code == 0

    report = rendered_diff(clone, "HEAD~1", "HEAD")

    assert [(c.target, c.object_id, c.status) for c in report.changes] == [
        ("overlays/staging", "Rollout.argoproj.io paystream-staging/auth-service", "changed")
    ]
    assert [(r.category, r.where) for r in report.risks] == [
        (Category.IMAGE, "spec.template.spec.containers[name=auth-service].image")
    ]
    assert report.risks[0].detail == (
        "ghcr.io/paystream/auth-service:1.4.0@sha256:aaaaaaaaaaaa → "
        "ghcr.io/paystream/auth-service:1.5.0@sha256:cccccccccccc"
    )
    changed_lines = [
        line
        for line in report.changes[0].diff.splitlines()
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    assert len(changed_lines) == 2 and all("image:" in line for line in changed_lines)


def test_diff_uses_worktrees_and_leaves_the_checkout_alone(remote, capsys, tmp_path) -> None:
    clone = remote.clone("dev")
    base, head = commit_change(
        remote,
        clone,
        lambda c: edit(
            c,
            "base/networking/rollouts-plugin-rbac.yaml",
            "    verbs:\n      - get\n  - apiGroups:",
            "    verbs:\n      - get\n      - list\n  - apiGroups:",
        ),
    )
    (clone / "scratch.txt").write_text("untracked work in progress\n")
    edit(clone, "apps/staging/auth-service.yaml", "selfHeal: true", "selfHeal: false")
    status_before = remote.git(clone, "status", "--porcelain")
    markdown, full = tmp_path / "diff.md", tmp_path / "diff.patch"

    code = main(
        [
            "diff",
            "--base",
            base,
            "--head",
            head,
            "--repo",
            str(clone),
            "--markdown",
            str(markdown),
            "--output",
            str(full),
        ]
    )

    out = capsys.readouterr().out
    assert code == 0
    assert remote.git(clone, "status", "--porcelain") == status_before
    assert remote.git(clone, "rev-parse", "HEAD") == head
    assert remote.git(clone, "worktree", "list").count("\n") == 0  # only the main checkout
    # The uncommitted selfHeal edit is not part of head: only RBAC is flagged.
    assert "[RBAC]" in out and "sync policy" not in out
    comment = markdown.read_text()
    assert comment.startswith("<!-- paystream-ops:rendered-diff -->")
    assert "| RBAC |" in comment
    assert any(
        line.startswith("+") and line.strip().endswith("- list")
        for line in full.read_text().splitlines()
    )


def test_diff_covers_targets_added_at_head(remote) -> None:
    clone = remote.clone("dev")

    def add_overlay(c: Path) -> None:
        # A new environment: staging's overlay under another name (its Alertmanager aside).
        shutil.copytree(
            c / "overlays" / "staging",
            c / "overlays" / "qa",
            ignore=shutil.ignore_patterns("alertmanager"),
        )
        remote.git(c, "add", "overlays/qa")

    base, head = commit_change(remote, clone, add_overlay)
    report = rendered_diff(clone, base, head)
    added = {c.object_id for c in report.changes if c.target == "overlays/qa"}
    assert "Rollout.argoproj.io paystream-staging/auth-service" in added
    assert all(c.status == "added" for c in report.changes)
    assert Category.RBAC in {r.category for r in report.risks}


def test_secret_values_never_reach_the_diff(remote) -> None:
    clone = remote.clone("dev")
    first_value, second_value = "c2VjcmV0LW9uZQ==", "c2VjcmV0LXR3bw=="

    def add_secret(value: str) -> Callable[[Path], None]:
        def change(c: Path) -> None:
            (c / "apps" / "secret.yaml").write_text(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: repo-creds\n"
                f"  namespace: argocd\ndata:\n  password: {value}\n"
            )
            remote.git(c, "add", "apps/secret.yaml")

        return change

    commit_change(remote, clone, add_secret(first_value))
    base, head = commit_change(remote, clone, add_secret(second_value))
    report = rendered_diff(clone, base, head)
    text = "".join(c.diff for c in report.changes) + repr(report.risks)
    assert first_value not in text and second_value not in text
    assert re.search(r"<redacted [0-9a-f]{12}>", text)
    assert {r.category for r in report.risks} == {Category.SECRETS}


def test_a_ref_that_does_not_render_is_a_one_line_error_naming_ref_and_path(remote, capsys) -> None:
    clone = remote.clone("dev")
    base, _ = commit_change(
        remote,
        clone,
        lambda c: edit(c, "overlays/staging/kustomization.yaml", "../../base/auth-service", "../x"),
    )
    code = main(["diff", "--base", base, "--repo", str(clone)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "HEAD:overlays/staging: kustomize build failed" in err
    assert remote.git(clone, "worktree", "list").count("\n") == 0
