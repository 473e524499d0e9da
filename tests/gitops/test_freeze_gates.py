"""The change freeze in the delivery commands, on real git repositories with a bare remote:
a promotion inside a deny window is refused and writes nothing; with a break-glass reason it
opens the branch whose commit (hence pull request) carries the reason; a rollback inside a
window is never refused, and says which manual sync applies it."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from paystream_ops.cli import main
from paystream_ops.freeze.gate import FROZEN_EXIT_CODE, Frozen
from paystream_ops.gitops.promote import promote
from paystream_ops.gitops.rollback import rollback

pytestmark = pytest.mark.integration

PROJECT = "clusters/prod/appproject.yaml"
ALWAYS_DENY = """  syncWindows:
    - kind: deny
      schedule: "* * * * *"
      duration: 1h
      timeZone: America/New_York
      manualSync: true
      applications: [auth-service-prod]
"""
REASON = "INC-4711: Visa timeouts, the fix must ship before the peak"
REPO = Path(__file__).resolve().parents[2]
BLACK_FRIDAY_NOON = datetime(2026, 11, 27, 12, tzinfo=ZoneInfo("America/New_York")).timestamp()


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def frozen_clone(remote, capsys, record_evidence, windows: str = ALWAYS_DENY) -> Path:
    """A clone whose prod project denies automated syncs right now, staging ahead of prod."""
    clone = remote.clone("dev")
    project = clone / PROJECT
    project.write_text(project.read_text().replace("  syncWindows: []\n", windows))
    remote.git(clone, "commit", "--quiet", "-am", "chore(prod): change freeze")
    remote.git(clone, "push", "--quiet", "origin", "main")
    code, _, err = run(
        capsys, "bump", "staging", "--image", remote.ref("1.5.0", "c"), "--repo", str(clone)
    )
    assert code == 0, err
    record_evidence(clone, remote.ref("1.5.0", "c"))
    return clone


def snapshot(remote, clone: Path) -> tuple[str, ...]:
    return (
        remote.git(clone, "rev-parse", "HEAD"),
        remote.git(clone, "status", "--porcelain"),
        remote.git(clone, "branch", "--list"),
        remote.git(clone, "worktree", "list", "--porcelain"),
        remote.git(remote.bare, "for-each-ref", "--format=%(refname) %(objectname)"),
    )


def test_a_promotion_inside_a_window_is_refused_and_writes_nothing(
    remote, capsys, record_evidence
) -> None:
    clone = frozen_clone(remote, capsys, record_evidence)
    before = snapshot(remote, clone)

    code, out, err = run(capsys, "promote", "--repo", str(clone), "--push", "--json")

    assert code == FROZEN_EXIT_CODE
    assert out == ""
    [line] = err.strip().splitlines()
    assert line.startswith("paystream-ops promote: error: prod is in a change freeze until ")
    assert "nothing was written" in line and "--break-glass REASON" in line
    assert snapshot(remote, clone) == before


def test_with_a_break_glass_reason_it_opens_the_branch_carrying_the_reason(
    remote, capsys, record_evidence
) -> None:
    clone = frozen_clone(remote, capsys, record_evidence)

    code, out, err = run(
        capsys, "promote", "--repo", str(clone), "--push", "--json", "--break-glass", REASON
    )

    assert code == 0, err
    result = json.loads(out)
    assert result["break_glass"] == REASON
    assert result["frozen_until"]
    branch = result["branch"]
    assert remote.git(remote.bare, "rev-parse", branch) == result["commit"]
    message = remote.git(remote.bare, "log", "-1", "--format=%B", branch)
    assert f"Paystream-Break-Glass: {REASON}" in message
    # The workflow opens the pull request with `body` as its description.
    assert (
        f"BREAK-GLASS during the change freeze until {result['frozen_until'][:10]}"
        in (result["body"])
    )
    assert REASON in result["body"]
    assert "argocd app sync auth-service-prod" in result["body"]


@pytest.mark.parametrize("reason", ["", "   ", "because", "line one\nline two"])
def test_a_break_glass_reason_must_say_why(remote, capsys, record_evidence, reason: str) -> None:
    clone = frozen_clone(remote, capsys, record_evidence)
    before = snapshot(remote, clone)
    code, _, err = run(capsys, "promote", "--repo", str(clone), "--break-glass", reason)
    assert code == 2
    assert "--break-glass: give one line" in err
    assert snapshot(remote, clone) == before


def test_outside_a_window_a_promotion_needs_no_reason(remote, capsys, record_evidence) -> None:
    new_year = ALWAYS_DENY.replace('"* * * * *"', '"0 0 1 1 *"')  # Jan 1st, first hour
    clone = frozen_clone(remote, capsys, record_evidence, new_year)
    result = promote(clone, "staging", "prod", now=BLACK_FRIDAY_NOON)
    assert result.break_glass is None
    assert "BREAK-GLASS" not in result.message


def test_a_rollback_inside_a_window_is_never_refused(remote, capsys, record_evidence) -> None:
    clone = frozen_clone(remote, capsys, record_evidence)
    code, _, err = run(
        capsys, "bump", "prod", "--image", remote.ref("1.4.1", "d"), "--repo", str(clone)
    )
    assert code == 0, err

    code, out, err = run(
        capsys,
        "rollback",
        "prod",
        "--repo",
        str(clone),
        "--branch",
        "rollback/prod-dddddddddddd",
        "--push",
        "--json",
    )

    assert code == 0, err
    result = json.loads(out)
    assert result["frozen"] is True
    assert result["manual_sync"] == "argocd app sync auth-service-prod"
    assert remote.git(remote.bare, "rev-parse", "rollback/prod-dddddddddddd") == result["commit"]


def test_a_rollback_goes_through_even_when_the_project_is_broken(
    remote, capsys, record_evidence
) -> None:
    broken = ALWAYS_DENY.replace('"* * * * *"', '"not a schedule"')
    clone = frozen_clone(remote, capsys, record_evidence, broken + "  : [\n")
    code, _, err = run(
        capsys, "bump", "prod", "--image", remote.ref("1.4.1", "d"), "--repo", str(clone)
    )
    assert code == 0, err
    code, out, err = run(capsys, "rollback", "prod", "--repo", str(clone), "--json")
    assert code == 0, err
    assert json.loads(out)["frozen"] is None


def test_the_real_prod_project_refuses_a_promotion_at_black_friday_noon(
    tmp_path: Path, remote_factory, capsys, record_evidence
) -> None:
    tree = tmp_path / "tree"
    for name in ("base", "overlays", "apps", "clusters"):
        shutil.copytree(REPO / name, tree / name)
    real = remote_factory(tmp_path / "git", tree)
    clone = real.clone("dev")
    image = "ghcr.io/paystream/auth-service:9.9.9@sha256:" + "9" * 64
    assert main(["bump", "staging", "--image", image, "--repo", str(clone)]) == 0
    capsys.readouterr()
    record_evidence(clone, image)

    with pytest.raises(Frozen, match=r"prod is in a change freeze until 2026-12-01 05:00 UTC"):
        promote(clone, "staging", "prod", now=BLACK_FRIDAY_NOON)
    result = promote(clone, "staging", "prod", now=BLACK_FRIDAY_NOON, break_glass=REASON)
    assert result.break_glass == REASON
    assert real.git(clone, "rev-parse", result.branch) == result.commit
    # The rollback of prod's last image change at the same instant: not refused, frozen.
    assert main(["bump", "prod", "--image", image, "--repo", str(clone)]) == 0
    undo = rollback(clone, "prod", now=BLACK_FRIDAY_NOON)
    assert undo.freeze is not None and undo.freeze.frozen and undo.freeze.manual.allowed


def test_the_rendered_diff_flags_a_change_that_waits_for_the_window(
    remote, capsys, record_evidence
) -> None:
    clone = frozen_clone(remote, capsys, record_evidence)
    code, out, err = run(
        capsys, "diff", "--repo", str(clone), "--base", "HEAD~1", "--json"
    )  # HEAD~1 -> HEAD is the staging bump: staging is not frozen
    assert code == 0, err
    assert json.loads(out)["freeze"] == []
    code, _, err = run(
        capsys, "bump", "prod", "--image", remote.ref("1.4.1", "d"), "--repo", str(clone)
    )
    assert code == 0, err
    markdown = clone.parent / "comment.md"
    code, out, err = run(
        capsys, "diff", "--repo", str(clone), "--base", "HEAD~1", "--markdown", str(markdown)
    )
    assert code == 0, err
    assert "[freeze] overlays/prod: auth-service-prod is in a change freeze until " in out
    assert "argocd app sync auth-service-prod" in out
    assert "**🧊 Change freeze:** overlays/prod: auth-service-prod" in markdown.read_text()
