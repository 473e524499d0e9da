"""The Alertmanager configuration through the real amtool, and its delivery as a Secret."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import yaml
from paystream_ops.monitoring.rule_files import Rule
from paystream_ops.processes import free_port, wait_http_ok
from paystream_ops.render import render

from .conftest import run, tool

CONFIG = Path("base/monitoring/alertmanager/alertmanager.yaml")
PAYSTREAM_RECEIVERS = {"page": "pagerduty-paystream", "ticket": "slack-paystream-tickets"}
GROUP_WAIT_SECONDS = 0.5
GROUP_WAIT = f"{int(GROUP_WAIT_SECONDS * 1000)}ms"


def routes_to(root: Path, labels: dict[str, str], receiver: str) -> tuple[int, str]:
    proc = run(
        tool("amtool"),
        "config",
        "routes",
        "test",
        f"--config.file={root / CONFIG}",
        f"--verify.receivers={receiver}",
        *(f"{k}={v}" for k, v in labels.items()),
    )
    return proc.returncode, proc.stdout.strip()


def test_amtool_check_config_accepts_the_config(root: Path) -> None:
    proc = run(tool("amtool"), "check-config", root / CONFIG)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_amtool_check_config_rejects_a_route_to_an_unknown_receiver(
    root: Path, tmp_path: Path
) -> None:
    config = yaml.safe_load((root / CONFIG).read_text())
    config["route"]["routes"][1]["routes"][0]["receiver"] = "pagerduty-nobody"
    broken = tmp_path / "alertmanager.yaml"
    broken.write_text(yaml.safe_dump(config))
    proc = run(tool("amtool"), "check-config", broken)
    assert proc.returncode != 0
    assert "pagerduty-nobody" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ({"team": "paystream", "severity": "page", "alertname": "X"}, "pagerduty-paystream"),
        ({"team": "paystream", "severity": "ticket", "alertname": "X"}, "slack-paystream-tickets"),
        ({"team": "paystream", "alertname": "X"}, "slack-paystream"),
        ({"severity": "critical", "alertname": "KubeNodeNotReady"}, "pagerduty-platform"),
        ({"severity": "warning", "alertname": "KubePodCrashLooping"}, "slack-platform"),
        ({"severity": "info", "alertname": "KubeQuotaAlmostFull"}, "null"),
        ({"severity": "none", "alertname": "Watchdog"}, "null"),
        ({"alertname": "SomethingNew"}, "slack-platform"),
    ],
    ids=lambda v: ",".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else v,
)
def test_each_severity_routes_to_its_receiver(
    root: Path, labels: dict[str, str], receiver: str
) -> None:
    code, out = routes_to(root, labels, receiver)
    assert code == 0, out
    assert out == receiver


def test_a_wrong_expected_receiver_fails_the_route_test(root: Path) -> None:
    code, out = routes_to(root, {"team": "paystream", "severity": "page"}, "slack-paystream")
    assert code != 0
    assert out.startswith("pagerduty-paystream")


def test_every_alert_in_the_rules_routes_by_its_severity(root: Path, all_rules: list[Rule]) -> None:
    alerts = {(r.name, r.labels["severity"]): r for r in all_rules if r.kind == "alert"}
    assert {severity for _, severity in alerts} == set(PAYSTREAM_RECEIVERS)
    for (name, severity), alert in sorted(alerts.items()):
        labels = {"alertname": name, **alert.labels, "namespace": "paystream"}
        code, out = routes_to(root, labels, PAYSTREAM_RECEIVERS[severity])
        assert code == 0, f"{alert.source}: routed to {out}"


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_the_config_is_delivered_verbatim_as_the_alertmanager_secret(root: Path, env: str) -> None:
    objects = {o["kind"]: o for o in render(root / f"overlays/{env}/alertmanager")}
    assert set(objects) == {"Secret", "ExternalSecret"}
    secret = objects["Secret"]
    assert secret["metadata"]["name"] == "alertmanager-paystream"
    assert secret["metadata"]["namespace"] == "monitoring"
    delivered = base64.b64decode(secret["data"]["alertmanager.yaml"]).decode()
    assert delivered == (root / CONFIG).read_text()
    receivers = objects["ExternalSecret"]
    assert receivers["metadata"]["namespace"] == "monitoring"
    assert receivers["spec"]["target"]["name"] == "alertmanager-receivers"
    assert receivers["spec"]["dataFrom"][0]["extract"]["key"] == f"{env}/alertmanager/receivers"


def test_the_stack_mounts_what_the_config_reads(root: Path) -> None:
    """kube-prometheus-stack's Alertmanager loads our Secret and mounts the receivers' keys where
    every `*_file` of alertmanager.yaml points."""
    app = yaml.safe_load((root / "apps/platform/kube-prometheus-stack.yaml").read_text())
    spec = app["spec"]["source"]["helm"]["valuesObject"]["alertmanager"]["alertmanagerSpec"]
    assert spec["useExistingSecret"] is True
    assert spec["configSecret"] == "alertmanager-paystream"
    volumes = {v["name"]: v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v}
    mounted = {
        m["mountPath"].rstrip("/") + "/"
        for m in spec["volumeMounts"]
        if volumes.get(m["name"]) == "alertmanager-receivers"
    }
    assert mounted, "the receivers' Secret is not mounted"
    config = yaml.safe_load((root / CONFIG).read_text())
    files = [
        value
        for receiver in config["receivers"]
        for kind, items in receiver.items()
        if kind != "name"
        for item in items
        for key, value in item.items()
        if key.endswith("_file")
    ]
    assert files, "no receiver reads a credential file"
    unmounted = [f for f in files if not any(f.startswith(m) for m in mounted)]
    assert not unmounted, f"read from a Secret the stack does not mount: {unmounted}"


def test_no_receiver_credential_is_inline(root: Path) -> None:
    config = yaml.safe_load((root / CONFIG).read_text())
    for receiver in config["receivers"]:
        for kind, items in receiver.items():
            if kind == "name":
                continue
            for item in items:
                assert not {"routing_key", "service_key", "api_url", "url"} & set(item), receiver
                assert any(k.endswith("_file") for k in item), receiver


class _WebhookSink(ThreadingHTTPServer):
    """Loopback stand-in for every receiver: records (receiver, alertname) of each notification."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Webhook)
        self.delivered: list[tuple[str, str]] = []


