"""Counting what a canary cost customers, from the traffic generator's own tallies.

Definitions (also in DESIGN.md, "The canary lab"):
- A *failure* is an authorization the customer did not get an answer for: a 5xx (processor
  error, timeout, open circuit) or no response at all. A decline (200) and a rejected request
  (4xx) are answers, not failures.
- *Affected transactions* are the customers the canary hurt beyond what stable would have done
  for the same requests, the sum of three parts (docs/decisions/0073-affected-counts-every-harm.md):
  - *failures*: for each network n, canary failures F_c,n minus canary requests N_c,n times
    stable's failure ratio r_s,n over the same period, clipped at zero per network (fewer
    failures on Amex never offset customers failed on Visa), summed and rounded. A canary
    identical to stable scores a few (the positive half of each network's noise), one that
    times out 3% of Visa about 3% of its Visa requests;
  - *declines*: the canary's declines beyond stable's decline share times the canary's answers
    (2xx), per network;
  - *slow*: the canary's answers slower than the latency SLO (2.5 s) beyond stable's share of
    slow answers times the canary's answers, per network.
  Declines are 6% of every answer, so their chance variation alone is dozens of customers: the
  two new parts count a network's excess only where it is beyond chance (more than `NOISE_SIGMAS`
  binomial standard deviations of stable's share), and then in full. A healthy canary scores 0
  in them.
- *Canary exposure* runs from the first moment the canary receives traffic to the moment it
  stops (abort) or becomes the stable version (promotion); a paused canary is still exposed when
  the lab stops, and the report says so.
All times here are lab seconds; the caller converts to real-time equivalents (x time scale).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from paystream_ops.lab.loadgen import ANSWER_CLASSES, CLASSES, NETWORKS, TARGETS, counter_index

# A canary share this many standard deviations above stable's is harm, not chance (one-sided
# false-count rate ~0.1% per network and part).
NOISE_SIGMAS = 3.0


@dataclass(frozen=True)
class Sample:
    """Cumulative generator counters at a moment (lab seconds)."""

    at: float
    issued: int
    scheduled: int
    pending: int
    counts: tuple[int, ...]
    # Retrying callers' tallies per network (paystream_ops.lab.callers); () for single callers.
    callers: tuple[int, ...] = ()
    unanswered: tuple[int, ...] = ()  # keyed requests in flight, per network

    def count(self, target: str, network: str, outcome: str) -> int:
        return self.counts[
            counter_index(TARGETS.index(target), NETWORKS.index(network), CLASSES.index(outcome))
        ]


def _delta(later: Sample, earlier: Sample | None, target: str, network: str, outcome: str) -> int:
    before = earlier.count(target, network, outcome) if earlier else 0
    return later.count(target, network, outcome) - before


def share(count: int, base: int) -> float:
    return count / base if base else 0.0


def excess_beyond_chance(
    count: int, base: int, stable_count: int, stable_base: int, sigmas: float = NOISE_SIGMAS
) -> float:
    """The canary's `count` of `base` beyond stable's share, or 0 while within chance.

    Within chance: at most `sigmas` standard deviations of the difference between two versions
    alike, stable's own sampling included (the analysis' score, docs/analysis.md):
    sqrt(base * (count + stable_count) / (base + stable_base) * (1 + base / stable_base) + 1).
    Beyond it the whole excess counts.
    """
    p = share(stable_count, stable_base)
    excess = count - base * p
    if stable_base <= 0:  # nothing to compare with: every such event is the canary's
        return float(max(count, 0))
    pooled = (count + stable_count) / (base + stable_base)
    noise = sigmas * math.sqrt(base * pooled * (1.0 + base / stable_base) + 1.0)
    return excess if excess > noise and excess > 0 else 0.0


@dataclass(frozen=True)
class NetworkCost:
    network: str
    canary_requests: int
    canary_failures: int
    stable_requests: int
    stable_failures: int
    # 2xx answers, and those of them declined or slower than the latency SLO.
    canary_answers: int = 0
    canary_declines: int = 0
    canary_slow: int = 0
    stable_answers: int = 0
    stable_declines: int = 0
    stable_slow: int = 0

    @property
    def stable_failure_ratio(self) -> float:
        return self.stable_failures / self.stable_requests if self.stable_requests else 0.0

    @property
    def expected_canary_failures(self) -> float:
        return self.canary_requests * self.stable_failure_ratio

    @property
    def excess_failures(self) -> float:
        return self.canary_failures - self.expected_canary_failures

    @property
    def excess_declines(self) -> float:
        return excess_beyond_chance(
            self.canary_declines, self.canary_answers, self.stable_declines, self.stable_answers
        )

    @property
    def excess_slow(self) -> float:
        return excess_beyond_chance(
            self.canary_slow, self.canary_answers, self.stable_slow, self.stable_answers
        )


@dataclass(frozen=True)
class Cost:
    per_network: tuple[NetworkCost, ...]
    total_transactions: int
    total_failures: int

    @property
    def affected_failures(self) -> int:
        # Clipped per network: a canary that happens to fail less on Amex does not undo the
        # customers it failed on Visa.
        return round(sum(max(0.0, n.excess_failures) for n in self.per_network))

    @property
    def affected_declines(self) -> int:
        return round(sum(n.excess_declines for n in self.per_network))

    @property
    def affected_slow(self) -> int:
        return round(sum(n.excess_slow for n in self.per_network))

    @property
    def affected_transactions(self) -> int:
        """Every customer hurt: failed, declined or slowed beyond what stable would have done."""
        return self.affected_failures + self.affected_declines + self.affected_slow

    @property
    def canary_requests(self) -> int:
        return sum(n.canary_requests for n in self.per_network)

    @property
    def canary_failures(self) -> int:
        return sum(n.canary_failures for n in self.per_network)


def sample_before(samples: Sequence[Sample], at: float) -> Sample | None:
    """The last sample taken at or before `at`."""
    found: Sample | None = None
    for sample in samples:
        if sample.at > at:
            break
        found = sample
    return found


def cost(samples: Sequence[Sample], exposure_start: float | None) -> Cost:
    """Customer cost of the canary over the whole run, stable's ratio taken while exposed."""
    if not samples:
        return Cost((), 0, 0)
    final = samples[-1]
    start = sample_before(samples, exposure_start) if exposure_start is not None else None
    per_network: list[NetworkCost] = []
    for network in NETWORKS:
        canary_ok = _delta(final, None, "canary", network, "ok")
        canary_fail = _delta(final, None, "canary", network, "fail")
        stable_ok = _delta(final, start, "stable", network, "ok")
        stable_fail = _delta(final, start, "stable", network, "fail")
        per_network.append(
            NetworkCost(
                network,
                canary_ok + canary_fail,
                canary_fail,
                stable_ok + stable_fail,
                stable_fail,
                canary_answers=canary_ok,
                canary_declines=_delta(final, None, "canary", network, "declined"),
                canary_slow=_delta(final, None, "canary", network, "slow"),
                stable_answers=stable_ok,
                stable_declines=_delta(final, start, "stable", network, "declined"),
                stable_slow=_delta(final, start, "stable", network, "slow"),
            )
        )
    total = sum(final.count(t, n, c) for t in TARGETS for n in NETWORKS for c in ANSWER_CLASSES)
    failures = sum(final.count(t, n, "fail") for t in TARGETS for n in NETWORKS)
    return Cost(tuple(per_network), total, failures)


