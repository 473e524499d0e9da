"""The contract between the Argo Rollouts abort notification (base/delivery) and
.github/workflows/revert-on-abort.yaml: the rendered overlays produce a dispatch body the
workflow accepts, and the workflow's own shell steps reject a payload that breaks the contract.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import go_template
import pytest
import yaml
from paystream_ops.gitops.imageref import parse_image_ref
from paystream_ops.render import render

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "revert-on-abort.yaml"
ENVIRONMENTS = ("staging", "prod")
# A payload value printed into the JSON body: it must go through toJson.
VALUE = re.compile(r'^\s*"[a-z_]+": \{\{(.*?)\}\},?$')


def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def step(name_prefix: str) -> dict[str, Any]:
    steps = workflow()["jobs"]["revert"]["steps"]
    found: dict[str, Any] = next(s for s in steps if s.get("name", "").startswith(name_prefix))
    return found


def rendered(env: str) -> list[dict[str, Any]]:
    return render(REPO / "overlays" / env)


def dispatch_body(env: str, tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    objects = rendered(env)
    config = next(
        o
        for o in objects
        if o["kind"] == "ConfigMap"
        and o["metadata"]["name"] == "argo-rollouts-notification-configmap"
    )
    rollout = next(o for o in objects if o["kind"] == "Rollout")
    rollout = {
        **rollout,
        "metadata": {
            **rollout["metadata"],
            "annotations": {
                **rollout["metadata"].get("annotations", {}),
                "rollout.argoproj.io/revision": "7",
            },
        },
        "status": {
            "stableRS": "6d4f8b7c9",
            "currentPodHash": "5b9c7d8e1",
            "message": 'RolloutAborted: aborted update to revision 7: Metric "failure" Failed',
        },
    }
    template = yaml.safe_load(config["data"]["template.paystream-rollout-aborted"])
    body_template = template["webhook"]["github"]["body"]
    for line in body_template.splitlines():
        if match := VALUE.match(line):
            assert match.group(1).strip().endswith("| toJson"), f"not through toJson: {line}"
    source = tmp_path / "github-body.tmpl"
    source.write_text(body_template)
    runs = [
        {
            "metadata": {"name": "auth-service-5b9c7d8e1-7-1"},
            "status": {
                "metricResults": [
                    {"name": "amex-failures", "phase": "Inconclusive"},
                    {
                        "name": "visa-failures",
                        "phase": "Failed",
                        "measurements": [{"phase": "Failed", "value": "[9.31]"}],
                    },
                ]
            },
        },
        {
            "metadata": {"name": "auth-service-5b9c7d8e1-7"},
            "status": {
                "metricResults": [
                    {
                        "name": "visa-failures",
                        "phase": "Failed",
                        "measurements": [{"phase": "Failed", "value": "[9.31]"}],
                    }
                ]
            },
        },
    ]
    body = go_template.render(source, {"rollout": rollout, "analysisRuns": runs}).decode()
    assert not body.startswith(("render template failed", "parse template failed")), body
    return config, json.loads(body)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_notification_sends_the_event_the_workflow_listens_for(
    env: str, tmp_path: Path
) -> None:
    config, body = dispatch_body(env, tmp_path)
    assert body["event_type"] == workflow()[True]["repository_dispatch"]["types"][0]
    payload = body["client_payload"]
    assert len(payload) <= 10  # GitHub's limit on client_payload
    assert payload["environment"] == env
    assert '"failure"' in payload["message"]
    # Each failed network-and-signal metric once, with its value; not the inconclusive one.
    assert payload["failed_metrics"] == "visa-failures=[9.31]"
    used = set(re.findall(r"client_payload\.([a-z_]+)", WORKFLOW.read_text()))
    assert used <= set(payload), used - set(payload)
    # The image the Rollout runs is one `rollback --expect-image` accepts.
    ref = parse_image_ref(payload["image"])
    assert ref.digest is not None
    # Wiring: the trigger sends this template through the `github` webhook the Rollout uses.
    assert "service.webhook.github" in config["data"]
    assert "paystream-rollout-aborted" in config["data"]["trigger.on-rollout-aborted"]
    rollout = next(o for o in rendered(env) if o["kind"] == "Rollout")
    annotations = rollout["metadata"].get("annotations", {})
    assert "notifications.argoproj.io/subscribe.on-rollout-aborted.github" in annotations


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_token_comes_from_that_environments_vault_path(env: str) -> None:
    secret = next(
        o
        for o in rendered(env)
        if o["kind"] == "ExternalSecret"
        and o["metadata"]["name"] == "argo-rollouts-notification-secret"
    )
    assert secret["spec"]["target"]["name"] == "argo-rollouts-notification-secret"
    assert secret["spec"]["data"][0]["secretKey"] == "github-token"
    assert secret["spec"]["data"][0]["remoteRef"]["key"] == f"{env}/argo-rollouts/github-token"


def test_the_controller_reads_notification_config_from_the_rollout_namespace() -> None:
    app = yaml.safe_load((REPO / "apps/platform/argo-rollouts.yaml").read_text())
    values = app["spec"]["source"]["helm"]["valuesObject"]
    assert values["controller"]["selfServiceNotification"] is True


def run_step(script: str, env: dict[str, str], tmp_path: Path) -> tuple[int, dict[str, str], str]:
    output = tmp_path / "github_output"
    output.write_text("")
    proc = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        env={**os.environ, **env, "GITHUB_OUTPUT": str(output)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    values = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return proc.returncode, values, proc.stdout + proc.stderr


GOOD_IMAGE = "ghcr.io/paystream/auth-service:1.4.1@sha256:" + "ab" * 32


def test_the_payload_check_accepts_a_good_payload_and_derives_the_branch(tmp_path: Path) -> None:
    code, outputs, log = run_step(
        step("Check the notification payload")["run"],
        {"ENVIRONMENT": "prod", "ABORTED_IMAGE": GOOD_IMAGE},
        tmp_path,
    )
    assert code == 0, log
    assert outputs == {"environment": "prod", "branch": "rollback/prod-abababababab"}


@pytest.mark.parametrize(
    ("environment", "image"),
    [
        ("qa", GOOD_IMAGE),
        ("prod; rm -rf /", GOOD_IMAGE),
        ("prod", "ghcr.io/paystream/auth-service:1.4.1"),
        ("prod", GOOD_IMAGE + "\nenvironment=staging"),
        ("prod", "ghcr.io/evil/auth-service@sha256:" + "ab" * 32),
        ("prod", "$(touch pwned)@sha256:" + "ab" * 32),
    ],
)
def test_the_payload_check_rejects_what_breaks_the_contract(
    tmp_path: Path, environment: str, image: str
) -> None:
    code, outputs, _ = run_step(
        step("Check the notification payload")["run"],
        {"ENVIRONMENT": environment, "ABORTED_IMAGE": image},
        tmp_path,
    )
    assert code != 0
    assert outputs == {}
    assert not (tmp_path / "pwned").exists()


def test_the_pull_request_body_carries_the_abort_details_verbatim_but_inert(tmp_path: Path) -> None:
    if shutil.which("jq") is None:
        pytest.fail("jq not found: run `make setup` (Debian package)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # GitHub is not reachable here: a stand-in `gh` records what the step would send.
    (bin_dir / "gh").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > gh-args\n')
    (bin_dir / "gh").chmod(0o755)
    (tmp_path / "rollback.json").write_text(
        json.dumps(
            {
                "title": "revert(prod): roll back auth-service 1.4.1 -> 1.4.0",
                "reverted": "f" * 40,
                "message": "revert(prod): roll back\n\nThis reverts commit " + "f" * 40 + ".",
                "verdicts": ["- Visa: failures, score 9.31 (visa-failures)"],
            }
        )
    )
    payload = {
        "environment": "prod",
        "image": GOOD_IMAGE,
        "message": "analysis `failed` | $(whoami) <script>",
    }
    code, _, log = run_step(
        step("Open the revert pull request")["run"],
        {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "BRANCH": "rollback/prod-abababababab",
            "PAYLOAD": json.dumps(payload),
            "GITHUB_REPOSITORY": "paystream/platform",
        },
        tmp_path,
    )
    assert code == 0, log
    body = (tmp_path / "body.md").read_text()
    assert "| message | `analysis  failed    $(whoami) <script>` |" in body
    # The failed network and signal come first, before the table.
    assert body.index("- Visa: failures, score 9.31 (visa-failures)") < body.index("| Field |")
    assert "This reverts commit " + "f" * 40 in body
    args = (tmp_path / "gh-args").read_text().splitlines()
    assert args[:2] == ["pr", "create"]
    assert "rollback/prod-abababababab" in args
    assert "revert(prod): roll back auth-service 1.4.1 -> 1.4.0" in args