class _Webhook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        sink = cast("_WebhookSink", self.server)
        sink.delivered.extend((body["receiver"], a["labels"]["alertname"]) for a in body["alerts"])
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class LiveAlertmanager:
    url: str
    delivered: list[tuple[str, str]]

    def post(self, *alerts: dict[str, str]) -> None:
        body = [{"labels": a, "annotations": {"summary": a["alertname"]}} for a in alerts]
        httpx.post(f"{self.url}/api/v2/alerts", json=body, timeout=5).raise_for_status()

    def inhibited(self) -> dict[str, list[str]]:
        """alertname/network -> the fingerprints that inhibit it (empty: it notifies)."""
        alerts = httpx.get(f"{self.url}/api/v2/alerts", timeout=5).json()
        return {
            f"{a['labels']['alertname']}/{a['labels'].get('network', '-')}"
            f"/{a['labels'].get('severity', '-')}": a["status"]["inhibitedBy"]
            for a in alerts
        }

    def wait_delivered(self, receiver: str, alertname: str) -> None:
        deadline = time.monotonic() + 10
        while (receiver, alertname) not in self.delivered:
            if time.monotonic() > deadline:
                raise AssertionError(f"{alertname} not delivered to {receiver}: {self.delivered}")
            time.sleep(0.1)


def _shorten_waits(route: dict[str, Any]) -> None:
    route["group_wait"] = GROUP_WAIT
    for child in route.get("routes", []):
        _shorten_waits(child)


@pytest.fixture
def alertmanager(root: Path, tmp_path: Path) -> Iterator[LiveAlertmanager]:
    """The real Alertmanager with our routes and inhibitions; receivers post to loopback."""
    binary = shutil.which("prometheus-alertmanager") or tool("alertmanager")
    webhooks = _WebhookSink()
    threading.Thread(target=webhooks.serve_forever, daemon=True).start()
    config = yaml.safe_load((root / CONFIG).read_text())
    # Nothing may leave the machine, and a test may not wait out a page's group_wait:
    # receivers and waits change; routes, matchers and inhibitions are ours.
    sink = f"http://127.0.0.1:{webhooks.server_address[1]}/"
    config["receivers"] = [
        {"name": r["name"], "webhook_configs": [{"url": sink}]}
        if r["name"] != "null"
        else {"name": "null"}
        for r in config["receivers"]
    ]
    _shorten_waits(config["route"])
    path = tmp_path / "alertmanager.yaml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={path}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            # One instance: no gossip to wait for before the first notification.
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http_ok(f"{url}/-/ready", 20.0, cast("subprocess.Popen[bytes]", proc))
        yield LiveAlertmanager(url, webhooks.delivered)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        webhooks.shutdown()


