"""Every threshold of the analysis, derived from one stated false-abort rate (pure).

A healthy release is falsely aborted when any one comparison of any measurement crosses its
bar. The stated budget is split evenly over the signals; each signal's share over the networks,
the measurements of one rollout and the comparisons one measurement of that signal makes
(latency compares one per histogram boundary and keeps the largest). The one-sided normal
quantile of what is left per comparison is the bar (Bonferroni: correlated comparisons only
make the real rate lower). see docs/decisions/0062-thresholds-from-a-false-abort-budget.md

Latency also has a margin: a share of the window's requests the canary may have slower than a
boundary beyond stable's before any of it counts as evidence (a non-inferiority test). One pod
that stalls (a GC pause, CFS throttling, a noisy node) slows every request it holds together:
correlated, not the independent draws the bar assumes, and a share of the window however much
traffic there is, so no bar covers it. see docs/decisions/0110-latency-margin-for-pod-stalls.md
A stall of S seconds makes a request slower than boundary b only if it arrived in the stall's
first S - b seconds, so the margin shrinks with the boundary and is 0 from S on: requests slower
than the stall itself (timeouts) are judged at full power.
see docs/decisions/0135-latency-margin-per-boundary.md

A stall the margin does not cover (the lab's compressed windows, a longer freeze) is still a
burst: it sits in one or two sub-windows of the window, where a slower release is slower in
every one. Latency evidence counts only where each sub-window with enough canary requests shows
an excess too (the burst guard); the guard can only lower a score, so the bars keep their
budget, and the floor on a sub-window's requests is where the smallest regression the judge
must catch shows in it all but `SUB_WINDOW_MISS` of the time.
see docs/decisions/0130-latency-burst-guard.md
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from paystream_auth.networks import NETWORKS

# At most one false abort in this many healthy releases.
ROLLOUTS_PER_FALSE_ABORT = 1000
# Measurements of each metric in one rollout: two step analyses of `count` 5, and the background
# analysis every 30 s for up to 15 minutes (a paused canary included).
MEASUREMENTS_PER_ROLLOUT = 2 * 5 + 30
# The histogram boundaries (seconds, as the service's `le` labels spell them) the latency signal
# compares canary with stable at. Below 30 ms the lab's compressed latencies meet scheduler
# jitter; 2.5 s is the SLO. Spelled as Prometheus keeps them (no integer: "1.0" vs "1").
LATENCY_BOUNDARIES = ("0.03", "0.05", "0.1", "0.25", "0.5", "1.5", "2.5")
# How long one pod may stall in one analysis window without its release being accused, and the
# shortest window an overlay may set: the margin is the share of that window such a stall slows.
# The smallest latency regression the judge must still catch (issue 13: 5% of one network's
# authorizations 1.2 s slower) is five times the margin.
TOLERATED_STALL_SECONDS = 1.2
MIN_WINDOW_SECONDS = 120
LATENCY_MARGIN = TOLERATED_STALL_SECONDS / MIN_WINDOW_SECONDS
# The burst guard's sub-windows: long against a stall (one spoils at most the two it straddles),
# at least three to a window (so one stays clean), several scrapes each (the PodMonitor's 5 s).
SUB_WINDOW_SECONDS = 30
MIN_SUB_WINDOWS = 3
# The smallest latency regression the judge must catch (issue 13), and the chance a checked
# sub-window may show no excess under it (the guard then waits a measurement).
SMALLEST_LATENCY_REGRESSION = 5 * LATENCY_MARGIN
SUB_WINDOW_MISS = 0.01


@dataclass(frozen=True)
class Bar:
    signal: str
    comparisons_per_measurement: int  # per network
    alpha: float  # false-abort probability of one comparison
    score: float  # the bar: the one-sided normal quantile of 1 - alpha, rounded up

    @property
    def value(self) -> str:
        return f"{self.score:.2f}"


def margin_value() -> str:
    """The latency margin as the template's arg spells it ("0.01")."""
    return f"{LATENCY_MARGIN:g}"


def stall_value() -> str:
    """The tolerated stall as the template's arg spells it ("1.2")."""
    return f"{TOLERATED_STALL_SECONDS:g}"


def boundary_margin(
    boundary: float, margin: float = LATENCY_MARGIN, stall: float = TOLERATED_STALL_SECONDS
) -> float:
    """The margin at one boundary: the share of the window a stall of `stall` seconds makes
    slower than `boundary` (`margin` is the share the whole stall takes)."""
    return margin * max(0.0, 1 - boundary / stall) if stall > 0 else 0.0


def sub_window_value() -> str:
    """The sub-window as the template's arg spells it ("30s")."""
    return f"{SUB_WINDOW_SECONDS}s"


def sub_window_requests() -> int:
    """The fewest canary requests of a network a sub-window needs before it may veto, at equal
    canary and stable traffic (the 50% step): there a regression of share
    q = `SMALLEST_LATENCY_REGRESSION` shows an excess beyond the margin m but for
    `SUB_WINDOW_MISS`. The excess Xc - Nc (Xs / Ns + m) has mean Nc (q - m) and variance
    Nc q (1 - q) (1 + Nc / Ns), 2 Nc q (1 - q) at equal traffic:
    Nc >= 2 z^2 q (1 - q) / (q - m)^2, z the normal quantile of 1 - miss. At another weight the
    query scales it by (1 + Nc / Ns) / 2.
    see docs/decisions/0136-burst-guard-floor-follows-the-weight.md"""
    q, m = SMALLEST_LATENCY_REGRESSION, LATENCY_MARGIN
    z = NormalDist().inv_cdf(1 - SUB_WINDOW_MISS)
    return math.ceil(2 * z * z * q * (1 - q) / (q - m) ** 2)


def sub_window_checked(canary: float, stable: float, floor: float | None = None) -> bool:
    """Whether a sub-window with these counts of one network may veto (the query's rule)."""
    if stable <= 0:
        return False
    floor = sub_window_requests() if floor is None else floor
    return canary >= floor * (1 + canary / stable) / 2


def comparisons(signal: str) -> int:
    return len(LATENCY_BOUNDARIES) if signal == "latency" else 1


def derive(signals: tuple[str, ...]) -> dict[str, Bar]:
    """The bar of each signal; the budget is shared evenly between `signals`."""
    per_rollout = 1 / ROLLOUTS_PER_FALSE_ABORT
    bars: dict[str, Bar] = {}
    for signal in signals:
        k = comparisons(signal)
        alpha = per_rollout / (len(signals) * len(NETWORKS) * MEASUREMENTS_PER_ROLLOUT * k)
        score = math.ceil(NormalDist().inv_cdf(1 - alpha) * 100) / 100
        bars[signal] = Bar(signal, k, alpha, score)
    return bars
