"""`make lint` and pre-commit run the same commands, and the yamllint they both run (with the
repository's `.yamllint`) rejects what it is there for."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def make_lint_commands(makefile: str) -> list[str]:
    """The recipe lines of `lint:`, with `$(RUN)` spelled as the Makefile defines it."""
    run = re.search(r"^RUN := \$\(UV\) (.+)$", makefile, re.M)
    assert run, "the Makefile defines RUN := $(UV) ..."
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "the Makefile has a lint target"
    return [
        line.strip().replace("$(RUN)", f"uv {run.group(1)}")
        for line in recipe.group(1).splitlines()
    ]


def pre_commit_commands(config: str) -> list[str]:
    data = yaml.safe_load(config)
    hooks = [hook for repo in data["repos"] for hook in repo["hooks"]]
    for hook in hooks:
        # Local hooks over the whole tree: what `make lint` checks, not the staged files alone.
        assert [r["repo"] for r in data["repos"]] == ["local"]
        assert hook["language"] == "system" and hook["pass_filenames"] is False, hook["id"]
        assert hook.get("always_run") is True, hook["id"]
    return [str(hook["entry"]) for hook in hooks]


def test_pre_commit_runs_exactly_what_make_lint_runs() -> None:
    makefile = (REPO / "Makefile").read_text()
    config = (REPO / ".pre-commit-config.yaml").read_text()
    assert pre_commit_commands(config) == make_lint_commands(makefile)
    assert any(command.endswith("yamllint --strict .") for command in make_lint_commands(makefile))


def test_a_hook_that_drifts_from_make_lint_is_caught() -> None:
    makefile = (REPO / "Makefile").read_text()
    config = (REPO / ".pre-commit-config.yaml").read_text()
    drifted = config.replace(
        "entry: uv run --frozen mypy", "entry: uv run --frozen mypy --no-strict"
    )
    assert drifted != config
    assert pre_commit_commands(drifted) != make_lint_commands(makefile)
    with pytest.raises(AssertionError):
        pre_commit_commands(config.replace("pass_filenames: false", "pass_filenames: true", 1))


def test_yamllint_with_the_repository_config_rejects_what_it_is_for(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: ConfigMap\nmetadata:\n  name: x\n  name: y\ndata:\n     a: 1   \n")
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "yamllint"),
            "--strict",
            "-c",
            str(REPO / ".yamllint"),
            "-f",
            "parsable",
            str(bad),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode != 0
    for rule in ("key-duplicates", "indentation", "trailing-spaces"):
        assert f"({rule})" in proc.stdout, proc.stdout
