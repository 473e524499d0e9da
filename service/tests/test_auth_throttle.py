"""Failed admin authentication: throttled per source (pure), and on a real granian."""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest
from paystream_auth.auth_throttle import AuthThrottle

from .conftest import StartService


def test_a_source_is_locked_out_after_too_many_failures_in_the_window() -> None:
    throttle = AuthThrottle(max_failures=3, window_seconds=60, lockout_seconds=30)
    for now in (0.0, 1.0):
        throttle.failed("10.0.0.1", now)
        assert throttle.retry_after("10.0.0.1", now) is None
    throttle.failed("10.0.0.1", 2.0)
    assert throttle.retry_after("10.0.0.1", 2.0) == 30
    assert throttle.retry_after("10.0.0.1", 31.5) == 1
    assert throttle.retry_after("10.0.0.1", 32.0) is None
    assert throttle.retry_after("10.0.0.2", 2.0) is None, "another source is not affected"


def test_failures_spread_wider_than_the_window_never_lock() -> None:
    throttle = AuthThrottle(max_failures=3, window_seconds=10, lockout_seconds=30)
    for now in (0.0, 5.0, 11.0, 16.0, 22.0, 27.0):
        throttle.failed("s", now)
        assert throttle.retry_after("s", now) is None


def test_failures_while_locked_out_do_not_extend_the_lockout_but_are_counted() -> None:
    throttle = AuthThrottle(max_failures=2, window_seconds=60, lockout_seconds=10)
    throttle.failed("s", 0.0)
    throttle.failed("s", 0.0)
    for now in range(1, 10):
        throttle.failed("s", float(now))
    assert throttle.retry_after("s", 10.0) is None
    assert throttle.take_counts(10.0)[0].failures == 11


def test_a_success_forgets_the_failures() -> None:
    throttle = AuthThrottle(max_failures=2)
    throttle.failed("s", 0.0)
    throttle.succeeded("s")
    throttle.failed("s", 1.0)
    assert throttle.retry_after("s", 1.0) is None


def test_counts_are_taken_once_per_interval_and_idle_sources_forgotten() -> None:
    throttle = AuthThrottle(max_failures=100, window_seconds=60)
    for _ in range(5):
        throttle.failed("a", 0.0)
    throttle.failed("b", 1.0)
    counts = {c.source: c.failures for c in throttle.take_counts(2.0)}
    assert counts == {"a": 5, "b": 1}
    assert throttle.take_counts(3.0) == []
    throttle.take_counts(100.0)
    throttle.failed("a", 100.0)
    assert [c.failures for c in throttle.take_counts(101.0)] == [1], "a fresh count, not 6"


def test_the_number_of_sources_tracked_is_bounded() -> None:
    throttle = AuthThrottle(max_failures=1, max_sources=3)
    for source in ("a", "b", "c", "d"):
        throttle.failed(source, 0.0)
    assert throttle.retry_after("a", 0.0) is None, "the oldest source was dropped"
    assert throttle.retry_after("d", 0.0) is not None


ATTEMPTS = 300


@pytest.mark.integration
def test_a_token_guessing_client_is_locked_out_and_logged_as_counts(
    start_service: StartService,
) -> None:
    service = start_service()
    statuses: Counter[int] = Counter()
    locked = 0
    with httpx.Client(base_url=service.base_url, timeout=10) as client:
        for attempt in range(ATTEMPTS):
            response = client.get(
                "/admin/faults", headers={"authorization": f"Bearer guess-{attempt}"}
            )
            statuses[response.status_code] += 1
            assert response.headers["content-type"] == "application/problem+json"
            locked += "retry-after" in response.headers
        # Locked out: even the right token is refused, without being compared.
        right = client.get(
            "/admin/faults", headers={"authorization": f"Bearer {service.admin_token}"}
        )
    assert statuses == {401: ATTEMPTS}
    assert locked >= ATTEMPTS - 10
    assert right.status_code == 401 and "retry-after" in right.headers
    assert service.stop() == 0  # the shutdown writes the last counts
    assert service.log_path is not None
    denied = [
        json.loads(line)
        for line in service.log_path.read_text().splitlines()
        if line.startswith("{") and '"action":"admin.denied"' in line
    ]
    assert 1 <= len(denied) <= 3, f"{len(denied)} audit lines for {ATTEMPTS + 1} failures"
    assert sum(record["failures"] for record in denied) == ATTEMPTS + 1
    assert {record["client"] for record in denied} == {"127.0.0.1"}
