"""The contract between the completed-rollout notification (base/delivery) and
.github/workflows/staging-evidence.yaml, then promote.yaml: the dispatch body is rendered from
the real template with Go's text/template and sprig (py-go-template, as in
test_rollout_notifications.py) against the rendered Rollout and AnalysisRuns shaped like the
controller's, and `paystream-ops evidence` accepts what a healthy completion renders and refuses
what a failed one renders. The workflows' shell steps run with a stand-in `uv`."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import go_template
import pytest
import yaml
from paystream_ops.errors import UserError
from paystream_ops.gitops import NothingToDo
from paystream_ops.gitops.evidence import EVENT_TYPE, check_passed, parse_event
from paystream_ops.gitops.evidence_markdown import per_network
from paystream_ops.render import render

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
ENVIRONMENTS = ("staging", "prod")
TEMPLATE = "paystream-rollout-completed"
NASTY = 'Rollout "completed"\nline two \\ {{ not a template }} `x` | y'


def rendered(env: str) -> tuple[dict[str, Any], dict[str, Any]]:
    objects = render(REPO / "overlays" / env)
    config = next(
        o
        for o in objects
        if o["kind"] == "ConfigMap"
        and o["metadata"]["name"] == "argo-rollouts-notification-configmap"
    )
    return config, next(o for o in objects if o["kind"] == "Rollout")


def completing(rollout: dict[str, Any]) -> dict[str, Any]:
    """The Rollout as the controller holds it when it emits RolloutCompleted (the copy from
    before the new status is persisted: stableRS still the old hash, rollout/sync.go)."""
    live = copy.deepcopy(rollout)
    live["metadata"]["annotations"]["rollout.argoproj.io/revision"] = "7"
    steps = len(live["spec"]["strategy"]["canary"]["steps"])
    live["status"] = {
        "currentPodHash": "5b9c7d8e1",
        "stableRS": "6d4f8b7c9",
        "currentStepIndex": steps,
        "phase": "Progressing",
        "message": NASTY,
    }
    return live


def measurement(phase: str, value: str, at: str) -> dict[str, Any]:
    return {"phase": phase, "value": value, "startedAt": at, "finishedAt": at}


def analysis_runs(step_phase: str = "Successful") -> list[dict[str, Any]]:
    """AnalysisRun objects as the controller passes them (newest first): a per-network metric
    (`<network>-<signal>`, single values), a vector metric and the figures (one errored, as a
    dry-run metric can), then the background run."""
    return [
        {
            "metadata": {
                "name": "auth-service-5b9c7d8e1-7-3",
                "labels": {"rollout-type": "Step", "rollouts-pod-template-hash": "5b9c7d8e1"},
                "annotations": {"rollout.argoproj.io/revision": "7"},
            },
            "spec": {
                "args": [
                    {"name": "canary-hash", "value": "5b9c7d8e1"},
                    {"name": "prometheus-address", "value": "http://prometheus:9090"},
                    {"name": "min-requests", "value": "30"},
                    {"name": "max-failures-score", "value": "4.61"},
                    {"name": "window", "value": "2m"},
                ],
                "dryRun": [{"metricName": "^(visa|mastercard|amex|discover)-canary-"}],
            },
            "status": {
                "phase": step_phase,
                "startedAt": "2026-12-04T10:03:00Z",
                "metricResults": [
                    {
                        "name": "visa-failures",
                        "phase": step_phase,
                        "count": 2,
                        "successful": 2 if step_phase == "Successful" else 1,
                        "failed": 0 if step_phase == "Successful" else 1,
                        "measurements": [
                            measurement("Successful", "0.0012", "2026-12-04T10:03:30Z"),
                            measurement(step_phase, "0.0011", "2026-12-04T10:04:00Z"),
                        ],
                    },
                    {
                        "name": "failure-ratio-delta",
                        "phase": "Successful",
                        "count": 1,
                        "successful": 1,
                        "measurements": [
                            measurement("Successful", "[0.001,0,0,0]", "2026-12-04T10:04:00Z")
                        ],
                    },
                    {
                        "name": "visa-canary-requests",
                        "phase": "Successful",
                        "count": 2,
                        "successful": 2,
                        "dryRun": True,
                        "measurements": [
                            measurement("Successful", "[380]", "2026-12-04T10:03:30Z"),
                            measurement("Successful", "[412]", "2026-12-04T10:04:00Z"),
                        ],
                    },
                    {
                        "name": "visa-canary-p99-seconds",
                        "phase": "Error",
                        "count": 0,
                        "error": 5,
                        "dryRun": True,
                        "measurements": [
                            {
                                "phase": "Error",
                                "message": "bad_data",
                                "startedAt": "2026-12-04T10:04:00Z",
                            }
                        ],
                    },
                ],
            },
        },
        {
            "metadata": {
                "name": "auth-service-5b9c7d8e1-7",
                "labels": {"rollout-type": "Background"},
            },
            "status": {
                "phase": "Running",
                "metricResults": [{"name": "visa-latency", "phase": "Running", "count": 0}],
            },
        },
    ]


def dispatch(env: str, runs: Any, tmp_path: Path) -> dict[str, Any]:
    config, rollout = rendered(env)
    spec = yaml.safe_load(config["data"][f"template.{TEMPLATE}"])
    source = tmp_path / "body.tmpl"
    source.write_text(spec["webhook"]["github"]["body"])
    variables = {
        "rollout": completing(rollout),
        "analysisRuns": runs,
        "time": {},
        "secrets": {"github-token": "not-used", "pagerduty-routing-key": "not-used"},
    }
    out = go_template.render(source, variables).decode()
    assert not out.startswith(("render template failed", "parse template failed")), out
    body: dict[str, Any] = json.loads(out)
    return body


def workflow(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return data


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_healthy_completion_renders_a_payload_evidence_record_accepts(
    env: str, tmp_path: Path
) -> None:
    body = dispatch(env, analysis_runs(), tmp_path)
    types = workflow("staging-evidence.yaml")[True]["repository_dispatch"]["types"]
    assert types == [body["event_type"]] == [EVENT_TYPE]
    payload = body["client_payload"]
    assert len(payload) <= 10  # GitHub's limit on client_payload's top-level keys
    event = parse_event(payload)
    check_passed(event, "payload")
    _, rollout = rendered(env)
    assert str(event.image) == rollout["spec"]["template"]["spec"]["containers"][0]["image"]
    assert event.environment == env and event.revision == 7
    assert event.status.message == NASTY  # quotes, newlines and braces survive toJson
    assert event.status.step_index == event.status.steps > 0
    assert [r.type for r in event.analysis_runs] == ["Step", "Background"]
    assert event.analysis_runs[0].metrics[0].value == "0.0011"  # the last measurement
    assert event.analysis_runs[0].metrics[0].started_at == "2026-12-04T10:03:30Z"
    # Only the bars and minimum counts travel, from the run's own args.
    assert [(a.name, a.value) for a in event.analysis_runs[0].args] == [
        ("min-requests", "30"),
        ("max-failures-score", "4.61"),
    ]
    # The errored figure is dry-run: it is shown as not measured and decides nothing.
    table = "\n".join(per_network(event))
    assert "| visa | 412 | not measured | not measured | not measured | 0.0011 (bar 4.61) |" in (
        table
    )
    assert "below 30 canary requests only a score over its bar decides" in table


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_rollout_subscribes_github_to_the_completion_and_both_services_have_a_section(
    env: str,
) -> None:
    config, rollout = rendered(env)
    annotations = rollout["metadata"]["annotations"]
    assert "notifications.argoproj.io/subscribe.on-rollout-completed.github" in annotations
    assert "notifications.argoproj.io/subscribe.on-rollout-completed.pagerduty" in annotations
    (condition,) = yaml.safe_load(config["data"]["trigger.on-rollout-completed"])
    assert condition["send"] == [TEMPLATE]
    spec = yaml.safe_load(config["data"][f"template.{TEMPLATE}"])
    assert spec["webhook"]["github"]["path"] == "/repos/paystream/platform/dispatches"
    assert set(spec["webhook"]) == {"github", "pagerduty"}


def test_a_failed_analysis_renders_a_payload_evidence_record_refuses(tmp_path: Path) -> None:
    """Negative: the same template over a run whose metric failed."""
    event = parse_event(dispatch("staging", analysis_runs("Failed"), tmp_path)["client_payload"])
    with pytest.raises(UserError, match="the analysis did not pass"):
        check_passed(event, "payload")


def test_a_completion_without_analysis_renders_null_runs_and_is_not_evidence(
    tmp_path: Path,
) -> None:
    """A rollback within the window completes without analysis runs for the revision (the
    controller passes nil, which the template renders as null)."""
    payload = dispatch("staging", None, tmp_path)["client_payload"]
    assert payload["analysis_runs"] in (None, [])
    with pytest.raises(NothingToDo, match="no Successful step analysis"):
        check_passed(parse_event(payload), "payload")


def test_the_template_without_tojson_breaks_the_body(tmp_path: Path) -> None:
    """Negative for the quoting: the message spliced in raw is not JSON any more."""
    config, rollout = rendered("staging")
    spec = yaml.safe_load(config["data"][f"template.{TEMPLATE}"])
    raw = spec["webhook"]["github"]["body"].replace(
        '{{ dig "status" "message" "" .rollout | trunc 1000 | toJson }}',
        '"{{ .rollout.status.message }}"',
    )
    assert raw != spec["webhook"]["github"]["body"]
    source = tmp_path / "raw.tmpl"
    source.write_text(raw)
    out = go_template.render(
        source, {"rollout": completing(rollout), "analysisRuns": [], "time": {}, "secrets": {}}
    ).decode()
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


# -- the workflows' shell steps, with a stand-in `uv` ---------------------------------------
def run_step(script: str, env: dict[str, str], tmp_path: Path, uv_exit: int) -> tuple[int, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    # Records its arguments and the payload file it was given, then exits like paystream-ops.
    (bin_dir / "uv").write_text(
        "#!/bin/bash\n"
        'printf "%s\\n" "$@" > uv-args\n'
        'args=("$@")\n'
        'for i in "${!args[@]}"; do\n'
        '  if [ "${args[$i]}" = --payload ]; then cp "${args[$((i + 1))]}" seen-payload.json; fi\n'
        "done\n"
        f"exit {uv_exit}\n"
    )
    (bin_dir / "uv").chmod(0o755)
    output = tmp_path / "github_output"
    output.write_text("")
    proc = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        env={
            **os.environ,
            **env,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "GITHUB_OUTPUT": str(output),
            "GH_TOKEN": "not-a-token",
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return proc.returncode, proc.stdout + proc.stderr + output.read_text()


def evidence_step() -> dict[str, Any]:
    steps = workflow("staging-evidence.yaml")["jobs"]["record"]["steps"]
    found: dict[str, Any] = next(
        s for s in steps if s.get("name") == "paystream-ops evidence record"
    )
    return found


def test_the_evidence_workflow_hands_the_payload_over_verbatim_as_a_file(tmp_path: Path) -> None:
    step = evidence_step()
    assert step["env"]["PAYLOAD"] == "${{ toJSON(github.event.client_payload) }}"
    payload = json.dumps({"environment": "staging", "message": NASTY + " $(touch pwned)"})
    code, log = run_step(step["run"], {"PAYLOAD": payload}, tmp_path, uv_exit=0)
    assert code == 0, log
    args = (tmp_path / "uv-args").read_text().splitlines()
    assert args[:6] == ["run", "--frozen", "paystream-ops", "evidence", "record", "--payload"]
    assert "--push" in args
    assert (tmp_path / "seen-payload.json").read_text() == payload
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(("uv_exit", "step_exit"), [(0, 0), (3, 0), (2, 2), (1, 1)])
def test_the_evidence_workflow_fails_on_a_refusal_and_not_on_nothing_to_do(
    tmp_path: Path, uv_exit: int, step_exit: int
) -> None:
    code, log = run_step(evidence_step()["run"], {"PAYLOAD": "{}"}, tmp_path, uv_exit)
    assert code == step_exit, log
    assert ("nothing recorded" in log) == (uv_exit == 3)


def promote_step() -> dict[str, Any]:
    steps = workflow("promote.yaml")["jobs"]["promote"]["steps"]
    found: dict[str, Any] = next(s for s in steps if s.get("id") == "promote")
    return found


@pytest.mark.parametrize(
    ("event", "uv_exit", "step_exit", "opened"),
    [
        ("schedule", 5, 0, "opened=false"),
        ("workflow_dispatch", 5, 5, ""),
        ("workflow_dispatch", 0, 0, "opened=true"),
        ("schedule", 2, 2, ""),
    ],
)
def test_the_promotion_workflow_waits_for_evidence_on_schedule_and_fails_when_asked(
    tmp_path: Path, event: str, uv_exit: int, step_exit: int, opened: str
) -> None:
    env = {
        "GITHUB_EVENT_NAME": event,
        "MIN_SOAK_HOURS": "24",
        "BREAK_GLASS_REASON": "",
        "WITHOUT_EVIDENCE_REASON": "",
    }
    code, log = run_step(promote_step()["run"], env, tmp_path, uv_exit)
    assert code == step_exit, log
    assert opened in log
    if uv_exit == 5 and event == "workflow_dispatch":
        assert "without-evidence-reason" in log


def test_the_promotion_workflow_passes_a_persons_reason_with_their_name(tmp_path: Path) -> None:
    step = promote_step()
    assert "inputs.without-evidence-reason" in step["env"]["WITHOUT_EVIDENCE_REASON"]
    assert "github.event_name == 'workflow_dispatch'" in step["env"]["WITHOUT_EVIDENCE_REASON"]
    reason = 'staging controller down "tonight"; $(touch pwned)'
    env = {
        "GITHUB_EVENT_NAME": "workflow_dispatch",
        "GITHUB_ACTOR": "oncall-sre",
        "MIN_SOAK_HOURS": "0",
        "BREAK_GLASS_REASON": "",
        "WITHOUT_EVIDENCE_REASON": reason,
    }
    code, log = run_step(step["run"], env, tmp_path, 0)
    assert code == 0, log
    args = (tmp_path / "uv-args").read_text().splitlines()
    assert args[args.index("--without-evidence") + 1] == f"{reason} (requested by @oncall-sre)"
    assert not (tmp_path / "pwned").exists()
