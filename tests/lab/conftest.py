"""Shared fixtures for the canary lab's tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from paystream_ops.paths import overlay_dir
from paystream_ops.render import render
from paystream_ops.validate.crds import CRDS_ENV, CrdIndex, load_crds

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def prod_objects() -> list[dict[str, Any]]:
    """The prod overlay rendered once with the pinned kustomize."""
    return render(overlay_dir("prod"))


@pytest.fixture(scope="session")
def crd_index() -> CrdIndex:
    """The pinned CRDs (PAYSTREAM_CRDS_DIR, else the shared copy beside the checkout)."""
    if os.environ.get(CRDS_ENV):
        return load_crds(Path(os.environ[CRDS_ENV]))
    for candidate in (REPO.parent / "shared" / "crds", Path("/work/shared/crds"), REPO / ".crds"):
        if candidate.is_dir():
            return load_crds(candidate)
    pytest.fail(f"no CRD directory: set {CRDS_ENV} or run `make crds`")
