"""Staging's synthetic load as the lab reads it, and what its absence does to the analysis.

Pure: the rendered overlays (pinned kustomize), the lab's manifest reader and its AnalysisRun
(argo-rollouts `analysis/analysis.go` semantics) driven by a fake clock and canned results."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from paystream_loadgen.settings import required_rate_per_second
from paystream_ops.errors import UserError
from paystream_ops.lab.analysis import AnalysisRun, Measurement, MetricSpec, evaluate_result
from paystream_ops.lab.manifests import LabContext, metric_specs, read_manifests
from paystream_ops.lab.phases import Phase
from paystream_ops.lab.synthetic import read_synthetic_load
from paystream_ops.paths import overlay_dir
from paystream_ops.render import render
from paystream_ops.validate.checks.synthetic_load import loaded_seconds_at_first_measurement

from .conftest import drive

CONTEXT = LabContext(1.0, "http://127.0.0.1:9", "canaryhash", "stablehash")
NETWORKS = 4


@pytest.fixture(scope="module")
def staging_objects() -> list[dict[str, Any]]:
    return render(overlay_dir("staging"))


def _config_map(objects: list[dict[str, Any]]) -> dict[str, str]:
    found = next(
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "synthetic-load"
    )
    return {str(k): str(v) for k, v in found["data"].items()}


def test_staging_runs_the_generator_with_its_background_analysis_as_configured(
    staging_objects: list[dict[str, Any]],
) -> None:
    manifests = read_manifests(staging_objects, "overlays/staging", 10.0)
    loads = read_synthetic_load(manifests, staging_objects)
    assert [(s.analysis, s.template, s.metric) for s in loads] == [
        ("background", "synthetic-load", "synthetic-load")
    ]
    settings = loads[0].settings
    data = _config_map(staging_objects)
    assert settings.rate_per_second == float(data["PAYSTREAM_LOADGEN_RATE_PER_SECOND"])
    assert settings.engine_config()["cards"] == "test"
    assert all(share > 0 for share in settings.card_mix.values())
    # The Job metric is not one of the run's Prometheus metrics: it never decides.
    background = metric_specs(manifests.background, manifests, CONTEXT)  # type: ignore[arg-type]
    assert "synthetic-load" not in {m.name for m in background}
    assert background


def test_prod_has_no_synthetic_load(prod_objects: list[dict[str, Any]]) -> None:
    manifests = read_manifests(prod_objects, "overlays/prod", 10.0)
    assert read_synthetic_load(manifests, prod_objects) == []


def test_the_staging_rate_reaches_min_requests_at_the_first_measurement(
    staging_objects: list[dict[str, Any]],
) -> None:
    """The same sum validate's synthetic-load check does, from the lab's resolved analysis."""
    manifests = read_manifests(staging_objects, "overlays/staging", 1.0)
    step, analysis = min(manifests.step_analyses.items())
    specs = metric_specs(analysis, manifests, CONTEXT)
    args = {a.name: a for a in manifests.scaled_args.get(analysis.where, [])}
    assert args is not None
    first = min(m.initial_delay_seconds or 0.0 for m in specs)
    weight = next(s.weight for s in reversed(manifests.plan.steps[:step]) if hasattr(s, "weight"))
    template = manifests.templates[(analysis.templates[0].name, False)]
    declared = {a["name"]: a.get("value") for a in template["spec"]["args"]}
    minimum = max(float(declared["min-requests"]), float(declared["min-latency-requests"]))
    settings = read_synthetic_load(manifests, staging_objects)[0].settings
    monitor = next(o for o in staging_objects if o["kind"] == "PodMonitor")
    scrape = float(monitor["spec"]["podMetricsEndpoints"][0]["interval"].rstrip("s"))
    loaded = loaded_seconds_at_first_measurement(first, scrape)
    assert 0 < loaded < first
    need = required_rate_per_second(minimum, loaded, weight, settings.card_mix)
    assert settings.rate_per_second >= need
    # Counting the whole initial delay would have asked for less: the margin is on the safe side.
    assert need > required_rate_per_second(minimum, first, weight, settings.card_mix)


def test_a_deciding_job_metric_is_refused_by_the_lab(
    staging_objects: list[dict[str, Any]],
) -> None:
    objects = copy.deepcopy(staging_objects)
    for obj in objects:
        if obj["kind"] == "AnalysisTemplate" and obj["metadata"]["name"] == "synthetic-load":
            del obj["spec"]["dryRun"]
    manifests = read_manifests(objects, "overlays/staging", 10.0)
    with pytest.raises(UserError, match="only as dry-run"):
        read_synthetic_load(manifests, objects)
    with pytest.raises(UserError, match="only as dry-run"):
        metric_specs(manifests.background, manifests, CONTEXT)  # type: ignore[arg-type]


def _run_step_analysis(
    staging_objects: list[dict[str, Any]], per_network: float, failed_job: bool
) -> Phase:
    """The first step analysis of staging to its end, every measurement seeing `per_network`
    for each of the four networks (NaN: the min-requests guard's answer to too little traffic)."""
    manifests = read_manifests(staging_objects, "overlays/staging", 1.0)
    _, analysis = min(manifests.step_analyses.items())
    specs = metric_specs(analysis, manifests, CONTEXT)
    if failed_job:
        # The synthetic-load Job as Argo would record it had it failed: dry-run, so it cannot
        # decide; the lab's run then holds exactly the Prometheus metrics.
        specs = [
            *specs,
            MetricSpec("synthetic-load", "synthetic-load", "", "", None, None, dry_run=True),
        ]
    run = AnalysisRun("step", specs, 0.0)

    def measure(metric: MetricSpec, now: float) -> Measurement:
        if metric.name == "synthetic-load":
            return Measurement(Phase.FAILED, now, now, message="BackoffLimitExceeded")
        result = [per_network] * NETWORKS
        phase, message = evaluate_result(metric, result)
        return Measurement(phase, now, now, str(result), message, tuple(result))

    now = drive(run, measure, until=3600)
    assert run.completed
    return run.assess(now)


def test_no_synthetic_load_makes_the_step_inconclusive_never_successful(
    staging_objects: list[dict[str, Any]],
) -> None:
    assert _run_step_analysis(staging_objects, math.nan, failed_job=True) == Phase.INCONCLUSIVE
    assert _run_step_analysis(staging_objects, math.nan, failed_job=False) == Phase.INCONCLUSIVE


def test_with_enough_healthy_data_the_same_step_succeeds(
    staging_objects: list[dict[str, Any]],
) -> None:
    """The counter-case: the same run with data decides, even though the Job metric failed."""
    assert _run_step_analysis(staging_objects, 0.0, failed_job=True) == Phase.SUCCESSFUL
