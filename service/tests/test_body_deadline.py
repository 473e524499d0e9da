"""Body deadlines: the sweeper (pure, with a clock) and a real granian facing slow uploads."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
from paystream_auth.body_deadline import BodyDeadlines
from paystream_ops.processes import ServiceProcess

from .cardgen import body
from .conftest import service_process


class FakePending:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def test_a_read_past_its_total_deadline_is_cancelled_even_while_data_flows() -> None:
    deadlines = BodyDeadlines(total_seconds=5.0, idle_seconds=2.0)
    read = deadlines.start(started=100.0)
    read.pending = FakePending()
    for now in (101.0, 102.0, 103.0, 104.0):
        read.chunks += 1  # a chunk every second: never idle
        assert deadlines.sweep(now) == 0
    read.chunks += 1
    assert deadlines.sweep(105.0) == 1
    assert read.expired and read.pending.cancelled


def test_a_read_still_for_its_idle_deadline_is_cancelled() -> None:
    deadlines = BodyDeadlines(total_seconds=5.0, idle_seconds=2.0)
    read = deadlines.start(started=100.0)
    read.pending = FakePending()
    read.chunks = 1
    assert deadlines.sweep(100.5) == 0  # the chunk is seen now: still since 100.5
    assert deadlines.sweep(102.4) == 0
    assert deadlines.sweep(102.5) == 1
    assert read.pending.cancelled
    assert deadlines.sweep(103.0) == 0, "an expired read is cancelled once"


def test_a_finished_read_is_forgotten() -> None:
    deadlines = BodyDeadlines(total_seconds=1.0, idle_seconds=1.0)
    read = deadlines.start(started=0.0)
    deadlines.finish(read)
    assert deadlines.in_progress == 0
    assert deadlines.sweep(10.0) == 0 and not read.expired


TOTAL_MS = 1200
IDLE_MS = 500
SWEEP_SLACK_SECONDS = 0.6  # one sweep, and a loaded machine


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    env = {
        "PAYSTREAM_LATENCY_SCALE": "0",
        "PAYSTREAM_BODY_TIMEOUT_MS": str(TOTAL_MS),
        "PAYSTREAM_BODY_IDLE_TIMEOUT_MS": str(IDLE_MS),
    }
    with service_process(tmp_path_factory.mktemp("bodies"), env) as running:
        yield running


def head(path: str, length: int, token: str | None = None, method: str = "POST") -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{auth}"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def answer(sock: socket.socket, timeout_seconds: float) -> tuple[bytes, float]:
    """The whole answer (until the server closes) and how long it took to start."""
    sock.settimeout(timeout_seconds)
    started = time.monotonic()
    data = sock.recv(65536)
    took = time.monotonic() - started
    while chunk := sock.recv(65536):
        data += chunk
    return data, took


def status_and_problem(data: bytes) -> tuple[int, dict[str, object], bytes]:
    head_part, _, payload = data.partition(b"\r\n\r\n")
    status = int(head_part.split(b" ", 2)[1])
    return status, json.loads(payload), head_part.lower()


@pytest.mark.integration
def test_an_unfinished_body_gets_a_408_problem_and_the_connection_closes(
    service: ServiceProcess,
) -> None:
    document = json.dumps(body()).encode()
    with socket.create_connection(("127.0.0.1", service.port)) as sock:
        sock.sendall(head("/v1/authorize", len(document)) + document[:10])
        data, took = answer(sock, timeout_seconds=IDLE_MS / 1000 + 10)
    status, problem, headers = status_and_problem(data)
    assert status == 408, data
    assert problem["type"] == "urn:paystream:problem:body-timeout"
    assert b"content-type: application/problem+json" in headers
    assert b"connection: close" in headers
    assert took < IDLE_MS / 1000 + SWEEP_SLACK_SECONDS, f"answered after {took:.2f} s"


@pytest.mark.integration
def test_a_body_trickling_in_forever_is_cut_at_the_total_deadline(service: ServiceProcess) -> None:
    document = json.dumps(body(merchant_id="m" * 60)).encode()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", service.port)) as sock:
        sock.sendall(head("/v1/authorize", len(document)))
        sock.settimeout(0.2)
        answered = b""
        for byte in document[:-1]:  # one byte every 0.1 s: never idle, never done
            sock.sendall(bytes([byte]))
            try:
                answered = sock.recv(65536)
            except TimeoutError:
                continue
            break
        data, _ = answer(sock, timeout_seconds=10) if not answered else (answered, 0.0)
    took = time.monotonic() - started
    status, problem, _ = status_and_problem(data)
    assert (status, problem["type"]) == (408, "urn:paystream:problem:body-timeout"), data
    assert TOTAL_MS / 1000 <= took < TOTAL_MS / 1000 + SWEEP_SLACK_SECONDS + 0.3, f"{took:.2f} s"


@pytest.mark.integration
def test_an_admin_upload_that_stalls_is_cut_as_well(service: ServiceProcess) -> None:
    with socket.create_connection(("127.0.0.1", service.port)) as sock:
        sock.sendall(head("/admin/faults", 100, service.admin_token, "PUT") + b'{"visa"')
        data, _ = answer(sock, timeout_seconds=10)
    status, problem, _ = status_and_problem(data)
    assert status == 408, data
    assert problem["field"] == "body"


@pytest.mark.integration
def test_a_complete_body_in_several_pieces_is_answered(service: ServiceProcess) -> None:
    document = json.dumps(body()).encode()
    with socket.create_connection(("127.0.0.1", service.port)) as sock:
        sock.sendall(head("/v1/authorize", len(document)) + document[:20])
        time.sleep(IDLE_MS / 1000 / 3)
        sock.sendall(document[20:])
        sock.settimeout(10)
        data = sock.recv(65536)
    assert data.startswith(b"HTTP/1.1 200"), data