def _eventually(read: Callable[[], dict[str, list[str]]], expected: dict[str, bool]) -> None:
    deadline = time.monotonic() + 10
    state: dict[str, list[str]] = {}
    while time.monotonic() < deadline:
        state = read()
        if {k: bool(state.get(k)) for k in expected} == expected and set(expected) <= set(state):
            return
        time.sleep(0.2)
    raise AssertionError(f"inhibitions: expected {expected}, got {state}")


@pytest.mark.integration
def test_causes_inhibit_their_symptoms_in_a_real_alertmanager(
    alertmanager: LiveAlertmanager,
) -> None:
    base = {"team": "paystream", "namespace": "paystream", "job": "auth-service"}
    burn = {**base, "alertname": "PaystreamAuthAvailabilityBudgetBurn", "slo": "availability"}
    alertmanager.post(
        {**burn, "network": "visa", "severity": "page"},
        {**burn, "network": "visa", "severity": "ticket"},
        {**burn, "network": "mastercard", "severity": "ticket"},
        {**burn, "network": "amex", "severity": "page"},
        {
            **base,
            "alertname": "PaystreamAuthCircuitBreakerOpen",
            "network": "amex",
            "role": "stable",
            "severity": "page",
        },
        {**base, "alertname": "PaystreamAuthCanaryFailing", "network": "visa", "severity": "page"},
    )
    _eventually(
        alertmanager.inhibited,
        {
            # The canary explains Visa's burn; the page would also cover the ticket.
            "PaystreamAuthAvailabilityBudgetBurn/visa/page": True,
            "PaystreamAuthAvailabilityBudgetBurn/visa/ticket": True,
            # Nothing explains Mastercard's slow burn: it notifies.
            "PaystreamAuthAvailabilityBudgetBurn/mastercard/ticket": False,
            # Amex's open breaker is the cause of Amex's burn.
            "PaystreamAuthAvailabilityBudgetBurn/amex/page": True,
            "PaystreamAuthCircuitBreakerOpen/amex/page": False,
            "PaystreamAuthCanaryFailing/visa/page": False,
        },
    )
    alertmanager.post(
        {
            **base,
            "alertname": "PaystreamAuthRolloutAborted",
            "name": "auth-service",
            "phase": "Abort",
            "severity": "ticket",
        },
    )
    # Once the rollout aborted, the canary alert has nothing left to ask.
    _eventually(
        alertmanager.inhibited,
        {
            "PaystreamAuthCanaryFailing/visa/page": True,
            "PaystreamAuthRolloutAborted/-/ticket": False,
        },
    )


BASE = {"team": "paystream", "namespace": "paystream", "job": "auth-service"}
DECLINING = {
    **BASE,
    "alertname": "PaystreamAuthCanaryDeclining",
    "network": "visa",
    "signal": "approvals",
    "severity": "page",
}
ABORTED = {
    **BASE,
    "alertname": "PaystreamAuthRolloutAborted",
    "name": "auth-service",
    "phase": "Abort",
    "severity": "ticket",
}


@pytest.mark.integration
def test_a_declining_canary_pages_while_the_rollout_has_not_aborted(
    alertmanager: LiveAlertmanager,
) -> None:
    alertmanager.post(DECLINING)
    alertmanager.wait_delivered("pagerduty-paystream", "PaystreamAuthCanaryDeclining")
    _eventually(alertmanager.inhibited, {"PaystreamAuthCanaryDeclining/visa/page": False})


@pytest.mark.integration
def test_an_aborted_rollout_inhibits_the_declining_canary(alertmanager: LiveAlertmanager) -> None:
    """The abort already stopped the canary (docs/decisions/0126): only its ticket goes out."""
    alertmanager.post(ABORTED, DECLINING)
    _eventually(
        alertmanager.inhibited,
        {
            "PaystreamAuthCanaryDeclining/visa/page": True,
            "PaystreamAuthRolloutAborted/-/ticket": False,
        },
    )
    alertmanager.wait_delivered("slack-paystream-tickets", "PaystreamAuthRolloutAborted")
    # Both groups flushed after the same wait; give the page's group one more before looking.
    time.sleep(2 * GROUP_WAIT_SECONDS)
    assert all(name != "PaystreamAuthCanaryDeclining" for _, name in alertmanager.delivered)
