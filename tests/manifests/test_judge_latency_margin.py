"""A stalled pod is not a slower release: the latency score with the stall margin
(docs/decisions/0110) passes what one pod's tolerated stall makes slow, and still fails the
regressions the lab proves (5% of Mastercard 1.2 s slower; every Discover request 400 ms slower).

Counts are one 2-minute window of the lab's traffic (300 authorizations a second; Visa 50%,
Mastercard 30%, Discover 8%) at the canary's weight; stable's everyday timeouts (0.05%) are slower
than every boundary on both sides.
"""

from __future__ import annotations

import pytest
from paystream_ops.judge import budget
from paystream_ops.judge.signals import SIGNALS
from paystream_ops.judge.verdict import latency_reading, score

BAR = budget.derive(tuple(s.name for s in SIGNALS))["latency"].score
MARGIN = budget.LATENCY_MARGIN
WINDOW = budget.MIN_WINDOW_SECONDS
TIMEOUTS = 0.0005


def _window(network_share: float, weight: float) -> tuple[float, float]:
    """(canary, stable) requests of one network in one window."""
    total = 300 * network_share * WINDOW
    return total * weight, total * (1 - weight)


def _stall(
    network_share: float, weight: float, seconds: float, boundary: float
) -> tuple[float, ...]:
    """Xc, Nc, Xs, Ns at one boundary where the canary pod stalled `seconds`: every request it
    received in the stall's first `seconds - boundary` seconds is slower than the boundary."""
    nc, ns = _window(network_share, weight)
    stalled = nc * max(0.0, seconds - boundary) / WINDOW
    return stalled + nc * TIMEOUTS, nc, ns * TIMEOUTS, ns


def _margin(boundary: str) -> float:
    return budget.boundary_margin(float(boundary))


@pytest.mark.parametrize("boundary", budget.LATENCY_BOUNDARIES)
@pytest.mark.parametrize("weight", [0.1, 0.5])
def test_a_tolerated_stall_of_the_canary_pod_is_not_a_failure(weight: float, boundary: str) -> None:
    xc, nc, xs, ns = _stall(0.5, weight, budget.TOLERATED_STALL_SECONDS, float(boundary))
    assert score(xc, nc, xs, ns, _margin(boundary)) <= BAR


def test_without_the_margin_a_tolerated_stall_aborts() -> None:
    """Negative: the same burst judged as independent draws (no margin) aborts: the bug."""
    xc, nc, xs, ns = _stall(0.5, 0.5, budget.TOLERATED_STALL_SECONDS, 0.03)
    assert score(xc, nc, xs, ns) > BAR


def test_a_stall_three_times_the_tolerated_one_still_fails() -> None:
    """Users feel a 3.6 s freeze: the margin forgives one short stall, not a stuck pod."""
    xc, nc, xs, ns = _stall(0.5, 0.5, 3 * budget.TOLERATED_STALL_SECONDS, 0.03)
    assert score(xc, nc, xs, ns, _margin("0.03")) > BAR
    # Past the stall's length it is judged at full power.
    xc, nc, xs, ns = _stall(0.5, 0.5, 3 * budget.TOLERATED_STALL_SECONDS, 1.5)
    assert score(xc, nc, xs, ns, _margin("1.5")) > BAR


def test_timeouts_at_the_deadline_are_judged_without_the_margin() -> None:
    """The incident at its first measurement: 24 s of the 10% step, 360 Visa canary requests,
    8 of them at the 2 s deadline (fewer than 3% would give). Past 1.5 s no stall is forgiven,
    so they fail there; the flat margin of 0110 read them below the bar (docs/decisions/0135)."""
    nc, ns = 360.0, _window(0.5, 0.1)[1]
    xc, xs = 8 + nc * TIMEOUTS, ns * TIMEOUTS
    assert score(xc, nc, xs, ns, _margin("1.5")) > BAR
    assert score(xc, nc, xs, ns, MARGIN) <= BAR


def test_a_tail_latency_regression_fails_at_the_first_step() -> None:
    """latency-regression: 5% of Mastercard 1.2 s slower, at the 10% step."""
    nc, ns = _window(0.3, 0.1)
    xc, xs = nc * (0.05 + TIMEOUTS), ns * TIMEOUTS
    assert score(xc, nc, xs, ns, _margin("0.5")) > BAR
    # Negative: a tail no larger than the margin is not evidence.
    assert score(nc * (MARGIN + TIMEOUTS), nc, xs, ns, MARGIN) <= BAR


def test_a_whole_network_slowdown_fails_below_the_minimum_count() -> None:
    """network-latency-regression: every Discover request slower, 30 canary requests seen."""
    nc, ns = 30.0, _window(0.08, 0.1)[1]
    assert score(nc, nc, ns * TIMEOUTS, ns, _margin("0.03")) > BAR
    # Negative: three slow requests of 30 (10%, chance-level at that count) do not.
    assert score(3, nc, ns * TIMEOUTS, ns, MARGIN) <= BAR


def test_the_margin_only_lowers_the_score_by_the_share_it_forgives() -> None:
    xc, nc, xs, ns = 40.0, 1000.0, 10.0, 9000.0
    spread = (nc * (xc + xs) / (nc + ns) * (1 + nc / ns) + 1) ** 0.5
    assert score(xc, nc, xs, ns) - score(xc, nc, xs, ns, MARGIN) == pytest.approx(
        nc * MARGIN / spread
    )


def test_the_reading_says_the_margin_it_was_judged_with() -> None:
    under = {"0.03": (980.0, 9000.0), "0.1": (985.0, 9000.0)}
    plain = latency_reading("visa-latency", "[1]", "5.00", under, (1000, 9000), 10)
    judged = latency_reading("visa-latency", "[1]", "5.00", under, (1000, 9000), 10, MARGIN)
    assert plain.boundary_seconds == judged.boundary_seconds == 0.3
    assert judged.sentence() == (
        "Visa: latency over 0.3 s 2.00% (20 of 1,000) against stable's 0.00% (0 of 9,000)"
        " + margin 1.00%; score 1, bar 5.00"
    )
    assert "margin" not in plain.sentence()


def test_the_reading_says_the_margin_at_the_boundary_it_read() -> None:
    """Timeouts past the stall are read at 1.5 s with no margin; a stall's slow requests at
    30 ms with that boundary's margin (docs/decisions/0135)."""
    stall = budget.TOLERATED_STALL_SECONDS
    timeouts = {"0.03": (980.0, 9000.0), "1.5": (980.0, 9000.0)}
    read = latency_reading("visa-latency", "[9]", "5.00", timeouts, (1000, 9000), 1, MARGIN, stall)
    assert read.boundary_seconds == 1.5 and read.margin is None
    assert "margin" not in read.sentence()
    stalled = {"0.03": (980.0, 9000.0), "1.5": (1000.0, 9000.0)}
    read = latency_reading("visa-latency", "[1]", "5.00", stalled, (1000, 9000), 1, MARGIN, stall)
    assert read.boundary_seconds == 0.03
    assert read.margin == pytest.approx(budget.boundary_margin(0.03))
