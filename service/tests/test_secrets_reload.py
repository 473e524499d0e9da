"""Secrets are files re-read on change: readiness waits for them, rotation needs no restart."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from .conftest import StartService, write_secrets
from .test_secrets import kubernetes_volume

pytestmark = pytest.mark.integration


def wait_for(predicate: Callable[[], bool], timeout_seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if predicate():
                return True
        time.sleep(0.05)
    return False


def test_readiness_waits_for_secrets_while_liveness_stays_up(
    start_service: StartService, tmp_path: Path
) -> None:
    secrets_dir = tmp_path / "mounted"
    secrets_dir.mkdir()
    service = start_service(
        {"PAYSTREAM_SECRETS_DIR": str(secrets_dir), "PAYSTREAM_SECRETS_POLL_SECONDS": "0.2"},
        wait_ready=False,
    )
    url = service.base_url
    assert wait_for(lambda: httpx.get(f"{url}/livez").status_code == 200, 15)
    not_ready = httpx.get(f"{url}/readyz")
    assert not_ready.status_code == 503
    assert "admin-token" in not_ready.json()["detail"]
    write_secrets(secrets_dir)
    assert wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200)


def test_a_rotated_admin_token_works_without_a_restart(
    start_service: StartService, tmp_path: Path
) -> None:
    mount = tmp_path / "projected"
    mount.mkdir()
    # Generated here: no token-like literal is ever committed, fixtures included.
    old, new, key = (secrets.token_urlsafe(24) for _ in range(3))
    kubernetes_volume(mount, "2026_01_01", {"admin-token": old, "processor-api-key": key})
    service = start_service(
        {"PAYSTREAM_SECRETS_DIR": str(mount), "PAYSTREAM_SECRETS_POLL_SECONDS": "0.2"}
    )
    url = f"{service.base_url}/admin/faults"
    pid_before = httpx.get(f"{service.base_url}/health").json()["pid"]
    assert httpx.get(url, headers={"authorization": f"Bearer {old}"}).status_code == 200
    kubernetes_volume(mount, "2026_01_02", {"admin-token": new, "processor-api-key": key})
    assert wait_for(
        lambda: httpx.get(url, headers={"authorization": f"Bearer {new}"}).status_code == 200
    )
    assert httpx.get(url, headers={"authorization": f"Bearer {old}"}).status_code == 401
    # The volume vanishing (a botched update) keeps the last good token.
    for link in ("admin-token", "..data"):
        (mount / link).unlink()
    time.sleep(0.5)
    assert httpx.get(url, headers={"authorization": f"Bearer {new}"}).status_code == 200
    assert httpx.get(f"{service.base_url}/readyz").status_code == 200
    health = httpx.get(f"{service.base_url}/health").json()
    assert health["pid"] == pid_before
    assert health["secrets"]["admin-token"]["generation"] == 2
