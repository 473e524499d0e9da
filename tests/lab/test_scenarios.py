"""Every scenario, end to end on real processes in compressed time, against the prod overlay:
the verdict the scenario expects, and the figures issue 5 asks for on the incident."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import msgspec
import pytest
from paystream_ops.cli import main
from paystream_ops.lab.accounting import Cost
from paystream_ops.lab.phases import Phase
from paystream_ops.lab.progress import Progress
from paystream_ops.lab.rollout import Verdict
from paystream_ops.lab.runner import LabOptions, LabResult, run_lab
from paystream_ops.lab.scenario import load_scenario
from rich.console import Console

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]


def run_scenario(name: str, objects: list[dict[str, Any]]) -> LabResult:
    scenario, path = load_scenario(name)
    options = LabOptions(
        scenario=scenario,
        scenario_path=path,
        objects=objects,
        overlay="overlays/prod",
        time_scale=scenario.time_scale,
        rate_per_second=scenario.traffic.rate_per_second,
        seed=scenario.seed,
    )
    with Progress(Console(quiet=True), live=False, quiet=True) as progress:
        return run_lab(options, progress)


def test_incident_aborts_at_the_first_analysis_with_a_handful_affected(tmp_path: Path) -> None:
    report_dir = tmp_path / "report"
    json_path = tmp_path / "incident.json"
    code = main(
        [
            "lab",
            "--scenario",
            "incident-visa-timeouts",
            "--overlay",
            "prod",
            "--quiet",
            "--json",
            str(json_path),
            "--report",
            str(report_dir),
        ]
    )
    data = json.loads(json_path.read_text())
    assert code == 0, data
    assert data["verdict"] == "aborted"
    assert data["decided_at_step"] == 1  # the first analysis step (or its background twin)
    assert data["affected_transactions"] <= 50
    assert data["analysis_intervals_to_decision"] <= 2
    assert data["deciding_metrics"]
    assert data["rate"]["sustained"], data["rate"]
    visa = next(n for n in data["per_network"] if n["network"] == "visa")
    # The baseline fails a few of stable's too; the canary's 3% stands far above them.
    stable_ratio = visa["stable_failures"] / visa["stable_requests"]
    assert 0 < stable_ratio < 0.01
    assert visa["canary_failures"] / visa["canary_requests"] > stable_ratio + 0.01
    assert {m["phase"] for m in data["measurements"]} >= {"Failed"}
    for key in ("verdict", "decided_at_step", "deciding_metrics", "canary_exposure_seconds"):
        assert key in data
    assert data["total_transactions"] > data["canary_transactions"] > 0
    png = report_dir / "incident-visa-timeouts.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (report_dir / "incident-visa-timeouts.md").read_text()
    assert "**Verdict: aborted** (as expected)" in markdown
    assert "How this run differs from a cluster" in markdown


def within_chance(cost: Cost) -> bool:
    """Failures a canary identical to stable can score by chance (the failures part of the
    affected count): the clipped per-network noise of the everyday baseline, a few standard
    deviations at most."""
    expected = sum(n.expected_canary_failures for n in cost.per_network)
    return cost.affected_failures <= 3 * math.sqrt(expected) + 3


def test_healthy_release_is_promoted_through_every_step(prod_objects: list[dict[str, Any]]) -> None:
    result = run_scenario("healthy", prod_objects)
    assert result.verdict is Verdict.PROMOTED, result.outcome
    assert result.matched_expectation
    # The baseline made both sides fail now and then, and the analysis still promoted.
    assert all(n.stable_failures > 0 for n in result.cost.per_network), result.cost
    assert within_chance(result.cost), result.cost
    step_measurements = [r for r in result.measurements if r.analysis.startswith("step")]
    assert step_measurements
    assert not any(r.measurement.phase is Phase.FAILED for r in step_measurements)
    assert [t for _, t in result.step_changes][-1] == "fully promoted"


def test_latency_regression_on_one_network_is_aborted_on_p99(
    prod_objects: list[dict[str, Any]],
) -> None:
    result = run_scenario("latency-regression", prod_objects)
    assert result.verdict is Verdict.ABORTED, result.outcome
    assert any(name.startswith("p99") for name in result.outcome.deciding_metrics)
    assert within_chance(result.cost), result.cost  # slow, not failed


def test_error_burst_on_one_network_is_aborted_on_its_failures(
    prod_objects: list[dict[str, Any]],
) -> None:
    result = run_scenario("error-burst", prod_objects)
    assert result.verdict is Verdict.ABORTED, result.outcome
    assert {"failure-ratio-delta", "failure-excess-score"} & set(result.outcome.deciding_metrics)
    amex = next(n for n in result.cost.per_network if n.network == "amex")
    assert amex.canary_failures > amex.expected_canary_failures + 5


def test_a_canary_that_throws_on_one_network_is_aborted_on_its_failures(
    prod_objects: list[dict[str, Any]],
) -> None:
    """4% of Visa answered 500 `unexpected_error`: a failure outcome, so the failure metrics
    abort it (before decision 0070 this release passed every analysis)."""
    result = run_scenario("exception-burst", prod_objects)
    assert result.verdict is Verdict.ABORTED, result.outcome
    # A failure metric decided (whatever the analysis names it: `failure-*`, `visa-failures`).
    assert any("fail" in name for name in result.outcome.deciding_metrics), result.outcome
    visa = next(n for n in result.cost.per_network if n.network == "visa")
    assert visa.canary_failures > visa.expected_canary_failures + 5
    assert result.cost.affected_failures > 0


def test_canary_that_never_starts_is_aborted_by_the_progress_deadline(
    prod_objects: list[dict[str, Any]],
) -> None:
    result = run_scenario("crash-on-start", prod_objects)
    assert result.verdict is Verdict.ABORTED, result.outcome
    assert result.outcome.decided_by == "progress deadline"
    assert result.outcome.at * result.time_scale == pytest.approx(600, abs=10)
    assert result.cost.canary_requests == 0
    assert result.measurements == []  # no analysis ever ran
    # Negative case of the expectation check itself: the same run does not pass for "promoted".
    scenario = result.options.scenario
    wrong = msgspec.structs.replace(
        scenario, expect=msgspec.structs.replace(scenario.expect, verdict="promoted")
    )
    other = dataclasses.replace(result, options=dataclasses.replace(result.options, scenario=wrong))
    assert not other.matched_expectation


def test_too_little_traffic_pauses_instead_of_deciding(prod_objects: list[dict[str, Any]]) -> None:
    result = run_scenario("low-traffic", prod_objects)
    assert result.verdict is Verdict.PAUSED_INCONCLUSIVE, result.outcome
    assert {r.measurement.phase for r in result.measurements} == {Phase.INCONCLUSIVE}
