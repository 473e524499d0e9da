"""No secret, token or private key in the working tree or anywhere in git history."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from paystream_ops.vault.values import generate

REPO = Path(__file__).resolve().parents[2]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@invalid",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def generated_private_key() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("# a repository with a past\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "initial")
    return path


def test_repository_and_its_whole_history_hold_no_secrets(scan: Callable[..., Any]) -> None:
    shallow = git(REPO, "rev-parse", "--is-shallow-repository").strip()
    assert shallow == "false", (
        "shallow clone: the history scan needs every commit (actions/checkout fetch-depth: 0)"
    )

    result = scan(REPO)

    assert result.worktree_files > 0 and result.history_blobs > 0
    assert not result.findings, "secrets found:\n" + "\n".join(map(str, result.findings))


def test_a_key_committed_then_deleted_is_found_in_history(
    repo: Path, scan: Callable[..., Any]
) -> None:
    fixture = repo / "tests" / "fixtures" / "client-key.pem"
    fixture.parent.mkdir(parents=True)
    fixture.write_bytes(generated_private_key())
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "add a test key")
    git(repo, "rm", "-q", str(fixture))
    git(repo, "commit", "-q", "-m", "remove the test key")

    result = scan(repo)

    assert [(f.rule, f.target.split("/", 2)[0]) for f in result.findings] == [
        ("private-key", "history")
    ]
    assert result.findings[0].target.endswith("/tests/fixtures/client-key.pem")


def test_a_generated_token_in_an_uncommitted_fixture_is_found(
    repo: Path, scan: Callable[..., Any]
) -> None:
    fixture = repo / "tests" / "vault" / "seeds.json"
    fixture.parent.mkdir(parents=True)
    fixture.write_text(json.dumps({"admin-token": generate().reveal()}) + "\n")

    result = scan(repo)

    assert [str(f) for f in result.findings] == [
        "worktree/tests/vault/seeds.json:1: paystream-generated-secret"
    ]


def test_ignored_files_are_not_part_of_the_working_tree_scan(
    repo: Path, scan: Callable[..., Any]
) -> None:
    (repo / ".gitignore").write_text("lab-report/\n")
    (repo / "lab-report").mkdir()
    (repo / "lab-report" / "token.txt").write_text(generate().reveal() + "\n")

    assert scan(repo).findings == ()


def test_trivy_defaults_would_have_missed_keys_under_tests(
    repo: Path, scan: Callable[..., Any]
) -> None:
    """Why trivy-secret.yaml disables the builtin allow rules: `tests` hides these paths."""
    fixture = repo / "tests" / "fixtures" / "client-key.pem"
    fixture.parent.mkdir(parents=True)
    fixture.write_bytes(generated_private_key())

    assert scan(repo, config=None).findings == ()
    assert [f.rule for f in scan(repo).findings] == ["private-key"]
