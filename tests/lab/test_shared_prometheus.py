"""The check behind every lab run on the shared Prometheus (tests/lab/test_scenarios.py): it
names a series of a pod the run did not start and a sample older than the run, and passes the
run's own."""

from __future__ import annotations

from paystream_ops.lab.shared_prometheus import foreign_samples

PODS = ["auth-service-aaa-stabl", "auth-service-bbb-canar"]


def series(pod: str, first: float) -> dict[str, object]:
    return {"metric": {"__name__": "up", "pod": pod}, "values": [[first, "1"], [first + 1, "1"]]}


def test_the_runs_own_series_pass() -> None:
    assert foreign_samples([series(PODS[0], 100.0), series(PODS[1], 105.5)], PODS, 100.0) == []


def test_the_last_runs_canary_is_named() -> None:
    (problem,) = foreign_samples([series("auth-service-ccc-canar", 101.0)], PODS, 100.0)
    assert "'auth-service-ccc-canar'" in problem and "not one of the run's pods" in problem


def test_a_sample_from_before_the_run_is_named() -> None:
    (problem,) = foreign_samples([series(PODS[0], 99.9)], PODS, 100.0)
    assert "from before the run" in problem
