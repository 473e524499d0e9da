"""The scrape job built from the real prod PodMonitor, run by a real Prometheus: series get
exactly the contract's labels, and a pod the PodMonitor does not select is not scraped."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from paystream_ops.lab.manifests import read_manifests
from paystream_ops.lab.targets import PodTarget, prometheus_config, scrape_job
from paystream_ops.processes import PrometheusProcess, free_port

pytestmark = pytest.mark.integration

BODY = b'paystream_auth_requests_total{network="visa",outcome="approved"} 5\n'


class _Metrics(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def metrics_port() -> Iterator[int]:
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Metrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()


def test_prod_podmonitor_labels_canary_series_as_the_contract_says(
    prod_objects: list[dict[str, Any]], metrics_port: int, tmp_path: Path
) -> None:
    manifests = read_manifests(prod_objects, "overlays/prod", 10)
    canary_labels = {**manifests.pod_labels("canary"), "rollouts-pod-template-hash": "abc12"}
    foreign = {"app.kubernetes.io/name": "something-else", "role": "canary"}
    targets = [
        PodTarget(
            f"127.0.0.1:{metrics_port}",
            "paystream",
            "auth-service-abc12-x",
            canary_labels,
            "auth-service",
            "http",
            8080,
        ),
        PodTarget(
            f"localhost:{metrics_port}", "paystream", "other-1", foreign, "other", "http", 8080
        ),
    ]
    plan = scrape_job(manifests.pod_monitor, targets, 10, "overlays/prod")
    prometheus = PrometheusProcess(tmp_path, prometheus_config(plan))
    prometheus.start()
    try:
        deadline = time.monotonic() + 30
        series: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not series:
            series = prometheus.query("paystream_auth_requests_total")
            time.sleep(0.25)
        assert len(series) == 1
        labels = series[0]["metric"]
        assert labels["job"] == "auth-service"
        assert labels["namespace"] == "paystream"
        assert labels["pod"] == "auth-service-abc12-x"
        assert labels["role"] == "canary"
        assert labels["rollouts_pod_template_hash"] == "abc12"
        assert not any(name.startswith("__meta") for name in labels)
        dropped = httpx.get(f"{prometheus.base_url}/api/v1/targets?state=dropped", timeout=5).json()
        dropped_pods = [
            t["discoveredLabels"]["__meta_kubernetes_pod_name"]
            for t in dropped["data"]["droppedTargets"]
        ]
        assert dropped_pods == ["other-1"]
    finally:
        prometheus.stop()
