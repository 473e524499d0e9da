"""Reading the Rollout and its AnalysisTemplates: args resolve as in Argo Rollouts, durations
are scaled exactly once, and anything the lab cannot run is a one-line error naming the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from paystream_ops.errors import UserError
from paystream_ops.lab.manifests import (
    LabContext,
    LabManifests,
    metric_specs,
    pod_template_hash,
    read_manifests,
    substitute,
)
from paystream_ops.lab.rollout import AnalysisStep, Pause, SetWeight
from paystream_ops.render import parse_objects

FIXTURE = Path(__file__).parent / "fixtures" / "rendered.yaml"
SOURCE = "overlays/test"


def objects() -> list[dict[str, Any]]:
    return parse_objects(FIXTURE.read_text(), str(FIXTURE))


def find(objs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind)


CONTEXT = LabContext(
    time_scale=10.0,
    prometheus_address="http://127.0.0.1:9999",
    canary_hash="canaryhash",
    stable_hash="stablehash",
)


def load(objs: list[dict[str, Any]] | None = None, scale: float = 10.0) -> LabManifests:
    return read_manifests(objs if objs is not None else objects(), SOURCE, scale)


def test_plan_has_the_steps_background_and_deadline_scaled() -> None:
    plan = load().plan
    assert plan.steps == (
        SetWeight(10),
        AnalysisStep(("canary-vs-stable",)),
        SetWeight(50),
        Pause(12.0),
        SetWeight(100),
    )
    assert plan.background_templates == ("canary-vs-stable",)
    assert plan.background_starting_step == 1
    assert plan.progress_deadline_seconds == 30.0
    assert plan.progress_deadline_abort is True


def test_min_ready_seconds_is_scaled_and_defaults_to_zero() -> None:
    assert load().plan.min_ready_seconds == 0.0
    ready = mutated(lambda o: _rollout(o)["spec"].update(minReadySeconds=20))
    assert load(ready).plan.min_ready_seconds == 2.0


def test_step_analysis_args_resolve_hashes_field_refs_and_defaults() -> None:
    manifests = load()
    specs = metric_specs(manifests.step_analyses[1], manifests, CONTEXT)
    ratio = next(s for s in specs if s.name == "failure-ratio-delta")
    assert 'namespace="paystream"' in ratio.query  # fieldRef metadata.namespace
    assert 'hash="canaryhash"' in ratio.query
    assert "[6s]" in ratio.query  # window 1m at 10x
    assert ratio.address == "http://127.0.0.1:9999"
    p99 = next(s for s in specs if s.name == "p99-vs-slo")
    assert 'hash="stablehash"' in p99.query
    assert p99.success is not None and "<= 0.25" in p99.success.source  # 2.5 s at 10x


def test_durations_are_scaled_once_whether_literal_or_from_args() -> None:
    manifests = load()
    specs = metric_specs(manifests.step_analyses[1], manifests, CONTEXT)
    ratio = next(s for s in specs if s.name == "failure-ratio-delta")
    assert ratio.interval_seconds == 3.0  # "{{args.interval}}" = 30s
    assert ratio.initial_delay_seconds == 3.0  # literal 30s
    assert ratio.count == 4
    assert ratio.failure_limit == 1
    assert ratio.consecutive_error_limit == 4


def test_background_count_zero_means_until_the_rollout_ends() -> None:
    manifests = load()
    assert manifests.background is not None
    specs = metric_specs(manifests.background, manifests, CONTEXT)
    assert all(s.count == 0 and s.effective_count is None for s in specs)
    # The background analysis does not pass `namespace`: the template default applies.
    assert 'namespace="default-namespace"' in specs[0].query


def test_scaled_args_are_recorded_for_the_report() -> None:
    manifests = load()
    metric_specs(manifests.step_analyses[1], manifests, CONTEXT)
    scaled = {
        a.name: (a.original, a.value)
        for a in manifests.scaled_args[manifests.step_analyses[1].where]
    }
    assert scaled["window"] == ("1m", "6s")
    assert scaled["slo-p99-seconds"] == ("2.5", "0.25")
    assert scaled["interval"] == ("30s", "3s")
    assert "max-failure-ratio-delta" not in scaled


def test_pod_labels_merge_template_and_role_metadata() -> None:
    manifests = load()
    assert manifests.pod_labels("canary") == {
        "app.kubernetes.io/name": "auth-service",
        "role": "canary",
    }
    assert manifests.pod_labels("stable")["role"] == "stable"
    assert manifests.namespace == "paystream"


def test_pod_template_hash_looks_like_kubernetes() -> None:
    value = pod_template_hash("anything")
    assert value == pod_template_hash("anything")
    assert value != pod_template_hash("something else")
    assert set(value) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_substitute_rejects_unknown_tags_like_argo() -> None:
    assert substitute({"q": "a{{ args.x }}b", "n": [1, "{{args.x}}"]}, {"x": "1"}, "w") == {
        "q": "a1b",
        "n": [1, "1"],
    }
    with pytest.raises(UserError, match="failed to resolve"):
        substitute("{{args.y}}", {"x": "1"}, "w")
    with pytest.raises(UserError, match="failed to resolve"):
        substitute("{{workflow.name}}", {"x": "1"}, "w")


# ---------------------------------------------------------------------------------------------
# Invalid manifests: each must fail with a message naming the place


def mutated(change: Any) -> list[dict[str, Any]]:
    objs = copy.deepcopy(objects())
    change(objs)
    return objs


def _rollout(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return find(objs, "Rollout")


def _template(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return find(objs, "AnalysisTemplate")


INVALID_READ = {
    "no rollout": (lambda o: o.remove(_rollout(o)), "expected exactly one Rollout"),
    "blue-green": (
        lambda o: _rollout(o)["spec"].update(strategy={"blueGreen": {}}),
        "canary Rollouts only",
    ),
    "experiment step": (
        lambda o: _rollout(o)["spec"]["strategy"]["canary"]["steps"].append({"experiment": {}}),
        "steps[5].experiment",
    ),
    "weight over 100": (
        lambda o: _rollout(o)["spec"]["strategy"]["canary"]["steps"].__setitem__(
            0, {"setWeight": 110}
        ),
        "steps[0].setWeight",
    ),
    "missing template": (
        lambda o: o.remove(_template(o)),
        "steps[1].analysis.templates[0]: AnalysisTemplate 'canary-vs-stable' is not in",
    ),
    "bad pause": (
        lambda o: _rollout(o)["spec"]["strategy"]["canary"]["steps"].__setitem__(
            3, {"pause": {"duration": "soon"}}
        ),
        "steps[3].pause.duration",
    ),
    "negative minReadySeconds": (
        lambda o: _rollout(o)["spec"].update(minReadySeconds=-5),
        "spec.minReadySeconds: expected seconds",
    ),
    "secret arg": (
        lambda o: _rollout(o)["spec"]["strategy"]["canary"]["analysis"]["args"].append(
            {"name": "x", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
        ),
        "analysis.args[3].valueFrom",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID_READ))
def test_invalid_rollouts_are_rejected_with_the_field(case: str) -> None:
    change, message = INVALID_READ[case]
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load(mutated(change))


INVALID_METRICS = {
    "arg without value": (
        lambda o: _template(o)["spec"]["args"].append({"name": "unset"}),
        "args.unset was not resolved",
    ),
    "unsupported condition": (
        lambda o: _template(o)["spec"]["metrics"][0].update(successCondition="result matches 'x'"),
        "AnalysisTemplate/canary-vs-stable: metrics[failure-ratio-delta].successCondition",
    ),
    "non-prometheus provider": (
        lambda o: _template(o)["spec"]["metrics"][0].update(provider={"web": {"url": "http://x"}}),
        "Prometheus metrics only",
    ),
    "count below failure limit": (
        lambda o: _template(o)["spec"]["metrics"][0].update(failureLimit=9),
        "count must be >= failureLimit",
    ),
    "count without interval": (
        lambda o: _template(o)["spec"]["metrics"][1].update(interval=None, count=3),
        "interval must be specified when count > 1",
    ),
    "duplicate metric": (
        lambda o: _template(o)["spec"]["metrics"].append(
            copy.deepcopy(_template(o)["spec"]["metrics"][0])
        ),
        "same name",
    ),
    "unknown tag": (
        lambda o: _template(o)["spec"]["metrics"][0]["provider"]["prometheus"].update(
            query="{{args.nope}}"
        ),
        "failed to resolve {{args.nope}}",
    ),
    "conflicting defaults": (
        lambda o: _template(o)["spec"]["args"].append({"name": "window", "value": "5m"}),
        "specified multiple times",
    ),
    "bad dry run": (
        lambda o: _rollout(o)["spec"]["strategy"]["canary"]["steps"][1]["analysis"].update(
            dryRun=[{"metricName": "nothing-like-this"}]
        ),
        "matches no metric",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID_METRICS))
def test_invalid_templates_are_rejected_before_anything_starts(case: str) -> None:
    change, message = INVALID_METRICS[case]
    manifests = load(mutated(change))
    with pytest.raises(UserError) as info:
        metric_specs(manifests.step_analyses[1], manifests, CONTEXT)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_dry_run_marks_matching_metrics() -> None:
    objs = mutated(
        lambda o: _rollout(o)["spec"]["strategy"]["canary"]["steps"][1]["analysis"].update(
            dryRun=[{"metricName": "p99-.*"}]
        )
    )
    manifests = load(objs)
    specs = {s.name: s for s in metric_specs(manifests.step_analyses[1], manifests, CONTEXT)}
    assert specs["p99-vs-slo"].dry_run and not specs["failure-ratio-delta"].dry_run
