"""`paystream-ops status --from-lab` on runs of the incident, healthy and low-traffic scenarios
made by the lab's own machines: the objects are valid against the pinned CRDs, the failing
network and signal are named, a paused run says what it waits for."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from paystream_ops.cli import main
from paystream_ops.lab.controller_schema import schema_errors
from paystream_ops.status.build import parse_values, split_metric_name, threshold
from paystream_ops.status.lab_dir import lab_status
from paystream_ops.status.render import render, to_json
from paystream_ops.validate.crds import CrdIndex
from rich.console import Console

from .lab_runs import lab_run, vector

pytestmark = pytest.mark.integration  # renders the prod overlay with the pinned kustomize


def text_of(view: Any) -> str:
    console = Console(width=160, record=True, file=io.StringIO())
    console.print(render(view))
    return console.export_text()


@pytest.mark.parametrize("scenario", ["incident", "healthy", "low-traffic"])
@pytest.mark.parametrize("shape", ["vector", "per-network"])
def test_lab_objects_are_valid_against_the_pinned_crds(
    prod_objects: list[dict[str, Any]],
    crd_index: CrdIndex,
    tmp_path: Path,
    scenario: str,
    shape: str,
) -> None:
    objects = vector(prod_objects) if shape == "vector" else prod_objects
    directory = lab_run(objects, scenario, tmp_path)
    assert schema_errors(directory, crd_index) == []


def test_schema_check_rejects_a_measurement_field_the_crd_does_not_have(
    prod_objects: list[dict[str, Any]], crd_index: CrdIndex, tmp_path: Path
) -> None:
    directory = lab_run(prod_objects, "incident", tmp_path)
    path = next(directory.glob("analysisrun-*-1.yaml"))
    run = yaml.safe_load(path.read_text())
    run["status"]["metricResults"][0]["measurements"][0]["result"] = "0.1"  # not `value`
    run["status"]["phase"] = 3
    path.write_text(yaml.safe_dump(run))
    errors = schema_errors(directory, crd_index)
    assert any("measurements[0]" in e and "result" in e for e in errors), errors
    assert any("status.phase" in e for e in errors), errors


def test_incident_names_the_failing_network_and_signal(
    prod_objects: list[dict[str, Any]], tmp_path: Path
) -> None:
    view = lab_status(lab_run(prod_objects, "incident", tmp_path), "prod")
    assert view.rollout.phase == "Degraded" and view.rollout.aborted
    assert view.rollout.canary_weight == 0
    assert view.rollout.step_index == 0 and view.rollout.step_text.startswith("aborted")
    step = next(r for r in view.runs if r.kind == "Step")
    assert step.phase == "Failed"
    assert step.deciding == ("visa failures",)
    assert step.step == "1"  # the step it decided, though the Rollout's index went back to 0
    visa = next(m for m in step.metrics if m.name == "visa-failures")
    assert (visa.network, visa.signal) == ("visa", "failures")
    assert visa.threshold is not None and visa.threshold.limit == 4.61
    assert visa.threshold.arg == "max-failures-score"
    assert [c.verdict for c in visa.checks] == ["over"]
    others = [m for m in step.metrics if m.network != "visa" and m.signal == "failures"]
    assert others and all(c.verdict == "ok" for m in others for c in m.checks)
    text = text_of(view)
    assert "visa failures" in text and "Failed on visa failures" in text
    assert "RolloutAborted" in text


def test_incident_with_vector_metrics_names_the_signal_and_shows_the_vector(
    prod_objects: list[dict[str, Any]], tmp_path: Path
) -> None:
    view = lab_status(lab_run(vector(prod_objects), "incident", tmp_path), "prod")
    step = next(r for r in view.runs if r.kind == "Step")
    assert step.deciding == ("failures-score",)
    score = next(m for m in step.metrics if m.name == "failures-score")
    assert score.network is None  # a vector's elements do not say their network
    assert score.last_value.startswith("[11.2,")
    assert [c.verdict for c in score.checks] == ["over", "ok", "ok", "ok"]
    assert "failures-score (vector)" in text_of(view)


def test_healthy_run_is_promoted_and_every_value_passes(
    prod_objects: list[dict[str, Any]], tmp_path: Path
) -> None:
    view = lab_status(lab_run(prod_objects, "healthy", tmp_path), "prod")
    assert view.rollout.phase == "Healthy"
    assert view.rollout.step_text == "fully promoted"
    assert view.rollout.canary_weight == 0  # the new ReplicaSet is stable now
    assert "fully promoted: stable is the new revision" in text_of(view)
    assert view.rollout.stable is not None
    assert view.rollout.stable.pod_hash == view.rollout.canary.pod_hash  # the canary is stable
    assert view.rollout.waiting_for == ""
    checks = [c.verdict for r in view.runs for m in r.metrics if not m.figure for c in m.checks]
    assert checks and set(checks) == {"ok"}
    assert all(not r.deciding for r in view.runs)
    # The last step's figures are shown as figures: no bar, no verdict, their value as read.
    figures = [m for r in view.runs for m in r.metrics if m.figure]
    assert figures and all(m.threshold is None and m.dry_run for m in figures)
    assert {c.verdict for m in figures for c in m.checks} == {"figure"}
    assert "visa canary-requests (figure, not a verdict)" in text_of(view)


def test_healthy_run_in_progress_shows_step_weight_and_running_analysis(
    prod_objects: list[dict[str, Any]], tmp_path: Path
) -> None:
    view = lab_status(lab_run(prod_objects, "healthy", tmp_path, until=45.0), "prod")
    assert view.rollout.phase == "Progressing"
    assert view.rollout.step_text == "step 1: analysis"
    assert view.rollout.canary_weight == 10
    assert view.rollout.stable is not None and view.rollout.stable.revision == "1"
    assert view.rollout.canary.revision == "2"
    assert {r.phase for r in view.runs} == {"Running"}
    assert "no verdict yet" in text_of(view)


def test_low_traffic_pause_says_what_it_waits_for(
    prod_objects: list[dict[str, Any]], tmp_path: Path
) -> None:
    view = lab_status(lab_run(prod_objects, "low-traffic", tmp_path), "prod")
    assert view.rollout.phase == "Paused"
    assert "Inconclusive" in view.rollout.waiting_for
    assert "kubectl argo rollouts promote auth-service" in view.rollout.waiting_for
    step = next(r for r in view.runs if r.kind == "Step")
    assert step.phase == "Inconclusive"
    assert {c.verdict for m in step.metrics for c in m.checks} == {"no data"}
    assert "waiting for" in text_of(view)


def test_status_command_prints_json_and_one_line_errors(
    prod_objects: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = lab_run(prod_objects, "incident", tmp_path / "run")
    assert main(["status", "--from-lab", str(directory), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rollout"]["phase"] == "Degraded"
    assert data["runs"][0]["decided"].startswith("Failed on visa failures")
    assert data == json.loads(json.dumps(to_json(lab_status(directory, "prod"))))
    assert main(["status", "--from-lab", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no Rollout written by the lab" in err


def test_metric_name_shapes_and_thresholds() -> None:
    assert split_metric_name("visa-failures") == ("visa", "failures")
    assert split_metric_name("failure-ratio-delta") == (None, "failure-ratio-delta")
    assert split_metric_name("visa") == (None, "visa")
    args = {"limit": "0.5"}
    metric = {"failureCondition": "any(result, {!isNaN(#) && # > {{args.limit}}})"}
    limit = threshold(metric, args)
    assert limit is not None and (limit.op, limit.limit, limit.arg) == ("<=", 0.5, "limit")
    mirrored = threshold({"successCondition": "2.5 >= result[0]"}, {})
    assert mirrored is not None and (mirrored.op, mirrored.limit) == ("<=", 2.5)
    assert threshold({"successCondition": "len(result) > 0"}, {}) is None  # not the value
    assert threshold({"failureCondition": "result > {{args.missing}}"}, {}) is None
    assert parse_values("[0.1,NaN,-Inf]") == [0.1, None, float("-inf")]
    assert parse_values("") == []


def test_watch_refreshes_in_place_as_the_run_goes_on(
    prod_objects: list[dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    directory = lab_run(prod_objects, "incident", tmp_path, until=20.0)
    assert lab_status(directory, "prod").rollout.phase == "Progressing"
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 1:  # the controller moves on between two refreshes
            lab_run(prod_objects, "incident", tmp_path)
        else:
            raise KeyboardInterrupt

    monkeypatch.setattr("paystream_ops.commands.status.time.sleep", sleep)
    code = main(["status", "--from-lab", str(directory), "--watch", "--interval", "2"])
    assert code == 0 and sleeps == [2.0, 2.0]
    out = capsys.readouterr().out
    assert "Degraded" in out and "Failed on visa failures" in out
    assert main(["status", "--from-lab", str(directory), "--watch", "--json"]) == 2


def test_a_failed_refresh_shows_the_error_and_the_watch_goes_on() -> None:
    from paystream_ops.commands.status import _refreshed
    from paystream_ops.errors import UserError

    def load() -> Any:
        raise UserError("kube context 'prod-eu1': cannot reach the API server at https://x")

    screen = _refreshed(load, render, 5.0)
    assert "cannot reach the API server" in str(screen) and "retrying every 5s" in str(screen)
