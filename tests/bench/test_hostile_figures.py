"""bench-hostile's figures: percentiles of normal requests and probes, failures counted apart."""

from __future__ import annotations

from paystream_ops.bench.hostile import Phase


def test_percentiles_and_failures() -> None:
    phase = Phase("idle", latencies=[i / 1000 for i in range(1, 101)], failures=3)
    assert phase.percentile(0.5) == 0.051
    assert phase.percentile(0.99) == 0.1
    summary = phase.as_dict()
    assert summary["requests"] == 103
    assert summary["failures"] == 3
    assert summary["max_seconds"] == 0.1


def test_a_probe_that_failed_is_counted_not_averaged_in() -> None:
    phase = Phase("attacked", probes={"livez": [0.002, None, 0.004, None]}, held=[1990, 2000])
    assert phase.probe_failures("livez") == 2
    assert phase.probe_percentile("livez", 0.99) == 0.004
    summary = phase.as_dict()
    assert summary["probes"]["livez"] == {"p99_seconds": 0.004, "failures": 2, "samples": 4}
    assert summary["held_min"] == 1990


def test_an_empty_phase_has_no_figures() -> None:
    phase = Phase("nothing")
    assert phase.percentile(0.99) is None
    assert phase.as_dict()["p50_seconds"] is None
