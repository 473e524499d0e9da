"""`paystream-ops rollback` on real git: the revert of the last live image change, restoring
the rendered overlay byte for byte; reverts, reverts of reverts and merged PRs are followed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from paystream_ops.cli import main
from paystream_ops.render import render_to_text

pytestmark = pytest.mark.integration

PROD = "overlays/prod/kustomization.yaml"
STAGING = "overlays/staging/kustomization.yaml"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def bump(capsys, clone: Path, env: str, image: str) -> str:
    code, out, err = run(capsys, "bump", env, "--image", image, "--repo", str(clone))
    assert code == 0, err
    return out.splitlines()[0]


def test_revert_of_a_bump_restores_the_rendered_overlay_byte_for_byte(remote, capsys) -> None:
    clone = remote.clone("dev")
    rendered_before = render_to_text(clone / "overlays/prod")
    file_before = (clone / PROD).read_bytes()
    bump_commit = bump(capsys, clone, "prod", remote.ref("1.4.0", "a"))
    assert render_to_text(clone / "overlays/prod") != rendered_before

    code, out, err = run(capsys, "rollback", "prod", "--repo", str(clone), "--json")

    assert code == 0, err
    result = json.loads(out)
    assert result["reverted"] == bump_commit
    assert remote.git(clone, "rev-parse", "HEAD") == result["commit"]
    assert remote.git(clone, "rev-parse", "HEAD^") == bump_commit
    assert (clone / PROD).read_bytes() == file_before
    assert render_to_text(clone / "overlays/prod") == rendered_before
    message = remote.git(clone, "log", "-1", "--format=%B")
    assert message.splitlines()[0] == "revert(prod): roll back auth-service 1.4.0 -> 1.3.0"
    assert f"This reverts commit {bump_commit}." in message
    assert remote.git(clone, "diff", "--name-only", "HEAD^", "HEAD") == PROD


def test_rollback_with_no_bump_in_history_refuses(remote, capsys) -> None:
    clone = remote.clone("dev")
    head = remote.git(clone, "rev-parse", "HEAD")
    code, out, err = run(capsys, "rollback", "prod", "--repo", str(clone))
    assert code == 3
    assert out == ""
    assert err.strip().splitlines() == [
        "paystream-ops rollback: error: overlays/prod/kustomization.yaml: "
        "no image change in the history to revert"
    ]
    assert remote.git(clone, "rev-parse", "HEAD") == head


def test_rollback_picks_the_environments_own_last_bump(remote, capsys) -> None:
    clone = remote.clone("dev")
    prod_bump = bump(capsys, clone, "prod", remote.ref("1.4.0", "a"))
    bump(capsys, clone, "staging", remote.ref("1.5.0", "c"))
    code, out, err = run(capsys, "rollback", "prod", "--repo", str(clone), "--json")
    assert code == 0, err
    assert json.loads(out)["reverted"] == prod_bump
    assert "newTag: 1.5.0" in (clone / STAGING).read_text()


def test_rollback_twice_unwinds_bumps_like_a_stack(remote, capsys) -> None:
    clone = remote.clone("dev")
    original = (clone / STAGING).read_bytes()
    first = bump(capsys, clone, "staging", remote.ref("1.5.0", "c"))
    second = bump(capsys, clone, "staging", remote.ref("1.6.0", "d"))

    code, out, _ = run(capsys, "rollback", "staging", "--repo", str(clone), "--json")
    assert code == 0 and json.loads(out)["reverted"] == second
    code, out, _ = run(capsys, "rollback", "staging", "--repo", str(clone), "--json")
    assert code == 0 and json.loads(out)["reverted"] == first
    assert (clone / STAGING).read_bytes() == original
    code, _, err = run(capsys, "rollback", "staging", "--repo", str(clone))
    assert code == 3 and "no image change" in err


def test_a_revert_of_a_revert_is_the_live_change(remote, capsys) -> None:
    clone = remote.clone("dev")
    bump(capsys, clone, "staging", remote.ref("1.5.0", "c"))
    code, out, _ = run(capsys, "rollback", "staging", "--repo", str(clone), "--json")
    revert = json.loads(out)["commit"]
    remote.git(clone, "revert", "--no-edit", revert)  # someone re-applies by hand
    reapply = remote.git(clone, "rev-parse", "HEAD")
    code, out, err = run(capsys, "rollback", "staging", "--repo", str(clone), "--json")
    assert code == 0, err
    assert json.loads(out)["reverted"] == reapply
    assert "newTag: 1.4.0" in (clone / STAGING).read_text()


def test_rollback_to_a_given_commit_and_refusals(remote, capsys) -> None:
    clone = remote.clone("dev")
    first = bump(capsys, clone, "staging", remote.ref("1.5.0", "c"))
    bump(capsys, clone, "prod", remote.ref("1.4.0", "a"))
    code, out, err = run(
        capsys, "rollback", "staging", "--to", first[:12], "--repo", str(clone), "--json"
    )
    assert code == 0, err
    assert json.loads(out)["reverted"] == first
    head = remote.git(clone, "rev-parse", "HEAD")
    # Already reverted, and a commit that is no image change of the environment.
    code, _, err = run(capsys, "rollback", "staging", "--to", first, "--repo", str(clone))
    assert code == 3 and "already reverted" in err
    code, _, err = run(capsys, "rollback", "prod", "--to", first, "--repo", str(clone))
    assert code == 2 and "not a commit that changed the image" in err
    assert remote.git(clone, "rev-parse", "HEAD") == head


def test_rollback_expect_image_guards_against_reverting_the_wrong_change(remote, capsys) -> None:
    clone = remote.clone("dev")
    bump(capsys, clone, "prod", remote.ref("1.4.0", "a"))
    head = remote.git(clone, "rev-parse", "HEAD")
    code, _, err = run(
        capsys, "rollback", "prod", "--expect-image", remote.ref("1.9.9", "e"), "--repo", str(clone)
    )
    assert code == 3
    assert "Git has moved on" in err
    assert remote.git(clone, "rev-parse", "HEAD") == head


def test_rollback_on_a_branch_pushes_it_without_touching_the_checkout(remote, capsys) -> None:
    clone = remote.clone("dev")
    bump_commit = bump(capsys, clone, "prod", remote.ref("1.4.0", "a"))
    remote.git(clone, "push", "--quiet", "origin", "main")
    code, out, err = run(
        capsys,
        "rollback",
        "prod",
        "--repo",
        str(clone),
        "--branch",
        "rollback/prod-aaaa",
        "--push",
        "--expect-image",
        remote.ref("1.4.0", "a"),
        "--reason",
        "analysis failed",
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert remote.git(clone, "rev-parse", "HEAD") == bump_commit
    assert remote.git(remote.bare, "rev-parse", "rollback/prod-aaaa") == result["commit"]
    message = remote.git(remote.bare, "log", "-1", "--format=%B", "rollback/prod-aaaa")
    assert "analysis failed" in message
    assert "newTag: 1.3.0" in remote.show(PROD, "rollback/prod-aaaa")


def test_rollback_reverts_a_promotion_merged_with_a_merge_commit(
    remote, capsys, record_evidence
) -> None:
    clone = remote.clone("dev")
    bump(capsys, clone, "staging", remote.ref("1.5.0", "c"))
    record_evidence(clone, remote.ref("1.5.0", "c"))
    code, out, err = run(capsys, "promote", "--repo", str(clone), "--json")
    assert code == 0, err
    branch = json.loads(out)["branch"]
    remote.git(clone, "merge", "--quiet", "--no-ff", "-m", "Merge pull request #7", branch)
    merge = remote.git(clone, "rev-parse", "HEAD")

    code, out, err = run(capsys, "rollback", "prod", "--repo", str(clone), "--json")

    assert code == 0, err
    assert json.loads(out)["reverted"] == merge
    assert "newTag: 1.3.0" in (clone / PROD).read_text()
    # The revert, merged back the same way, is recognised: nothing left to roll back.
    remote.git(clone, "checkout", "--quiet", "-b", "revert-branch", "HEAD")
    remote.git(clone, "checkout", "--quiet", "main")
    remote.git(clone, "reset", "--quiet", "--hard", "HEAD^")
    remote.git(clone, "merge", "--quiet", "--no-ff", "-m", "Merge pull request #8", "revert-branch")
    code, _, err = run(capsys, "rollback", "prod", "--repo", str(clone))
    assert code == 3, err


def test_rollback_refuses_a_dirty_checkout_and_push_without_branch(remote, capsys) -> None:
    clone = remote.clone("dev")
    bump(capsys, clone, "prod", remote.ref("1.4.0", "a"))
    code, _, err = run(capsys, "rollback", "prod", "--repo", str(clone), "--push")
    assert code == 2 and "--push needs --branch" in err
    (clone / PROD).write_text("# edited\n" + (clone / PROD).read_text())
    code, _, err = run(capsys, "rollback", "prod", "--repo", str(clone))
    assert code == 2 and "uncommitted changes" in err


def test_the_revert_names_each_failed_network_and_signal(remote, capsys) -> None:
    """The abort notification's failed metrics become lines the on-call reads in the PR."""
    clone = remote.clone("dev")
    bump(capsys, clone, "prod", remote.ref("1.4.0", "a"))
    code, _, err = run(
        capsys,
        "rollback",
        "prod",
        "--repo",
        str(clone),
        "--reason",
        'Argo Rollouts aborted the canary: Metric "visa-failures" assessed Failed',
        "--failed-metrics",
        "visa-failures=[9.31]; amex-latency=[12.4]",
        "--json",
    )
    assert code == 0, err
    message = remote.git(clone, "log", "-1", "--format=%B")
    assert "- Visa: failures, score 9.31 (visa-failures)" in message
    assert "- Amex: latency, score 12.4 (amex-latency)" in message


def test_verdict_lines_keep_what_they_cannot_read() -> None:
    from paystream_ops.gitops.messages import verdict_lines

    assert verdict_lines(None) == []
    assert verdict_lines("mastercard-approvals=[6.2];;garbage") == [
        "- Mastercard: declines, score 6.2 (mastercard-approvals)",
        "- garbage",
    ]
    assert verdict_lines("p99-vs-slo=[3.1]") == ["- p99-vs-slo 3.1"]


def test_the_json_result_lists_the_verdict_lines_for_the_pull_request(remote, capsys) -> None:
    clone = remote.clone("dev")
    bump(capsys, clone, "prod", remote.ref("1.4.0", "a"))
    code, out, err = run(
        capsys,
        "rollback",
        "prod",
        "--repo",
        str(clone),
        "--failed-metrics",
        "discover-latency=[21.7]",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["verdicts"] == ["- Discover: latency, score 21.7 (discover-latency)"]
