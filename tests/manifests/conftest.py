"""Shared fixtures for the manifest validator's tests: the repository, one batch run (the
CRDs: the repository root conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from paystream_ops.validate.crds import CrdIndex
from paystream_ops.validate.runner import Options, Report, validate

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SCANNED_SEPARATELY = {"scanner-writable-root"}


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def fixture_paths() -> dict[str, Path]:
    """Fixture name (``invalid/<case>`` or ``valid/<case>``) -> the Kustomize path to validate.

    An expected.yaml may name a sub-path (``target: overlays/prod``) when the fixture must sit
    under an ``overlays/<env>`` folder to be treated as that environment.
    """
    out: dict[str, Path] = {}
    for kind in ("invalid", "valid"):
        for case in sorted(p for p in (HERE / kind).iterdir() if p.is_dir()):
            expected = case / "expected.yaml"
            data = yaml.safe_load(expected.read_text()) if expected.is_file() else {}
            out[f"{kind}/{case.name}"] = case / str((data or {}).get("target", "."))
    return out


@pytest.fixture(scope="session")
def fixtures_report(crds_dir: Path, crd_index: CrdIndex, fixture_paths: dict[str, Path]) -> Report:
    """Every fixture validated in one run (renders in parallel), without the trivy scan."""
    paths = tuple(
        path
        for name, path in fixture_paths.items()
        if name.removeprefix("invalid/") not in SCANNED_SEPARATELY
    )
    return validate(Options(root=REPO, crds=crds_dir, paths=paths, scan=False), crd_index)
