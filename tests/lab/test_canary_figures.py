"""The canary's figures as the lab runs them: only in the last step analysis, dry-run, without
conditions, so they never change a verdict; the lab's AnalysisRun object carries them as the
controller would (the evidence's source).

Pure: the rendered overlays (pinned kustomize), the lab's manifest reader, its AnalysisRun
(argo-rollouts `analysis/analysis.go` semantics) driven by a fake clock and canned results."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from paystream_auth.networks import NETWORKS
from paystream_ops.judge.figures import FIGURES, FIGURES_TEMPLATE_NAME, figure_of
from paystream_ops.lab.analysis import AnalysisRun, Measurement, MetricSpec, evaluate_result
from paystream_ops.lab.controller_objects import Clock, ControllerObjects
from paystream_ops.lab.manifests import LabContext, LabManifests, metric_specs, read_manifests
from paystream_ops.lab.phases import Phase
from paystream_ops.paths import overlay_dir
from paystream_ops.render import render

from .conftest import drive

CONTEXT = LabContext(1.0, "http://127.0.0.1:9", "canaryhash", "stablehash")


@pytest.fixture(scope="module", params=["staging", "prod"])
def manifests(request: pytest.FixtureRequest) -> LabManifests:
    overlay = str(request.param)
    return read_manifests(render(overlay_dir(overlay)), f"overlays/{overlay}", 1.0)


def _run(manifests: LabManifests, deciding: float, figures_error: bool) -> AnalysisRun:
    """The last step analysis to its end: every deciding metric reads `deciding` per network;
    every figure reads a count, or errors (Prometheus refused it) when `figures_error`."""
    last = max(manifests.step_analyses)
    run = AnalysisRun(
        "last-step", metric_specs(manifests.step_analyses[last], manifests, CONTEXT), 0
    )

    def measure(metric: MetricSpec, now: float) -> Measurement:
        if figure_of(metric.name) is not None:
            if figures_error:
                return Measurement(Phase.ERROR, now, now, message="bad_data: query refused")
            return Measurement(Phase.SUCCESSFUL, now, now, "[1234]", "", (1234.0,))
        result = [deciding]
        phase, message = evaluate_result(metric, result)
        return Measurement(phase, now, now, str(result), message, tuple(result))

    now = drive(run, measure, until=3600)
    assert run.completed
    run.assess(now)
    return run


def test_only_the_last_step_analysis_measures_the_figures(manifests: LabManifests) -> None:
    last = max(manifests.step_analyses)
    for index, analysis in manifests.step_analyses.items():
        assert (FIGURES_TEMPLATE_NAME in analysis.template_names) == (index == last)
    assert manifests.background is not None
    assert FIGURES_TEMPLATE_NAME not in manifests.background.template_names
    specs = metric_specs(manifests.step_analyses[last], manifests, CONTEXT)
    figures = [s for s in specs if figure_of(s.name) is not None]
    assert {figure_of(s.name) for s in figures} == {(n, f) for n in NETWORKS for f in FIGURES}
    assert all(s.dry_run and s.success is None and s.failure is None for s in figures)
    deciding = [s for s in specs if figure_of(s.name) is None]
    assert deciding and not [s for s in deciding if s.dry_run]
    # One schedule: a figure's last value is from the instant of the last verdict.
    schedule = {(s.count, s.interval_seconds, s.initial_delay_seconds) for s in specs}
    assert len(schedule) == 1


@pytest.mark.parametrize(
    ("deciding", "figures_error", "phase"),
    [
        (0.0, False, Phase.SUCCESSFUL),
        (0.0, True, Phase.SUCCESSFUL),  # an errored figure never fails the run
        (math.nan, False, Phase.INCONCLUSIVE),  # nor does a measured one pass too little data
        (99.0, False, Phase.FAILED),
    ],
)
def test_the_figures_never_change_the_verdict(
    manifests: LabManifests, deciding: float, figures_error: bool, phase: Phase
) -> None:
    run = _run(manifests, deciding, figures_error)
    assert run.phase is phase
    assert not any(figure_of(name) for name in run.message.split('"')[1::2])


def test_the_controller_objects_carry_the_figures_as_dry_run(manifests: LabManifests) -> None:
    last = max(manifests.step_analyses)
    run = _run(manifests, 0.0, figures_error=True)
    objects = ControllerObjects(manifests, CONTEXT, None)
    clock = Clock(datetime(2026, 12, 5, tzinfo=UTC), 0.0, 1.0)
    obj: dict[str, Any] = objects.analysis_run("step", run, last, clock)
    spec_names = [m["name"] for m in obj["spec"]["metrics"]]
    assert {figure_of(n) for n in spec_names} - {None} == {
        (n, f) for n in NETWORKS for f in FIGURES
    }
    assert [d["metricName"] for d in obj["spec"]["dryRun"]] == [
        d["metricName"]
        for d in manifests.templates[(FIGURES_TEMPLATE_NAME, False)]["spec"]["dryRun"]
    ]
    results = {r["name"]: r for r in obj["status"]["metricResults"]}
    figures = [r for name, r in results.items() if figure_of(name) is not None]
    assert figures and all(r["dryRun"] is True and r["phase"] == "Error" for r in figures)
    assert obj["status"]["phase"] == "Successful"
    assert obj["status"]["dryRunSummary"]["error"] == len(figures)
    assert "error" not in obj["status"]["runSummary"]
