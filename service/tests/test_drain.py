"""SIGTERM under load: readiness fails at once, nothing accepted fails, then the process exits.

The kubelet sends SIGTERM to PID 1 (granian's main process), which forwards it to its workers.
This test does the same to a real granian and plays the rest of Kubernetes: an endpoints
controller that stops routing to the pod a little while after readiness turns 503 (propagation
delay, shorter than PAYSTREAM_DRAIN_SECONDS), and clients that keep sending until then.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from paystream_auth.granian_command import GranianOptions
from paystream_ops.processes import ServiceProcess

from .cardgen import AMEX, CARDS
from .conftest import StartService
from .drain_log import Sent, broken_promises, read_service_log

pytestmark = pytest.mark.integration

DRAIN_SECONDS = 2.0
PROPAGATION_SECONDS = 0.5
SLOW_MS = 800  # Amex requests in flight when SIGTERM lands
CLIENTS = 6


@dataclass
class Outcome:
    sent_at: float
    status: int | None
    error: str | None
    connection: str | None


@dataclass
class Load:
    service: ServiceProcess
    stop: threading.Event = field(default_factory=threading.Event)
    results: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, index: int) -> None:
        cards = list(CARDS.values())
        with httpx.Client(base_url=self.service.base_url, timeout=10) as http:
            sent = 0
            while not self.stop.is_set():
                number = cards[(index + sent) % len(cards)]
                if number == AMEX:  # keep the steady load fast; slow calls are started apart
                    number = cards[0]
                outcome = send(http, number)
                with self.lock:
                    self.results.append(outcome)
                sent += 1


def send(http: httpx.Client, card_number: str, merchant_id: str = "m1") -> Outcome:
    sent_at = time.monotonic()
    document = {
        "card_number": card_number,
        "amount": 100,
        "currency": "EUR",
        "merchant_id": merchant_id,
    }
    try:
        response = http.post(
            "/v1/authorize",
            content=json.dumps(document),
            headers={"content-type": "application/json"},
        )
    except httpx.HTTPError as exc:
        return Outcome(sent_at, None, type(exc).__name__, None)
    return Outcome(sent_at, response.status_code, None, response.headers.get("connection"))


def test_sigterm_under_load_fails_no_accepted_request(start_service: StartService) -> None:
    service = start_service(
        {
            "PAYSTREAM_DRAIN_SECONDS": str(DRAIN_SECONDS),
            "PAYSTREAM_FAULTS": json.dumps({"amex": {"added_latency_ms": SLOW_MS}}),
        }
    )
    load = Load(service)
    clients = [threading.Thread(target=load.client, args=(i,)) for i in range(CLIENTS)]
    for thread in clients:
        thread.start()
    time.sleep(1.0)

    slow: list[Outcome] = []

    def slow_call() -> None:
        with httpx.Client(base_url=service.base_url, timeout=10) as http:
            slow.append(send(http, AMEX))

    slow_threads = [threading.Thread(target=slow_call) for _ in range(4)]
    for thread in slow_threads:
        thread.start()
    time.sleep(0.2)  # the slow calls are now in flight

    sigterm_at = time.monotonic()
    service.terminate()

    # The endpoints controller: sees readiness fail, removes the endpoint after propagation.
    unready_at = None
    with httpx.Client(base_url=service.base_url, timeout=2) as probe:
        while time.monotonic() - sigterm_at < DRAIN_SECONDS:
            if probe.get("/readyz").status_code == 503:
                unready_at = time.monotonic()
                break
            time.sleep(0.02)
    assert unready_at is not None, "readiness never turned 503 after SIGTERM"
    time.sleep(PROPAGATION_SECONDS)
    load.stop.set()
    for thread in (*clients, *slow_threads):
        thread.join(timeout=15)

    exit_code = service.wait(timeout_seconds=15)
    exited_at = time.monotonic()

    failures = [r for r in load.results if r.status != 200]
    after_sigterm = [r for r in load.results if r.sent_at > sigterm_at]
    # Readiness failed while the drain still served (the loop above waits at most that long);
    # how soon after SIGTERM depends on the machine's load, so it is not asserted here.
    assert failures == []
    assert len(load.results) > 100
    assert len(after_sigterm) > 20, "new requests must still be served during the drain"
    assert all(r.connection == "close" for r in after_sigterm if r.sent_at > unready_at)
    assert [r.status for r in slow] == [200] * 4
    assert exit_code == 0
    assert DRAIN_SECONDS - 0.2 < exited_at - sigterm_at < DRAIN_SECONDS + 5
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{service.base_url}/livez", timeout=1)


def test_a_client_that_ignores_readiness_sees_no_error_before_the_drain_ends(
    start_service: StartService,
) -> None:
    """A stale client keeps sending after the drain: it gets 200s, then connection errors only.

    Once the drain is over the worker closes its listener, so a request on a connection the
    kernel accepted in that very instant is closed or reset unread: that is why the drain must
    outlast endpoint propagation. Every request the service read is answered (its own log says
    which it read; the client's clock cannot, see drain_log.py).
    """
    service = start_service({"PAYSTREAM_DRAIN_SECONDS": "1"})
    outcomes: list[Sent] = []
    stop = threading.Event()

    def hammer(index: int) -> None:
        with httpx.Client(base_url=service.base_url, timeout=5) as http:
            for count in itertools.count():
                if stop.is_set():
                    return
                merchant_id = f"m_c{index}_{count}"
                outcome = send(http, CARDS["visa"], merchant_id)
                outcomes.append(Sent(merchant_id, outcome.status, outcome.error))

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    service.terminate()
    assert service.wait(timeout_seconds=15) == 0
    time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    errors = [r for r in outcomes if r.status is None]
    assert {r.status for r in outcomes if r.status is not None} == {200}
    assert service.log_path is not None
    served = read_service_log(service.log_path.read_text())
    assert broken_promises(outcomes, served.processed) == [], errors
    assert served.served_during_drain > 0 and served.server_errors == 0
    assert any(r.error == "ConnectError" for r in errors)


def test_without_a_drain_granian_refuses_new_connections_at_once(
    start_service: StartService,
) -> None:
    """The negative case: what granian does alone (why the drain exists, see drain.py)."""
    service = start_service(
        {
            "PAYSTREAM_DRAIN_SECONDS": "0",
            "PAYSTREAM_FAULTS": json.dumps({"amex": {"added_latency_ms": SLOW_MS}}),
        }
    )
    slow: list[Outcome] = []

    def slow_call() -> None:
        with httpx.Client(base_url=service.base_url, timeout=10) as http:
            slow.append(send(http, AMEX))

    thread = threading.Thread(target=slow_call)
    thread.start()
    time.sleep(0.2)
    service.terminate()
    time.sleep(0.2)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{service.base_url}/readyz", timeout=1)
    thread.join(timeout=10)
    assert [r.status for r in slow] == [200]  # in-flight requests still finish
    assert service.wait(timeout_seconds=10) == 0


def wait_for_files(pattern: str, directory: Path, count: int, timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    while len(found := list(directory.glob(pattern))) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"{len(found)} of {count} {pattern} after {timeout_seconds:g} s: {found}")
        time.sleep(0.01)


def test_a_sigterm_during_start_up_still_stops_every_worker(
    start_service: StartService, tmp_path: Path
) -> None:
    """A SIGTERM that reaches the workers before the app has installed the drain still drains.

    Deterministic: the workers wait at a gate (fixtures/gated_app.py) between the package's
    early SIGTERM catcher and the app, so the SIGTERM lands in that window every time. Without
    the catcher the workers would swallow it (they inherit the main process's handler) and
    serve on until granian's worker kill timeout: the exit-time bound below tells them apart.
    """
    gate = tmp_path / "gate"
    kill_timeout = 10
    service = start_service(
        {
            "PAYSTREAM_DRAIN_SECONDS": "0",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            "PAYSTREAM_TEST_GATE": str(gate),
            "PYTHONPATH": str(Path(__file__).parent / "fixtures"),
        },
        workers=2,
        wait_ready=False,
        target="gated_app:app",
        granian=GranianOptions(workers_kill_timeout_seconds=kill_timeout),
    )
    # granian's main process installs its own handlers before it forks the workers
    # (granian/server/common.py, `startup`): once a worker waits at the gate, a SIGTERM is
    # handled by the main process, which forwards it to the workers.
    wait_for_files("gate.*.waiting", tmp_path, 2, timeout_seconds=30)
    sigterm_at = time.monotonic()
    service.terminate()
    wait_for_files("gate.*.sigterm", tmp_path, 2, timeout_seconds=10)
    gate.touch()
    assert service.wait(timeout_seconds=kill_timeout + 10) == 0
    exited_after = time.monotonic() - sigterm_at
    assert service.log_path is not None
    log = service.log_path.read_text()
    assert log.count('"event":"drain.start"') == 2, log[-2000:]
    # Before the kill timeout could expire: the workers drained, granian did not kill them (its
    # "Killing worker" line alone shows up for an exited worker its watcher thread reaped first).
    assert exited_after < kill_timeout, f"exited {exited_after:.1f} s after SIGTERM"


def test_the_worker_kill_timeout_bounds_a_shutdown_whatever_a_request_does(
    start_service: StartService,
) -> None:
    """The last resort: a request that would outlive the grace period is cut by granian."""
    kill_timeout = 2
    service = start_service(
        {
            "PAYSTREAM_PROCESSOR_DEADLINE_MS": "60000",
            # An idempotency claim must outlive the call it guards (a configuration rule).
            "PAYSTREAM_IDEMPOTENCY_LEASE_SECONDS": "120",
            "PAYSTREAM_FAULTS": json.dumps({"amex": {"added_latency_ms": 60_000}}),
        },
        granian=GranianOptions(workers_kill_timeout_seconds=kill_timeout),
    )
    stuck: list[Outcome] = []
    thread = threading.Thread(
        target=lambda: stuck.append(send(httpx.Client(base_url=service.base_url, timeout=30), AMEX))
    )
    thread.start()
    time.sleep(0.5)  # the request is in flight, for a minute
    sigterm_at = time.monotonic()
    service.terminate()
    service.wait(timeout_seconds=kill_timeout + 10)
    exited_after = time.monotonic() - sigterm_at
    thread.join(timeout=10)
    assert service.log_path is not None
    assert "Killing worker" in service.log_path.read_text()
    assert exited_after < kill_timeout + 5, f"exited {exited_after:.1f} s after SIGTERM"
    assert [o.status for o in stuck] == [None], "the stuck request cannot have been answered"
