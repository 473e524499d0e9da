"""Several granian workers: metrics count every worker, faults reach every worker."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from paystream_auth.granian_command import GranianOptions
from paystream_ops.processes import ServiceProcess

from .cardgen import VISA, body
from .conftest import StartService
from .inprocess import count, samples

pytestmark = pytest.mark.integration

N = 120


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """No kept-alive connections; one client saves a new client's TLS set-up per request."""
    with httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        yield client


def post_new_connection(
    http: httpx.Client, service: ServiceProcess, document: object
) -> httpx.Response:
    # A new connection per request lets the kernel spread requests over the workers.
    return http.post(
        f"{service.base_url}/v1/authorize",
        content=json.dumps(document),
        headers={"content-type": "application/json", "connection": "close"},
    )


def worker_pids(log_path: Path) -> set[int]:
    pids = set()
    for line in log_path.read_text().splitlines():
        if line.startswith('{"ts"') and '"event":"authorize"' in line:
            pids.add(json.loads(line)["pid"])
    return pids


def test_two_workers_count_every_request_in_every_scrape(
    start_service: StartService, http: httpx.Client, tmp_path: Path
) -> None:
    service = start_service({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}, workers=2)
    statuses = [post_new_connection(http, service, body(VISA)).status_code for _ in range(N)]
    assert statuses == [200] * N
    assert service.log_path is not None
    assert len(worker_pids(service.log_path)) == 2, "the load never reached both workers"
    for _ in range(6):  # each scrape lands on either worker; each must see all requests
        exposition = http.get(f"{service.base_url}/metrics", headers={"connection": "close"})
        served = count(exposition.content, "visa", "approved") + count(
            exposition.content, "visa", "declined"
        )
        assert served == N
        histogram = samples(exposition.content, "paystream_auth_request_duration_seconds_count")
        assert histogram[(("network", "visa"),)] == N
        info = samples(exposition.content, "paystream_auth_build_info")
        assert list(info.values()) == [1.0]


def test_an_admin_override_reaches_every_worker(
    start_service: StartService, http: httpx.Client, tmp_path: Path
) -> None:
    service = start_service(
        {
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            "PAYSTREAM_SECRETS_POLL_SECONDS": "0.2",
        },
        workers=2,
    )
    response = httpx.put(
        f"{service.base_url}/admin/faults",
        content=json.dumps({"visa": {"decline_rate": 1.0}}),
        headers={
            "authorization": f"Bearer {service.admin_token}",
            "content-type": "application/json",
        },
    )
    assert response.status_code == 200
    time.sleep(0.6)
    answers = [post_new_connection(http, service, body(VISA)).json()["status"] for _ in range(40)]
    assert service.log_path is not None
    assert len(worker_pids(service.log_path)) == 2
    assert set(answers) == {"declined"}


def test_a_new_instance_starts_from_zero_on_a_reused_directory(
    start_service: StartService, http: httpx.Client, tmp_path: Path
) -> None:
    directory = tmp_path / "metrics"
    first = start_service({"PROMETHEUS_MULTIPROC_DIR": str(directory)}, workers=2)
    for _ in range(10):
        post_new_connection(http, first, body(VISA))
    first.stop()
    second = start_service({"PROMETHEUS_MULTIPROC_DIR": str(directory)}, workers=2)
    exposition = httpx.get(f"{second.base_url}/metrics").content
    assert count(exposition, "visa", "approved") + count(exposition, "visa", "declined") == 0


def test_several_workers_without_a_shared_metrics_directory_refuse_to_start(
    start_service: StartService,
) -> None:
    # Without respawning, granian exits at the first worker the app refuses. With it (the image's
    # command line) the exit time is chance: granian forgets a worker's respawn whenever another
    # worker fails, so two workers failing in turn are respawned until chance has one fail twice
    # in a row. The refusal is the app's either way.
    service = start_service(
        {}, workers=2, wait_ready=False, granian=GranianOptions(respawn_failed_workers=False)
    )
    assert service.wait(timeout_seconds=60) != 0
    assert service.log_path is not None
    log = service.log_path.read_text()
    assert (
        "paystream-auth: configuration error: PROMETHEUS_MULTIPROC_DIR: required when granian "
        "runs 2 workers" in log
    )
    assert "Traceback" not in log


def children(pid: int) -> set[int]:
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


SERVED = 12


def test_a_crashed_worker_leaves_its_counts_but_not_its_files(
    start_service: StartService, tmp_path: Path
) -> None:
    directory = tmp_path / "metrics"
    service = start_service(
        {"PROMETHEUS_MULTIPROC_DIR": str(directory)},
        workers=2,
        granian=GranianOptions(respawn_interval_seconds=0.2),
    )
    with httpx.Client(base_url=service.base_url, timeout=10) as client:
        statuses = [
            client.post(
                "/v1/authorize",
                content=json.dumps(body(VISA)),
                headers={"content-type": "application/json", "connection": "close"},
            ).status_code
            for _ in range(SERVED)
        ]
    assert statuses == [200] * SERVED
    assert service.proc is not None
    victim = min(children(service.proc.pid))
    os.kill(victim, signal.SIGKILL)
    # The respawned worker compacts the dead one's files when it starts (multiproc.py).
    deadline = time.monotonic() + 30
    while any(f"_{victim}.db" in p.name for p in directory.iterdir()):
        assert time.monotonic() < deadline, sorted(p.name for p in directory.iterdir())
        time.sleep(0.1)
    assert victim not in children(service.proc.pid)
    assert (directory / "counter_archive.db").exists()
    for _ in range(6):  # either worker answers: each sees every count, the dead one's included
        exposition = httpx.get(f"{service.base_url}/metrics", headers={"connection": "close"})
        assert exposition.status_code == 200
        served = count(exposition.content, "visa", "approved") + count(
            exposition.content, "visa", "declined"
        )
        assert served == SERVED
