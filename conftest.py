"""Fixtures shared by the suites: the pinned CRDs the validator and the API server
emulation read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from paystream_ops.validate.crds import CRDS_ENV, CrdIndex, load_crds

REPO = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def crds_dir() -> Path:
    """PAYSTREAM_CRDS_DIR (set by the Makefile and .ci/run), else the shared checkout beside the
    repository, else `.crds/` (`make crds`)."""
    if os.environ.get(CRDS_ENV):
        return Path(os.environ[CRDS_ENV])
    for candidate in (REPO.parent / "shared" / "crds", Path("/work/shared/crds"), REPO / ".crds"):
        if candidate.is_dir():
            return candidate
    pytest.fail(f"no CRD directory: set {CRDS_ENV} or run `make crds`")


@pytest.fixture(scope="session")
def crd_index(crds_dir: Path) -> CrdIndex:
    return load_crds(crds_dir)
