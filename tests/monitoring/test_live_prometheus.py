"""Every PromQL expression in the repository against a real Prometheus scraping the real service.

Two granian processes serve `paystream_auth.app:app` on loopback: one labelled like a stable pod,
one like a canary pod with a fault profile (Visa timeouts, Discover processor errors that open
its breaker). The lab's traffic generator drives both. Prometheus scrapes them through the scrape
job the Prometheus Operator would build from the rendered PodMonitor (so the series carry the
PodMonitor's labels), loads the rendered PrometheusRules, and scrapes a fixture standing in for
kube-state-metrics and the Argo Rollouts controller. Then the recording rules, the alerts, the
analysis queries (args filled in, short window) and every dashboard panel must parse and read
series that exist. A second Prometheus renames one service metric at scrape time, as a renamed
metric in the service would: the same check must fail there.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from paystream_auth.networks import NETWORKS
from paystream_ops.dashboards.analysis import analysis_queries
from paystream_ops.judge.figures import FIGURES
from paystream_ops.judge.signals import SIGNALS
from paystream_ops.judge.template import args as judge_args
from paystream_ops.lab.manifests import LabManifests, pod_template_hash, read_manifests
from paystream_ops.lab.targets import PodTarget, prometheus_config, scrape_job
from paystream_ops.lab.traffic import TrafficGenerator, wait_for_samples
from paystream_ops.monitoring.check import Finding, check
from paystream_ops.monitoring.expressions import (
    Expression,
    analysis_expressions,
    dashboard_expressions,
    rule_expressions,
)
from paystream_ops.monitoring.rule_files import rule_files, rules, write_rule_files
from paystream_ops.processes import PrometheusProcess, ServiceProcess
from paystream_ops.render import K8sObject, render

from .conftest import HERE, tool

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TIME_SCALE = 10.0  # the PodMonitor's 5 s interval becomes a 0.5 s scrape
WINDOW = "15s"  # the analysis window arg: short, still 30 scrapes per series
# The latency burst guard's sub-windows: three in the window, as the validator demands (0130).
SUB_WINDOWS = {"latency-sub-window": "5s", "latency-sub-window-requests": "5"}
CANARY_FAULTS = {"visa": {"timeout_rate": 0.2}, "discover": {"error_rate": 1.0}}
RENAMED = ("paystream_auth_requests_total", "paystream_auth_authorizations_total")


@dataclass
class Live:
    manifests: LabManifests
    objects: list[K8sObject]
    prometheus: PrometheusProcess
    renamed: PrometheusProcess
    stable_hash: str
    canary_hash: str

    def expressions(self, root: Path) -> list[Expression]:
        namespace = self.manifests.namespace
        args = {
            "namespace": namespace,
            "canary-hash": self.canary_hash,
            "stable-hash": self.stable_hash,
            "window": WINDOW,
            "min-requests": "5",
            "min-latency-requests": "5",
            **SUB_WINDOWS,
            **THRESHOLDS,
        }
        dashboard = json.loads(
            (root / "base/monitoring/dashboards/paystream-auth-service.json").read_text()
        )
        variables = {
            "namespace": namespace,
            "network": ".*",
            "canary_hash": self.canary_hash,
            "stable_hash": self.stable_hash,
            "window": WINDOW,
            "min_requests": "5",
            "min_latency_requests": "5",
            **{
                name.replace("-", "_"): value
                for name, value in {**SUB_WINDOWS, **THRESHOLDS}.items()
            },
            "__rate_interval": "10s",
        }
        return [
            *rule_expressions(rules(rule_files(self.objects))),
            *analysis_expressions(analysis_queries(self.objects), args),
            *dashboard_expressions(dashboard, variables),
        ]


# The thresholds the template's queries use too (overwhelming evidence below min-requests), and
# the latency margin and the stall that shapes it (docs/decisions/0110, 0135).
THRESHOLDS = {
    a.name: str(a.default)
    for a in judge_args()
    if a.name.startswith("max-") or a.name.endswith(("-margin", "-stall-seconds"))
}


class _Exporters(BaseHTTPRequestHandler):
    """Serves the kube-state-metrics / Argo Rollouts fixture; event counters grow per scrape."""

    text = ""
    scrapes = 0

    def do_GET(self) -> None:
        cls = type(self)
        cls.scrapes += 1
        body = cls.text.replace("{steps}", str(cls.scrapes)).replace("{aborts}", "1").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def live(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tool("prometheus")
    workdir = tmp_path_factory.mktemp("live-prometheus")
    objects = render(root / "overlays" / "prod")
    manifests = read_manifests(objects, "overlays/prod", TIME_SCALE)
    rule_paths = write_rule_files(rule_files(objects), workdir / "rules")
    stable_hash, canary_hash = pod_template_hash("stable"), pod_template_hash("canary")
    common_env = {
        "PAYSTREAM_PROCESSOR_DEADLINE_MS": "300",
        "PAYSTREAM_LATENCY_SCALE": "0.1",
        "PAYSTREAM_BREAKER_RESET_SECONDS": "2",
        "PAYSTREAM_SEED": "7",
    }
    stable = ServiceProcess(env={**common_env, "PAYSTREAM_VERSION": "1.0.0"})
    canary = ServiceProcess(
        env={
            **common_env,
            "PAYSTREAM_VERSION": "1.0.1",
            "PAYSTREAM_FAULTS": json.dumps(CANARY_FAULTS),
        }
    )
    server: ThreadingHTTPServer | None = None
    started: list[Any] = []
    try:
        for service in (stable, canary):
            service.start()
            started.append(service)
        targets = []
        for role, service, pod_hash in (
            ("stable", stable, stable_hash),
            ("canary", canary, canary_hash),
        ):
            labels = {**manifests.pod_labels(role), "rollouts-pod-template-hash": pod_hash}
            targets.append(
                PodTarget(
                    address=f"127.0.0.1:{service.port}",
                    namespace=manifests.namespace,
                    pod=f"{manifests.name}-{pod_hash}-{role[:5]}",
                    labels=labels,
                    container="auth-service",
                    port_name="http",
                    port_number=8080,
                )
            )
        _Exporters.text = (
            (HERE / "fixtures" / "cluster-exporters.prom")
            .read_text()
            .replace("{namespace}", manifests.namespace)
            .replace("{stable_pod}", targets[0].pod)
            .replace("{canary_pod}", targets[1].pod)
        )
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Exporters)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        exporters = f"127.0.0.1:{server.server_address[1]}"

        plan = scrape_job(manifests.pod_monitor, targets, TIME_SCALE, "overlays/prod")
        config = prometheus_config(plan)
        config["rule_files"] = [str(p) for p in rule_paths]
        for job in ("kube-state-metrics", "argo-rollouts-metrics"):
            config["scrape_configs"].append(
                {
                    "job_name": job,
                    "honor_labels": True,
                    "static_configs": [{"targets": [exporters]}],
                }
            )
        renamed_config = copy.deepcopy(config)
        renamed_config["scrape_configs"][0]["metric_relabel_configs"] = [
            {
                "source_labels": ["__name__"],
                "regex": RENAMED[0],
                "target_label": "__name__",
                "replacement": RENAMED[1],
            }
        ]
        prometheus = PrometheusProcess(workdir / "prometheus", config)
        renamed = PrometheusProcess(workdir / "prometheus-renamed", renamed_config)
        for process in (prometheus, renamed):
            process.start()
            started.append(process)
        traffic = TrafficGenerator(
            stable=("127.0.0.1", stable.port),
            canary=("127.0.0.1", canary.port),
            rate=80.0,
            card_mix={"visa": 0.5, "mastercard": 0.3, "amex": 0.12, "discover": 0.08},
            seed=11,
            timeout_seconds=2.0,
            t0=time.monotonic(),
            connections=16,
        )
        with traffic:
            traffic.set_weight(50)
            wait_for_samples(traffic)
            _wait_for_windows(prometheus, manifests.namespace)
            yield Live(manifests, objects, prometheus, renamed, stable_hash, canary_hash)
    finally:
        if server is not None:
            server.shutdown()
        for process in reversed(started):
            process.stop()


def _wait_for_windows(prometheus: PrometheusProcess, namespace: str) -> None:
    """Until both roles have recorded SLIs and the analysis window holds a full 15 s of data."""
    deadline = time.monotonic() + 45.0
    first_data: float | None = None
    while time.monotonic() < deadline:
        series = prometheus.query(
            f'network_role:paystream_auth_requests_eligible:rate5m{{namespace="{namespace}"}} > 0'
        )
        if len({(s["metric"]["network"], s["metric"]["role"]) for s in series}) == 8:
            first_data = first_data or time.monotonic()
            if time.monotonic() - first_data >= 16.0:
                return
        time.sleep(0.5)
    raise AssertionError("Prometheus never recorded both roles on all four networks")


def _report(findings: list[Finding]) -> str:
    return "\n".join(f"- {f}\n    {f.expr.strip()[:300]}" for f in findings)


def test_every_promql_expression_parses_and_reads_live_data(live: Live, root: Path) -> None:
    expressions = live.expressions(root)
    kinds = {e.kind for e in expressions}
    assert kinds == {"record", "alert", "analysis", "panel", "annotation", "variable"}
    # Every network's verdicts (one per signal) and its figures beside them.
    analyses = len(NETWORKS) * (len(SIGNALS) + len(FIGURES))
    assert sum(e.kind == "analysis" for e in expressions) == analyses
    findings = check(expressions, live.prometheus.query)
    assert not findings, f"{len(findings)} of {len(expressions)} expressions:\n" + _report(findings)


def test_the_canary_fault_is_what_the_analysis_and_the_alert_see(live: Live, root: Path) -> None:
    """The queries do not merely return data: they single out the faulty network."""
    analysis = {
        e.source.rsplit(" ", 1)[-1]: e for e in live.expressions(root) if e.kind == "analysis"
    }

    def value(metric: str) -> float:
        (sample,) = live.prometheus.query(analysis[metric].expr)
        return float(sample["value"][1])

    bar = float(THRESHOLDS["max-failures-score"])
    assert value("visa-failures") > bar  # one strike: this measurement alone aborts
    assert abs(value("mastercard-failures")) < bar
    assert value("discover-failures") > 0
    canary_alert = next(
        r
        for r in rules(rule_files(live.objects))
        if r.name == "PaystreamAuthCanaryFailing" and r.labels.get("signal") == "failures"
    )
    # Its 5m rates see only the test's ~25 s of data: Visa's canary traffic passes the
    # 100-request floor, Discover's (8% of it) does not yet.
    firing = {s["metric"]["network"] for s in live.prometheus.query(canary_alert.expr)}
    assert "visa" in firing
    assert "mastercard" not in firing


def test_a_metric_renamed_in_the_service_fails_the_check(live: Live, root: Path) -> None:
    expressions = live.expressions(root)
    findings = check(expressions, live.renamed.query)
    failing = {f.source for f in findings}
    readers = {e.source for e in expressions if RENAMED[0] in e.expr}
    assert readers, "no expression reads the renamed metric: the negative case proves nothing"
    assert readers <= failing, "expressions that read the renamed metric and still passed:\n" + (
        "\n".join(sorted(readers - failing))
    )
    assert any(f.source.endswith("metric visa-failures") for f in findings)
    assert any(RENAMED[0] in f.problem for f in findings)
