"""`paystream-ops promote` on real git: a branch whose only change is prod's image, set to the
exact image staging runs, built without touching the user's checkout."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from paystream_ops.cli import main

pytestmark = pytest.mark.integration

PROD = "overlays/prod/kustomization.yaml"
STAGING = "overlays/staging/kustomization.yaml"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def bumped_clone(remote, capsys, image: str, record_evidence=None) -> tuple[Path, str]:
    """A clone where staging was just bumped to `image` (and its rollout recorded as evidence
    when `record_evidence` is given)."""
    clone = remote.clone("dev")
    code, out, err = run(capsys, "bump", "staging", "--image", image, "--repo", str(clone))
    assert code == 0, err
    if record_evidence is not None:
        record_evidence(clone, image)
    return clone, out.splitlines()[0]


def test_promote_opens_a_branch_with_only_prods_image_set_to_stagings(
    remote, capsys, record_evidence
) -> None:
    image = remote.ref("1.5.0", "c")
    clone, staging_commit = bumped_clone(remote, capsys, image, record_evidence)
    head_before = remote.git(clone, "rev-parse", "HEAD")

    code, out, err = run(
        capsys,
        "promote",
        "--from",
        "staging",
        "--to",
        "prod",
        "--repo",
        str(clone),
        "--push",
        "--json",
        "--repo-url",
        "https://github.com/paystream/platform",
    )

    assert code == 0, err
    result = json.loads(out)
    branch, commit = result["branch"], result["commit"]
    assert branch == "promote/prod-1.5.0-cccccccccccc"
    # The user's checkout did not move and is clean.
    assert remote.git(clone, "rev-parse", "HEAD") == head_before
    assert remote.git(clone, "symbolic-ref", "--short", "HEAD") == "main"
    assert remote.git(clone, "status", "--porcelain") == ""
    # The branch is on the remote, one commit on top of main, touching only prod's overlay.
    assert remote.git(remote.bare, "rev-parse", branch) == commit
    assert remote.git(remote.bare, "rev-parse", f"{commit}^") == head_before
    assert remote.git(remote.bare, "diff", "--name-only", f"{commit}^", commit) == PROD
    prod = remote.show(PROD, branch)
    assert "    newTag: 1.5.0\n" in prod
    assert "    digest: sha256:" + "c" * 64 + "\n" in prod
    message = remote.git(remote.bare, "log", "-1", "--format=%B", commit)
    assert (
        message.splitlines()[0] == "chore(prod): promote auth-service 1.3.0 -> 1.5.0 from staging"
    )
    assert staging_commit in message
    assert f"https://github.com/paystream/platform/commit/{staging_commit}" in message
    assert f"Paystream-Promoted-From: staging@{staging_commit}" in message
    assert result["title"] == message.splitlines()[0]
    # staging's overlay on the branch is untouched
    assert remote.show(STAGING, branch) == remote.show(STAGING, "main")


def test_promote_refuses_when_prod_already_runs_stagings_image(remote, capsys) -> None:
    clone = remote.clone("dev")
    code, _, err = run(
        capsys, "bump", "prod", "--image", remote.ref("1.4.0", "a"), "--repo", str(clone)
    )
    assert code == 0, err
    branches_before = remote.git(clone, "branch", "--list")

    code, out, err = run(capsys, "promote", "--repo", str(clone))

    assert code == 3
    assert out == ""
    assert err.strip().splitlines() == [
        "paystream-ops promote: error: prod already runs the image staging runs "
        f"({remote.ref('1.4.0', 'a')})"
    ]
    assert remote.git(clone, "branch", "--list") == branches_before


def test_promote_refuses_a_staging_image_without_digest(remote, capsys) -> None:
    clone, _ = bumped_clone(remote, capsys, remote.ref("1.5.0", None))
    code, _, err = run(capsys, "promote", "--repo", str(clone))
    assert code == 2
    assert "prod requires a digest" in err
    assert len(err.strip().splitlines()) == 1
    assert remote.git(clone, "branch", "--list", "promote/*") == ""


def test_promote_waits_for_the_soak_time(remote, capsys) -> None:
    clone, _ = bumped_clone(remote, capsys, remote.ref("1.5.0", "c"))
    code, _, err = run(capsys, "promote", "--repo", str(clone), "--min-soak-hours", "24")
    assert code == 3
    assert "less than the 24h soak" in err
    assert remote.git(clone, "branch", "--list", "promote/*") == ""


def test_promote_twice_does_not_open_a_second_branch(remote, capsys, record_evidence) -> None:
    clone, _ = bumped_clone(remote, capsys, remote.ref("1.5.0", "c"), record_evidence)
    code, _, err = run(capsys, "promote", "--repo", str(clone), "--push")
    assert code == 0, err
    other = remote.clone("other")
    code, _, err = run(capsys, "promote", "--repo", str(other), "--push")
    assert code == 3
    assert "already has branch 'promote/prod-1.5.0-cccccccccccc'" in err


def test_soak_is_measured_from_the_staging_bump_commit(
    remote, capsys, monkeypatch, record_evidence
) -> None:
    clone = remote.clone("dev")
    day_ago = str(int(time.time()) - 26 * 3600)
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{day_ago} +0000")
    code, _, err = run(
        capsys, "bump", "staging", "--image", remote.ref("1.5.0", "c"), "--repo", str(clone)
    )
    assert code == 0, err
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    record_evidence(clone, remote.ref("1.5.0", "c"))
    code, _, err = run(capsys, "promote", "--repo", str(clone), "--min-soak-hours", "24")
    assert code == 0, err
