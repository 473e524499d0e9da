"""How a verdict reads: the network and signal from the metric's name, the rates beside it."""

from __future__ import annotations

import math

from paystream_ops.judge.verdict import (
    Reading,
    describe_value,
    headline,
    latency_reading,
    named,
    score,
)


def test_a_metric_name_reads_as_network_and_signal() -> None:
    assert named("visa-failures") == ("visa", "failures")
    assert named("mastercard-approvals") == ("mastercard", "approvals")
    assert named("p99-vs-slo") is None and named("jcb-failures") is None
    assert headline("amex-latency") == "Amex: latency"
    assert headline("discover-approvals") == "Discover: declines"
    assert headline("p99-vs-slo") == "p99-vs-slo"
    assert describe_value("visa-failures", "[9.31]") == "Visa: failures, score 9.31 (visa-failures)"
    assert describe_value("visa-failures", "") == "Visa: failures, score no value (visa-failures)"


def test_the_issue_s_sentence() -> None:
    reading = Reading("visa-failures", "9.31", "4.61", 34, 1250, 7, 11300)
    assert reading.sentence() == (
        "Visa: failures 2.72% (34 of 1,250) against stable's 0.06% (7 of 11,300); "
        "score 9.31, bar 4.61"
    )
    empty = Reading("amex-failures", "", None, 0, 0, 0, 0)
    assert empty.sentence() == "Amex: failures - (0 of 0) against stable's - (0 of 0); score -"


def test_latency_is_read_at_the_boundary_where_the_versions_differ_most() -> None:
    # Per boundary, (canary, stable) requests at or under it; 30 canary, 300 stable in all.
    under = {"0.03": (0.0, 290.0), "0.05": (0.0, 300.0), "0.5": (30.0, 300.0)}
    reading = latency_reading("discover-latency", "[21.7]", "5.00", under, (30, 300), 10)
    assert reading.boundary_seconds == 0.5  # 0.05 lab seconds x 10
    assert (reading.canary_bad, reading.stable_bad) == (30, 0)
    assert reading.sentence().startswith("Discover: latency over 0.5 s 100.00% (30 of 30)")


def test_counts_that_do_not_add_up_read_as_a_number_not_a_crash() -> None:
    # More requests under a boundary than in all: two counts read a moment apart (a CI crash).
    under = {"0.2": (105.0, 1010.0), "+Inf": (105.0, 1010.0)}
    reading = latency_reading("visa-latency", "[3.1]", "4.61", under, (100, 1000), 10, 0.005, 0.12)
    assert reading.canary_bad == -5 and reading.canary_total == 100
    assert math.isfinite(score(-5, 100, -10, 1000))
    assert math.isfinite(score(-5, 100, 0, 1000)) and score(-5, 100, 0, 1000) < 0


def test_the_score_is_zero_for_equal_ratios_and_nan_without_traffic() -> None:
    assert score(3, 100, 30, 1000) == 0
    assert score(10, 80, 0.36, 720) > 4.61  # the issue's 80 requests and 10 timeouts
    assert math.isnan(score(1, 0, 1, 10)) and math.isnan(score(1, 10, 0, 0))


def test_a_measured_value_is_shortened_for_people() -> None:
    from paystream_ops.judge.verdict import short

    assert short("[9.943426876229159]") == "9.94"
    assert short("[NaN]") == "NaN"
    assert short("") == ""
    assert short("[0.0312,NaN]") == "0.0312, NaN"
