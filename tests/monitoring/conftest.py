"""Fixtures for the monitoring tests: the rendered rules, the tools, a scratch rule directory."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from paystream_ops.monitoring.rule_files import Rule, RuleFile, rule_files, rules, write_rule_files
from paystream_ops.paths import repo_root
from paystream_ops.render import K8sObject, render

HERE = Path(__file__).parent
PROMTOOL_TESTS = sorted((HERE / "promtool").glob("*.yaml"))


def tool(name: str) -> str:
    """A system tool the tests drive for real; `make setup` installs it from Debian."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: run `make setup` (Debian package)")
    return found


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture(scope="session")
def root() -> Path:
    return repo_root(HERE)


@pytest.fixture(scope="session")
def monitoring_objects(root: Path) -> list[K8sObject]:
    return render(root / "base" / "monitoring")


@pytest.fixture(scope="session")
def rendered_rule_files(monitoring_objects: list[K8sObject]) -> list[RuleFile]:
    return rule_files(monitoring_objects)


@pytest.fixture(scope="session")
def all_rules(rendered_rule_files: list[RuleFile]) -> list[Rule]:
    return rules(rendered_rule_files)


@pytest.fixture
def promtool_dir(tmp_path: Path, rendered_rule_files: list[RuleFile]) -> Path:
    """A scratch directory holding rules/<file>.yaml and a copy of every promtool test file."""
    write_rule_files(rendered_rule_files, tmp_path / "rules")
    for test_file in PROMTOOL_TESTS:
        shutil.copy(test_file, tmp_path / test_file.name)
    return tmp_path
