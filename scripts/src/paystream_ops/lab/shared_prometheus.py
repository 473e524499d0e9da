"""One Prometheus for a series of lab runs (the test session's), each run on an emptied TSDB.

A Prometheus scrapes a new target only after its discovery tick (5 s, discovery.Manager's
`updatert`), so a fresh one per run costs that wait each time. Held across runs, it keeps the
stable pod's target: every run's stable binds the same `stable_port`, and on the same manifests
the PodMonitor gives it the same labels, so the scrape pool keeps it through a reload
(`scrapePool.Sync` keeps a target whose labels hash alike) and scrapes the new process at once.
Each run still gets its own scrape job (reloaded from its own plan) and sees none of the runs
before it: every series is deleted before its stable starts, and what the previous canary's
target wrote until the reload reached it is deleted before the release. see
docs/decisions/0127-*.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from paystream_ops.errors import UserError
from paystream_ops.lab.durations import parse_prometheus_duration
from paystream_ops.processes import PrometheusProcess, free_port

TARGETS_POLL_SECONDS = 0.1
# A reload's targets reach the scrape pool after the discovery tick and the scrape manager's
# own (5 s each); the warm-up usually hides both.
TARGETS_WITHIN_SECONDS = 30.0
EVERY_SERIES = '{__name__=~".+"}'


@dataclass
class SharedPrometheus:
    """A Prometheus with the admin API, and the port every run's stable serves on."""

    workdir: Path
    stable_port: int = field(default_factory=free_port)
    process: PrometheusProcess | None = None

    @property
    def running(self) -> PrometheusProcess:
        if self.process is None:
            raise UserError("the shared Prometheus is not running")
        return self.process

    def start(self) -> None:
        self.process = PrometheusProcess(
            self.workdir, {"global": {}, "scrape_configs": []}, admin_api=True
        )
        self.process.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def begin_run(self, config: dict[str, Any]) -> PrometheusProcess:
        """The run's scrape job in place of the last run's, and no series left from before."""
        prometheus = self.running
        prometheus.reload(config)
        self.delete(EVERY_SERIES)
        return prometheus

    def leftovers(self, pods: Sequence[str], since: float) -> list[str]:
        """What the TSDB holds that the run beginning at `since` did not write (foreign_samples)."""
        response = httpx.get(
            f"{self.running.base_url}/api/v1/query",
            params={"query": f"{EVERY_SERIES}[1h]"},
            timeout=30.0,
        )
        return foreign_samples(response.json()["data"]["result"], pods, since)

    def delete(self, selector: str) -> None:
        """Delete the matching series' samples (read through tombstones, so at once)."""
        url = f"{self.running.base_url}/api/v1/admin/tsdb/delete_series"
        httpx.post(url, params={"match[]": selector}, timeout=10.0).raise_for_status()

    def wait_targets(self, pods: Sequence[str], scrape_interval: float) -> None:
        """Wait until the scrape pool holds exactly the run's pods, at the run's interval; then
        delete what any other target (the last run's canary) wrote since `begin_run`."""
        prometheus = self.running
        deadline = time.monotonic() + TARGETS_WITHIN_SECONDS
        expected = sorted(pods)
        found: list[tuple[str, float]] = []
        while time.monotonic() < deadline:
            body = httpx.get(f"{prometheus.base_url}/api/v1/targets", timeout=5.0).json()
            active = body["data"].get("activeTargets") or []
            found = sorted(
                (str(t["labels"].get("pod", "")), _seconds(t.get("scrapeInterval"))) for t in active
            )
            pods_found = [pod for pod, _ in found]
            intervals = [interval for _, interval in found]
            if pods_found == expected and all(abs(i - scrape_interval) < 0.002 for i in intervals):
                pattern = "|".join(expected)
                self.delete(f'{{__name__=~".+", pod!~"{pattern}"}}')
                return
            time.sleep(TARGETS_POLL_SECONDS)
        raise UserError(
            f"Prometheus did not scrape the run's pods {expected} every {scrape_interval:g} s "
            f"within {TARGETS_WITHIN_SECONDS:.0f} s (active: {found})"
        )


def foreign_samples(
    matrix: Sequence[Mapping[str, Any]], pods: Sequence[str], since: float
) -> list[str]:
    """Series of a range query that are not the run's: another pod's, or with a sample older
    than `since` (Unix seconds, when the run began). Empty when the run saw only its own data."""
    found: list[str] = []
    for series in matrix:
        metric = series.get("metric") or {}
        name = f"{metric.get('__name__', '?')}{{pod={metric.get('pod', '')!r}}}"
        values = series.get("values") or []
        if metric.get("pod") not in pods:
            found.append(f"{name}: not one of the run's pods {sorted(pods)}")
        elif values and float(values[0][0]) < since:
            found.append(f"{name}: a sample from before the run ({values[0][0]} < {since:.3f})")
    return found


def _seconds(text: object) -> float:
    """A target's scrape interval as the targets API gives it (Go-style, "1s500ms")."""
    try:
        return parse_prometheus_duration(str(text), "scrapeInterval")
    except UserError:
        return -1.0


@contextlib.contextmanager
def shared_prometheus(workdir: Path) -> Iterator[SharedPrometheus]:
    shared = SharedPrometheus(workdir)
    try:
        shared.start()
        yield shared
    finally:
        shared.stop()
