"""One staging run on real processes: the low-traffic scenario, which pauses inconclusive on prod
(tests/lab/test_scenarios.py), reaches a decision on staging because the overlay's synthetic load
runs beside the background analysis; the scenario's own callers are still the only ones counted
as customers."""

from __future__ import annotations

import dataclasses

import pytest
from paystream_ops.judge.figures import figure_of
from paystream_ops.lab.phases import Phase
from paystream_ops.lab.progress import Progress
from paystream_ops.lab.rollout import Verdict
from paystream_ops.lab.runner import LabOptions, run_lab
from paystream_ops.lab.scenario import load_scenario
from paystream_ops.paths import overlay_dir
from paystream_ops.render import render
from rich.console import Console

from .conftest import within_chance

# ~40 s of wall time at the scenario's 10x: the one lab run that proves the plumbing end to end.
pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]


def test_low_traffic_on_staging_is_decided_with_the_synthetic_load() -> None:
    scenario, path = load_scenario("low-traffic")
    options = LabOptions(
        scenario=scenario,
        scenario_path=path,
        objects=render(overlay_dir("staging")),
        overlay="overlays/staging",
        time_scale=scenario.time_scale,
        rate_per_second=scenario.traffic.rate_per_second,
        seed=scenario.seed,
    )
    with Progress(Console(quiet=True), live=False, quiet=True) as progress:
        result = run_lab(options, progress)
    assert result.verdict == Verdict.PROMOTED, result.outcome
    assert result.decided_by_kind == "steps"
    # The scenario states staging's own expectation, and this run meets it; read as a prod run
    # (paused-inconclusive expected there) the same result does not.
    assert result.expectation.verdict == "promoted"
    assert result.matched_expectation
    on_prod = dataclasses.replace(
        result, options=dataclasses.replace(result.options, overlay="overlays/prod")
    )
    assert not on_prod.matched_expectation
    # The last step analysis measured the canary's figures, dry-run, beside the verdict.
    figures = [r for r in result.measurements if figure_of(r.metric) is not None]
    assert figures and all(r.dry_run for r in figures)
    steps = {r.run: r.measurement.phase for r in result.measurements if r.analysis != "background"}
    assert steps and set(steps.values()) == {Phase.SUCCESSFUL}
    # The generator ran and sent far more than the scenario's own 3 auth/s.
    assert result.synthetic_issued["synthetic-load"] > 10 * result.cost.total_transactions
    # Customer figures count the scenario's callers only, and the canary failed no more of them
    # than the everyday baseline does by chance. (Slow answers are left out: 2,400 synthetic
    # requests/s on this host can slow a few of either version.)
    assert within_chance(result.cost), result.cost
