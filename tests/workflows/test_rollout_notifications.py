"""The on-call notifications of base/delivery, rendered the way Argo Rollouts renders them.

Templates go through Go's text/template with sprig (py-go-template binds both; Argo Rollouts
uses the same pair, notifications-engine pkg/services/webhook.go). The bindings run with
`missingkey=error`, stricter than the controller's default: a template that renders here does
not depend on a field being present. Each body must be a valid PagerDuty Events API v2 event
whatever the analysis message holds (quotes, newlines), and must name the metrics that decided.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import go_template
import pytest
import yaml
from paystream_ops.render import render

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("staging", "prod")
SUBSCRIBE = "notifications.argoproj.io/subscribe."
ONCALL_TRIGGERS = (
    "on-rollout-paused",
    "on-analysis-run-inconclusive",
    "on-analysis-run-error",
    "on-rollout-completed",
    "on-rollout-aborted",
)
NASTY = 'canary "visa" timed out\nline two \\ {{ not a template }}'
ROUTING_KEY = "R0UT1NGKEY0123456789abcdef012345"  # a test value, not a real key


def rendered(env: str) -> tuple[dict[str, Any], dict[str, Any]]:
    objects = render(REPO / "overlays" / env)
    config = next(
        o
        for o in objects
        if o["kind"] == "ConfigMap"
        and o["metadata"]["name"] == "argo-rollouts-notification-configmap"
    )
    rollout = next(o for o in objects if o["kind"] == "Rollout")
    return config, rollout


def live_rollout(rollout: dict[str, Any]) -> dict[str, Any]:
    """The rendered Rollout as the controller holds it while paused at 10% on revision 7."""
    live = copy.deepcopy(rollout)
    live["metadata"]["annotations"]["rollout.argoproj.io/revision"] = "7"
    live["status"] = {
        "currentPodHash": "5b9c7d8e1",
        "stableRS": "6d4f8b7c9",
        "currentStepIndex": 1,
        "message": "InconclusiveAnalysisRun",
        "pauseConditions": [
            {"reason": "InconclusiveAnalysis", "startTime": "2026-11-27T17:00:00Z"}
        ],
        "canary": {"weights": {"canary": {"weight": 10}, "stable": {"weight": 90}}},
    }
    return live


def analysis_runs() -> list[dict[str, Any]]:
    """Newest first, as Argo Rollouts passes them: a step run that did not decide, and the
    background run still measuring (its metrics pass and are not reported)."""
    return [
        {
            "metadata": {"name": "auth-service-5b9c7d8e1-7-1"},
            "status": {
                "phase": "Inconclusive",
                "metricResults": [
                    {
                        "name": "failure-ratio-delta",
                        "phase": "Inconclusive",
                        "message": NASTY,
                        "measurements": [
                            {"phase": "Successful", "value": "[0.001,0.0,0.0,0.0]"},
                            {"phase": "Inconclusive", "value": "[0.021,0.0,0.0,0.0]"},
                        ],
                    },
                    {
                        "name": "p99-vs-slo",
                        "phase": "Error",
                        "measurements": [{"phase": "Error", "message": "Post: connection refused"}],
                    },
                    {"name": "p99-vs-stable", "phase": "Successful", "measurements": []},
                ],
            },
        },
        {
            "metadata": {"name": "auth-service-5b9c7d8e1-7"},
            "status": {
                "phase": "Running",
                "metricResults": [{"name": "visa-failures", "phase": "Running"}],
            },
        },
    ]


def template_body(config: dict[str, Any], template: str, service: str) -> str:
    spec = yaml.safe_load(config["data"][f"template.{template}"])
    body: str = spec["webhook"][service]["body"]
    return body


def render_body(body: str, variables: dict[str, Any], tmp_path: Path) -> str:
    source = tmp_path / "body.tmpl"
    source.write_text(body)
    out = go_template.render(source, variables).decode()
    assert not out.startswith(("render template failed", "parse template failed")), out
    return out


def variables(rollout: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "rollout": live_rollout(rollout),
        "analysisRuns": runs,
        "time": {},
        "secrets": {"pagerduty-routing-key": ROUTING_KEY, "github-token": "not-used"},
    }


def triggered(config: dict[str, Any], trigger: str) -> list[str]:
    sends: list[str] = []
    for condition in yaml.safe_load(config["data"][f"trigger.{trigger}"]):
        sends += condition["send"]
    return sends


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("trigger", ONCALL_TRIGGERS)
def test_each_oncall_event_is_a_valid_pagerduty_event(
    env: str, trigger: str, tmp_path: Path
) -> None:
    config, rollout = rendered(env)
    (template,) = triggered(config, trigger)
    body = render_body(
        template_body(config, template, "pagerduty"), variables(rollout, analysis_runs()), tmp_path
    )
    event = json.loads(body)
    assert event["routing_key"] == ROUTING_KEY
    where = f"{rollout['metadata']['namespace']}/auth-service"
    # One incident per Rollout: the completion resolves what a pause or an abort opened.
    assert event["dedup_key"] == f"{env}/{where}"
    if trigger == "on-rollout-completed":
        assert event["event_action"] == "resolve"
        return
    assert event["event_action"] == "trigger"
    payload = event["payload"]
    assert payload["severity"] in {"warning", "error"}
    assert payload["summary"].startswith(f"[{env}] {where} ")
    # The metric that decided is in the first line a person reads.
    assert "failure-ratio-delta Inconclusive [0.021,0.0,0.0,0.0]" in payload["summary"]
    details = payload["custom_details"]
    assert details["environment"] == env
    assert details["revision"] == "7"
    assert details["canary_weight"] == 10
    assert details["waiting_on"] == ["InconclusiveAnalysis"]
    assert details["metrics"] == [
        {
            "analysis_run": "auth-service-5b9c7d8e1-7-1",
            "metric": "failure-ratio-delta",
            "phase": "Inconclusive",
            "message": NASTY,
            "value": "[0.021,0.0,0.0,0.0]",
        },
        {
            "analysis_run": "auth-service-5b9c7d8e1-7-1",
            "metric": "p99-vs-slo",
            "phase": "Error",
            "message": "Post: connection refused",
            "value": "",
        },
    ]
    assert event["links"][0]["href"].endswith("RUNBOOK.md#paystreamauthcanarypausedtoolong")


def test_a_per_network_metric_name_is_reported_as_is(tmp_path: Path) -> None:
    config, rollout = rendered("prod")
    runs = [
        {
            "metadata": {"name": "auth-service-5b9c7d8e1-7-3"},
            "status": {
                "metricResults": [
                    {
                        "name": "visa-failures",
                        "phase": "Failed",
                        "measurements": [{"phase": "Failed", "value": "0.031"}],
                    }
                ]
            },
        }
    ]
    body = render_body(
        template_body(config, "paystream-rollout-aborted", "pagerduty"),
        variables(rollout, runs),
        tmp_path,
    )
    event = json.loads(body)
    assert "visa-failures Failed 0.031" in event["payload"]["summary"]
    assert event["payload"]["severity"] == "error"


def test_a_pause_without_analysis_says_it_waits_for_a_promote(tmp_path: Path) -> None:
    config, rollout = rendered("prod")
    live = variables(rollout, [])
    del live["rollout"]["status"]["pauseConditions"]
    del live["rollout"]["status"]["canary"]
    source = tmp_path / "body.tmpl"
    source.write_text(template_body(config, "paystream-oncall-rollout-paused", "pagerduty"))
    event = json.loads(go_template.render(source, live).decode())
    assert event["payload"]["summary"] == (
        "[prod] paystream/auth-service paused at 0% canary weight, waiting on a promote"
    )
    assert event["payload"]["custom_details"]["metrics"] == []


def test_a_value_spliced_in_without_tojson_breaks_the_body(tmp_path: Path) -> None:
    """Negative: the same check rejects a template that prints the message raw."""
    config, rollout = rendered("prod")
    body = template_body(config, "paystream-oncall-rollout-paused", "pagerduty")
    broken = body.replace(
        '"message": {{ dig "status" "message" "" .rollout | toJson }}',
        '"message": "{{ $metrics }}"',
    )
    assert broken != body
    with pytest.raises(json.JSONDecodeError):
        json.loads(render_body(broken, variables(rollout, analysis_runs()), tmp_path))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_subscribed_service_has_its_section_in_every_template_its_trigger_sends(
    env: str,
) -> None:
    """A template without a webhook.<service> section makes that service send a bare GET."""
    config, rollout = rendered(env)
    subscriptions = [
        key.removeprefix(SUBSCRIBE).rsplit(".", 1)
        for key in rollout["metadata"]["annotations"]
        if key.startswith(SUBSCRIBE)
    ]
    assert {t for t, service in subscriptions if service == "pagerduty"} == set(ONCALL_TRIGGERS)
    for trigger, service in subscriptions:
        assert f"service.webhook.{service}" in config["data"]
        for template in triggered(config, trigger):
            assert template_body(config, template, service)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_routing_key_comes_from_that_environments_vault_path(env: str) -> None:
    objects = render(REPO / "overlays" / env)
    secret = next(
        o
        for o in objects
        if o["kind"] == "ExternalSecret"
        and o["metadata"]["name"] == "argo-rollouts-notification-secret"
    )
    keys = {d["secretKey"]: d["remoteRef"]["key"] for d in secret["spec"]["data"]}
    assert keys["pagerduty-routing-key"] == f"{env}/argo-rollouts/pagerduty-routing-key"


def test_the_abort_summary_names_the_failed_metric_before_an_inconclusive_one(
    tmp_path: Path,
) -> None:
    """With one metric per network and signal, a run that failed on Visa may also hold an
    Inconclusive Amex metric: the page's first line names what failed."""
    config, rollout = rendered("prod")
    runs = [
        {
            "metadata": {"name": "auth-service-5b9c7d8e1-7-1"},
            "status": {
                "metricResults": [
                    {
                        "name": "amex-failures",
                        "phase": "Inconclusive",
                        "measurements": [{"phase": "Inconclusive", "value": "[NaN]"}],
                    },
                    {
                        "name": "visa-approvals",
                        "phase": "Failed",
                        "measurements": [{"phase": "Failed", "value": "[7.2]"}],
                    },
                ]
            },
        }
    ]
    body = render_body(
        template_body(config, "paystream-rollout-aborted", "pagerduty"),
        variables(rollout, runs),
        tmp_path,
    )
    summary = json.loads(body)["payload"]["summary"]
    assert summary.endswith(": visa-approvals Failed [7.2]"), summary
