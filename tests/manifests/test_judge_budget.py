"""Every committed threshold is what the stated false-abort budget gives (docs/decisions/0062)."""

from __future__ import annotations

import math
from pathlib import Path
from statistics import NormalDist

import pytest
import yaml
from paystream_ops.judge import budget
from paystream_ops.judge.signals import SIGNALS
from paystream_ops.judge.template import args

THRESHOLD_ARGS = {s.threshold_arg: s.name for s in SIGNALS}


def _recomputed() -> dict[str, str]:
    """The derivation redone from its stated inputs, independently of budget.derive."""
    per_rollout = 1 / budget.ROLLOUTS_PER_FALSE_ABORT
    out = {}
    for signal in SIGNALS:
        k = len(budget.LATENCY_BOUNDARIES) if signal.name == "latency" else 1
        comparisons = len(SIGNALS) * 4 * budget.MEASUREMENTS_PER_ROLLOUT * k
        z = NormalDist().inv_cdf(1 - per_rollout / comparisons)
        out[signal.threshold_arg] = f"{math.ceil(z * 100) / 100:.2f}"
    return out


def test_the_derivation_gives_the_documented_bars() -> None:
    bars = _recomputed()
    # One false abort in 1,000 healthy releases, 40 measurements, 4 networks, 3 signals.
    assert bars == {
        "max-failures-score": "4.61",
        "max-approvals-score": "4.61",
        "max-latency-score": "5.00",
    }
    derived = budget.derive(tuple(s.name for s in SIGNALS))
    assert {s.threshold_arg: derived[s.name].value for s in SIGNALS} == bars
    # The bars hold the stated rate: the sum of every comparison's chance in one rollout.
    total = sum(
        b.alpha * b.comparisons_per_measurement * 4 * budget.MEASUREMENTS_PER_ROLLOUT
        for b in derived.values()
    )
    assert total == pytest.approx(1 / budget.ROLLOUTS_PER_FALSE_ABORT)


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_each_overlay_sets_the_derived_bars(repo_root: Path, env: str) -> None:
    data = yaml.safe_load((repo_root / "overlays" / env / "analysis-thresholds.yaml").read_text())
    bars = _recomputed()
    assert {k: data["data"][k] for k in bars} == bars, f"overlays/{env}: run the derivation"


def test_the_template_defaults_are_the_derived_bars() -> None:
    defaults = {a.name: a.default for a in args() if a.name in THRESHOLD_ARGS}
    assert defaults == _recomputed()


def test_a_bar_that_does_not_match_the_derivation_is_caught(
    repo_root: Path, tmp_path: Path
) -> None:
    text = (repo_root / "overlays/prod/analysis-thresholds.yaml").read_text()
    edited = yaml.safe_load(text.replace('max-latency-score: "5.00"', 'max-latency-score: "4"'))
    assert {k: edited["data"][k] for k in THRESHOLD_ARGS} != _recomputed()
