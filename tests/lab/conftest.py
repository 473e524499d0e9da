"""Shared fixtures for the canary lab's tests."""

from __future__ import annotations

from typing import Any

import pytest
from paystream_ops.paths import overlay_dir
from paystream_ops.render import render


@pytest.fixture(scope="session")
def prod_objects() -> list[dict[str, Any]]:
    """The prod overlay rendered once with the pinned kustomize."""
    return render(overlay_dir("prod"))
