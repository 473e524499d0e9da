"""The lab's affected customers, part by part: failures, extra declines, slow answers.

Pure: generator counters in, counts out. Each part has a case that must count and one that must
not (a healthy canary, identical or within chance, scores 0 in the new parts).
"""

from __future__ import annotations

import random

import pytest
from paystream_ops.lab.accounting import NOISE_SIGMAS, Sample, cost, excess_beyond_chance
from paystream_ops.lab.loadgen import CLASSES, NETWORKS, TARGETS, counter_index

Counts = dict[tuple[str, str, str], int]


def sample(at: float, counts: Counts) -> Sample:
    flat = [0] * (len(TARGETS) * len(NETWORKS) * len(CLASSES))
    for (target, network, outcome), value in counts.items():
        flat[
            counter_index(TARGETS.index(target), NETWORKS.index(network), CLASSES.index(outcome))
        ] = value
    return Sample(at, 0, 0, 0, tuple(flat))


def run(
    network: str,
    *,
    stable: tuple[int, int, int, int],
    canary: tuple[int, int, int, int],
) -> Counts:
    """(answers, failures, declines among answers, slow among answers) per role."""
    counts: Counts = {}
    for role, (ok, fail, declined, slow) in (("stable", stable), ("canary", canary)):
        counts |= {
            (role, network, "ok"): ok,
            (role, network, "fail"): fail,
            (role, network, "declined"): declined,
            (role, network, "slow"): slow,
        }
    return counts


def test_an_identical_canary_affects_nobody_in_any_part() -> None:
    result = cost(
        [sample(60, run("visa", stable=(9000, 9, 540, 0), canary=(1000, 1, 60, 0)))], None
    )
    assert (result.affected_failures, result.affected_declines, result.affected_slow) == (0, 0, 0)
    assert result.affected_transactions == 0


def test_a_false_decline_release_counts_its_extra_declines() -> None:
    # Stable declines 6% of Visa; the canary 11% of its 1000 answers: 50 customers declined.
    result = cost(
        [sample(60, run("visa", stable=(9000, 9, 540, 0), canary=(1000, 1, 110, 0)))], None
    )
    assert result.affected_declines == 50
    assert (result.affected_failures, result.affected_slow) == (0, 0)
    assert result.affected_transactions == 50
    visa = next(n for n in result.per_network if n.network == "visa")
    assert visa.excess_declines == pytest.approx(50)


def test_slow_answers_beyond_stables_share_count() -> None:
    # 4% of the canary's Amex answers took longer than the SLO, none of stable's.
    result = cost(
        [sample(60, run("amex", stable=(2000, 0, 120, 0), canary=(500, 0, 30, 20)))], None
    )
    assert result.affected_slow == 20
    assert result.affected_declines == 0


def test_the_total_is_the_sum_of_the_parts_across_networks() -> None:
    counts = run("visa", stable=(9000, 9, 540, 0), canary=(1000, 31, 110, 0))
    counts |= run("amex", stable=(2000, 0, 120, 0), canary=(500, 0, 30, 20))
    result = cost([sample(60, counts)], None)
    assert result.affected_failures == 30
    assert result.affected_declines == 50
    assert result.affected_slow == 20
    assert result.affected_transactions == 100
    # Only the answer classes are transactions: declines and slow answers are among them.
    assert result.total_transactions == 9000 + 9 + 1000 + 31 + 2000 + 500


def test_fewer_declines_on_one_network_never_offset_another() -> None:
    counts = run("visa", stable=(9000, 0, 540, 0), canary=(1000, 0, 110, 0))
    counts |= run("mastercard", stable=(9000, 0, 900, 0), canary=(1000, 0, 20, 0))
    assert cost([sample(60, counts)], None).affected_declines == 50


def test_decline_noise_within_chance_is_not_harm() -> None:
    """20 seeded healthy canaries: binomial declines at stable's 6% on 600 answers. Clipping
    each network's excess at zero would count a few every run; within chance counts none."""
    rng = random.Random(7)
    affected = []
    clipped = []
    for _ in range(20):
        canary_declines = sum(rng.random() < 0.06 for _ in range(600))
        stable_declines = sum(rng.random() < 0.06 for _ in range(6000))
        affected.append(excess_beyond_chance(canary_declines, 600, stable_declines, 6000))
        clipped.append(max(0.0, canary_declines - 600 * stable_declines / 6000))
    assert sum(affected) == 0
    assert sum(clipped) > 20  # what the naive count would have called harm


def test_an_excess_just_within_and_just_beyond_chance() -> None:
    # Stable 6% of 10,000, canary base 1,000: the noise of the difference between two versions
    # alike, stable's own sampling included, sets the bar (about 27 extra here).
    def noise(extra: int) -> float:
        pooled = (60 + extra + 600) / 11_000
        return NOISE_SIGMAS * (1000 * pooled * (1 + 1000 / 10_000) + 1) ** 0.5

    first = next(extra for extra in range(1, 200) if extra > noise(extra))
    assert 20 < first < 40
    assert excess_beyond_chance(60 + first - 1, 1000, 600, 10_000) == 0.0
    assert excess_beyond_chance(60 + first, 1000, 600, 10_000) == pytest.approx(first)
    assert excess_beyond_chance(0, 0, 600, 10_000) == 0.0  # no canary answers
    assert excess_beyond_chance(3, 1000, 0, 0) == 3.0  # stable answered nothing slow: any counts
