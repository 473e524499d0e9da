from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from paystream_auth.health import RecentWindow, percentile


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_p95_and_success_rate_over_the_window() -> None:
    clock = Clock()
    window = RecentWindow(window_seconds=60, capacity=1000, clock=clock)
    for index in range(100):
        window.record((index + 1) / 1000.0, ok=index >= 3)
    summary = window.summary()
    assert summary.requests == 100
    assert summary.latency_p95_ms == 95.0
    assert summary.success_rate == 0.97


def test_old_samples_leave_the_window() -> None:
    clock = Clock()
    window = RecentWindow(window_seconds=60, capacity=100, clock=clock)
    window.record(0.5, ok=False)
    clock.now += 61
    window.record(0.01, ok=True)
    summary = window.summary()
    assert (summary.requests, summary.latency_p95_ms, summary.success_rate) == (1, 10.0, 1.0)


def test_an_empty_window_reports_no_numbers() -> None:
    summary = RecentWindow().summary()
    assert (summary.requests, summary.latency_p95_ms, summary.success_rate) == (0, None, None)


@given(st.lists(st.floats(min_value=0, max_value=10), min_size=1, max_size=200))
def test_percentile_is_an_element_at_or_above_95_percent_of_values(values: list[float]) -> None:
    ordered = sorted(values)
    p95 = percentile(ordered, 0.95)
    assert p95 in ordered
    assert sum(v <= p95 for v in ordered) >= 0.95 * len(ordered)
