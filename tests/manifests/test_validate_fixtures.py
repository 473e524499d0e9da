"""The validator rejects every invalid fixture with exactly its problem, and passes the valid ones.

Every invalid fixture is a real overlay or cluster folder plus one defect (a kustomize patch), so
the fixtures cannot drift from the manifests they stand for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from paystream_ops.validate import headers, scanner
from paystream_ops.validate.checks import (
    analysis,
    argocd,
    external_secrets,
    freeze,
    images,
    limits,
    monitoring,
    notifications,
    platform_charts,
    pods,
    rollout,
    routes,
    synthetic_load,
    workloads,
)
from paystream_ops.validate.runner import Report

pytestmark = pytest.mark.integration  # renders with the pinned kubectl

REPO = Path(__file__).resolve().parents[2]
INVALID = Path(__file__).resolve().parent / "invalid"
VALID = Path(__file__).resolve().parent / "valid"
BATCHED = sorted(
    p.name for p in INVALID.iterdir() if p.is_dir() and p.name != "scanner-writable-root"
)


def expected_problems(case: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((INVALID / case / "expected.yaml").read_text())
    return list(data["problems"])


def problems_of(report: Report, path: Path) -> list[Any]:
    name = path.resolve().relative_to(REPO).as_posix()
    return [p for p in report.problems if p.target == name or p.target.startswith(name + "/")]


@pytest.mark.parametrize("case", BATCHED)
def test_invalid_fixture_is_rejected_with_exactly_its_problem(
    case: str, fixtures_report: Report, fixture_paths: dict[str, Path]
) -> None:
    found = problems_of(fixtures_report, fixture_paths[f"invalid/{case}"])
    expected = expected_problems(case)
    for item in expected:
        assert any(p.check == item["check"] and item["contains"] in p.line() for p in found), (
            f"{case}: no {item['check']} problem containing {item['contains']!r}; got:\n"
            + "\n".join(p.line() for p in found)
        )
    collateral = [p.line() for p in found if p.check not in {i["check"] for i in expected}]
    assert not collateral, f"{case}: unexpected problems:\n" + "\n".join(collateral)


@pytest.mark.parametrize("case", sorted(p.name for p in VALID.iterdir() if p.is_dir()))
def test_valid_fixture_passes(case: str, fixtures_report: Report) -> None:
    found = problems_of(fixtures_report, VALID / case)
    assert not found, "\n".join(p.line() for p in found)


def test_paths_deployed_by_fixture_applications_are_validated_too(fixtures_report: Report) -> None:
    assert "overlays/staging" in fixtures_report.targets
    assert "overlays/staging/alertmanager" in fixtures_report.targets
    outside = [p.line() for p in fixtures_report.problems if not p.target.startswith("tests/")]
    assert not outside, "\n".join(outside)


def test_every_check_has_an_invalid_fixture() -> None:
    checks = {
        "schema",
        "render",
        scanner.NAME,
        workloads.NAME,
        rollout.NAME,
        analysis.NAME,
        routes.NAME,
        external_secrets.NAME,
        monitoring.NAME_PODMONITOR,
        monitoring.NAME_METRICS,
        notifications.NAME,
        images.NAME,
        limits.NAME,
        pods.NAME,
        argocd.NAME,
        freeze.NAME,
        platform_charts.NAME,
        synthetic_load.NAME,
    }
    covered = {
        item["check"]
        for case in INVALID.iterdir()
        if case.is_dir()
        for item in expected_problems(case.name)
    }
    # yaml-headers is a file check, proven in test_validate_repo.py on a temporary tree.
    assert checks - covered == set()
    assert headers.NAME == "yaml-headers"
