"""The shared launcher (paystream_ops.processes.ServiceProcess) as the lab and tests use it."""

from __future__ import annotations

import httpx
import pytest
from paystream_ops.processes import ServiceProcess

pytestmark = pytest.mark.integration


def test_without_secrets_it_generates_them_and_removes_them_on_stop() -> None:
    service = ServiceProcess()
    service.start()
    try:
        assert service.secrets_dir is not None
        secrets_dir = service.secrets_dir
        token = service.admin_token
        assert len(token) >= 32
        ok = httpx.get(
            f"{service.base_url}/admin/faults", headers={"authorization": f"Bearer {token}"}
        )
        assert ok.status_code == 200
    finally:
        assert service.stop() == 0
    assert not secrets_dir.exists()


def test_a_start_that_never_becomes_ready_fails_and_leaves_nothing_running() -> None:
    service = ServiceProcess(env={"PAYSTREAM_LATENCY_SCALE": "fast"})
    with pytest.raises(Exception, match="exited with code"):
        service.start(timeout_seconds=20)
    assert service.proc is not None and service.proc.poll() is not None
