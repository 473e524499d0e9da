"""`paystream-ops bump` on real git: exactly one commit touching two lines, pushed; every
rejection is one line, a non-zero exit, and no commit anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from paystream_ops.cli import main

pytestmark = pytest.mark.integration

STAGING = "overlays/staging/kustomization.yaml"
PROD = "overlays/prod/kustomization.yaml"


def bump(capsys: pytest.CaptureFixture[str], repo: Path, *args: str) -> tuple[int, str, str]:
    code = main(["bump", *args, "--repo", str(repo)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_bump_commits_only_the_image_lines_and_pushes(remote, capsys) -> None:
    clone = remote.clone("dev")
    before_remote = remote.head()
    before_text = remote.show(STAGING)
    new = remote.ref("1.5.0", "c")

    code, out, err = bump(capsys, clone, "staging", "--image", new)

    assert code == 0, err
    commit = out.splitlines()[0]
    assert remote.head() == commit
    assert remote.git(remote.bare, "rev-parse", f"{commit}^") == before_remote
    changed = remote.git(remote.bare, "diff", "--name-only", f"{commit}^", commit)
    assert changed == STAGING
    after_text = remote.show(STAGING)
    before_lines, after_lines = before_text.splitlines(), after_text.splitlines()
    assert len(before_lines) == len(after_lines)
    differing = [(a, b) for a, b in zip(before_lines, after_lines, strict=True) if a != b]
    assert differing == [
        ("    newTag: 1.4.0", "    newTag: 1.5.0"),
        ("    digest: sha256:" + "a" * 64, "    digest: sha256:" + "c" * 64),
    ]
    message = remote.git(remote.bare, "log", "-1", "--format=%B", commit)
    assert message.splitlines()[0] == "chore(staging): bump auth-service 1.4.0 -> 1.5.0"
    assert "Paystream-Environment: staging" in message
    assert f"Paystream-Image-From: {remote.ref('1.4.0', 'a')}" in message
    assert f"Paystream-Image-To: {new}" in message
    assert remote.git(clone, "status", "--porcelain") == ""


def test_bump_of_the_same_tag_with_a_new_digest_names_both_digests(remote, capsys) -> None:
    clone = remote.clone("dev")
    code, _, err = bump(capsys, clone, "prod", "--image", remote.ref("1.3.0", "d"))
    assert code == 0, err
    subject = remote.log("-1")[0].split(" ", 1)[1]
    assert subject == (
        "chore(prod): bump auth-service 1.3.0@sha256:bbbbbbbbbbbb -> 1.3.0@sha256:dddddddddddd"
    )


def test_bump_without_tag_removes_newtag_and_keeps_the_rest(remote, capsys) -> None:
    clone = remote.clone("dev")
    code, _, err = bump(capsys, clone, "staging", "--image", remote.ref(None, "e"))
    assert code == 0, err
    text = remote.show(STAGING)
    assert "newTag" not in text
    assert "    digest: sha256:" + "e" * 64 + "\n" in text


def test_bump_no_push_commits_locally_only(remote, capsys) -> None:
    clone = remote.clone("dev")
    before = remote.head()
    code, out, err = bump(
        capsys, clone, "staging", "--image", remote.ref("1.5.0", "c"), "--no-push"
    )
    assert code == 0, err
    assert remote.head() == before
    assert remote.git(clone, "rev-parse", "HEAD") == out.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "exit_code", "needle"),
    [
        (["staging", "--image", "ghcr.io/paystream/auth-service:latest"], 2, "'latest' is mutable"),
        (
            ["staging", "--image", "ghcr.io/paystream/auth-service:latest@sha256:" + "c" * 64],
            2,
            "'latest' is mutable",
        ),
        (["prod", "--image", "ghcr.io/paystream/auth-service:1.5.0"], 2, "prod requires a digest"),
        (["staging", "--image", "ghcr.io/paystream/auth-service:1.5.0@sha256:xyz"], 2, "64 hex"),
        (["staging", "--image", "Not A Reference"], 2, "not an image reference"),
        (["staging", "--image", "ghcr.io/paystream/auth-service"], 2, "no tag and no digest"),
        (["staging", "--image", "ghcr.io/other/thing:1.5.0@sha256:" + "c" * 64], 2, "must be"),
        (["staging", "--image", "ghcr.io/paystream/auth-service:main"], 2, "is mutable"),
        (
            ["staging", "--image", "ghcr.io/paystream/auth-service:v1.5"],
            2,
            "not a semantic version",
        ),
        (
            ["qa", "--image", "ghcr.io/paystream/auth-service:1.5.0@sha256:" + "c" * 64],
            2,
            "unknown environment 'qa'",
        ),
        (
            ["staging", "--image", "ghcr.io/paystream/auth-service:1.4.0@sha256:" + "a" * 64],
            3,
            "already pins",
        ),
    ],
)
def test_bump_rejection_is_one_line_nonzero_and_commits_nothing(
    remote, capsys, args: list[str], exit_code: int, needle: str
) -> None:
    clone = remote.clone("dev")
    local_before = remote.git(clone, "rev-parse", "HEAD")
    remote_before = remote.head()

    code, out, err = bump(capsys, clone, *args)

    assert code == exit_code
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("paystream-ops bump: error: ")
    assert needle in err
    assert "Traceback" not in err
    assert remote.git(clone, "rev-parse", "HEAD") == local_before
    assert remote.head() == remote_before
    assert remote.git(clone, "status", "--porcelain") == ""


def test_bump_refuses_a_dirty_checkout(remote, capsys) -> None:
    clone = remote.clone("dev")
    (clone / STAGING).write_text((clone / STAGING).read_text() + "# local edit\n")
    code, _, err = bump(capsys, clone, "staging", "--image", remote.ref("1.5.0", "c"))
    assert code == 2
    assert "uncommitted changes" in err and STAGING in err
    assert len(err.strip().splitlines()) == 1


def test_bump_refuses_unpushed_local_commits(remote, capsys) -> None:
    clone = remote.clone("dev")
    (clone / "notes.txt").write_text("local\n")
    remote.git(clone, "add", "notes.txt")
    remote.git(clone, "commit", "--quiet", "-m", "docs: local note")
    before = remote.head()
    code, _, err = bump(capsys, clone, "staging", "--image", remote.ref("1.5.0", "c"))
    assert code == 2
    assert "not on origin" in err
    assert remote.head() == before


def test_bump_from_a_stale_clone_lands_on_top_of_the_remote(remote, capsys) -> None:
    stale = remote.clone("stale")
    fresh = remote.clone("fresh")
    code, _, err = bump(capsys, fresh, "prod", "--image", remote.ref("1.4.0", "a"))
    assert code == 0, err
    code, _, err = bump(capsys, stale, "staging", "--image", remote.ref("1.5.0", "c"))
    assert code == 0, err
    subjects = [line.split(" ", 1)[1] for line in remote.log()]
    assert subjects[:2] == [
        "chore(staging): bump auth-service 1.4.0 -> 1.5.0",
        "chore(prod): bump auth-service 1.3.0 -> 1.4.0",
    ]
