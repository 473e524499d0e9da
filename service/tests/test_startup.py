"""A bad start-up configuration stops the service with one line, never a traceback."""

from __future__ import annotations

import pytest

from .conftest import StartService

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"PAYSTREAM_FAULTS": '{"vias": {"timeout_rate": 0.1}}'},
            "paystream-auth: configuration error: PAYSTREAM_FAULTS: unknown network (expected visa",
        ),
        (
            {"PAYSTREAM_FAULTS": '{"visa": {"timeout_rate": 0.1, "slow": 1}}'},
            "paystream-auth: configuration error: PAYSTREAM_FAULTS: visa: unknown field (expected",
        ),
        (
            {"PAYSTREAM_LATENCY_SCALE": "fast"},
            "paystream-auth: configuration error: PAYSTREAM_LATENCY_SCALE: expected a number",
        ),
    ],
)
def test_a_bad_configuration_is_a_one_line_startup_failure(
    start_service: StartService, env: dict[str, str], line: str
) -> None:
    service = start_service(env, wait_ready=False)
    assert service.wait(timeout_seconds=30) != 0
    assert service.log_path is not None
    log = service.log_path.read_text()
    assert line in log
    assert "Traceback" not in log