def first_canary_traffic(samples: Sequence[Sample]) -> float | None:
    """When the canary answered its first request (approximates the first traffic)."""
    for sample in samples:
        if any(sample.count("canary", n, c) for n in NETWORKS for c in ANSWER_CLASSES):
            return sample.at
    return None


@dataclass(frozen=True)
class RateReport:
    target_rate: float  # lab requests/s
    achieved_rate: float
    max_backlog: int
    max_backlog_at: float = 0.0

    @property
    def sustained(self) -> bool:
        """The generator kept up: >= 95% of the schedule and never a large backlog."""
        return self.achieved_rate >= 0.95 * self.target_rate and self.max_backlog <= max(
            50, self.target_rate * 0.5
        )


def rate_report(samples: Sequence[Sample], target_rate: float) -> RateReport:
    if len(samples) < 2:
        return RateReport(target_rate, 0.0, 0)
    first, last = samples[0], samples[-1]
    elapsed = last.at - first.at
    achieved = (last.issued - first.issued) / elapsed if elapsed > 0 else 0.0
    worst = max(samples, key=lambda s: max(s.scheduled - s.issued, 0) + s.pending)
    backlog = max(worst.scheduled - worst.issued, 0) + worst.pending
    return RateReport(target_rate, achieved, backlog, worst.at)
