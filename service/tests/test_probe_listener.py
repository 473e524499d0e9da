"""The kubelet's own listener: its answers (pure), and a real granian whose connections are full."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from pathlib import Path

import httpx
import pytest
from paystream_auth.granian_command import GranianOptions
from paystream_auth.probe_listener import DEADLINE_SECONDS, MAX_CONNECTIONS, answer

from .conftest import StartService
from .inprocess import make_runtime


def parse(response: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), headers, body


def test_liveness_and_readiness_answer_like_the_main_port(tmp_path: Path) -> None:
    runtime, _ = make_runtime(tmp_path)
    status, headers, body = parse(answer(runtime, b"GET /livez HTTP/1.1\r\nHost: x"))
    assert (status, json.loads(body)) == (200, {"status": "alive"})
    assert headers["connection"] == "close"
    status, headers, body = parse(answer(runtime, b"GET /readyz?verbose HTTP/1.0"))
    assert status == 503  # not started yet
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["detail"] == "starting"
    runtime.secrets.refresh()
    runtime.started = True
    assert parse(answer(runtime, b"GET /readyz HTTP/1.1"))[0] == 200


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET /health HTTP/1.1", 404),
        (b"GET /admin/faults HTTP/1.1", 404),
        (b"POST /livez HTTP/1.1", 405),
        (b"GET /livez", 400),
        (b"\x00\xff garbage", 400),
    ],
)
def test_anything_else_is_a_problem(tmp_path: Path, head: bytes, status: int) -> None:
    runtime, _ = make_runtime(tmp_path)
    found, headers, body = parse(answer(runtime, head))
    assert found == status
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == status


def test_head_has_no_body(tmp_path: Path) -> None:
    runtime, _ = make_runtime(tmp_path)
    status, headers, body = parse(answer(runtime, b"HEAD /livez HTTP/1.1"))
    assert (status, body) == (200, b"")
    assert int(headers["content-length"]) > 0


BACKPRESSURE = 8


def silent_connections(port: int, count: int) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]


@pytest.mark.integration
def test_probes_answer_while_granian_holds_no_more_connections(
    start_service: StartService,
) -> None:
    service = start_service(granian=GranianOptions(backpressure=BACKPRESSURE, backlog=128))
    with contextlib.ExitStack() as stack:
        for sock in silent_connections(service.port, BACKPRESSURE + 2):
            stack.callback(sock.close)
        time.sleep(0.3)
        # The negative case: what the kubelet would see on the main port.
        with pytest.raises(httpx.TimeoutException):
            httpx.get(f"{service.base_url}/livez", timeout=1.5)
        for path, expected in (("/livez", {"status": "alive"}), ("/readyz", {"status": "ready"})):
            started = time.monotonic()
            response = httpx.get(f"{service.probe_url}{path}", timeout=5)
            took = time.monotonic() - started
            assert (response.status_code, response.json()) == (200, expected), took
    assert httpx.get(f"{service.base_url}/livez", timeout=5).status_code == 200


@pytest.mark.integration
def test_the_probe_listener_cannot_be_held_either(start_service: StartService) -> None:
    service = start_service()
    with contextlib.ExitStack() as stack:
        for sock in silent_connections(service.probe_port, MAX_CONNECTIONS):
            stack.callback(sock.close)
        time.sleep(0.2)
        with pytest.raises(httpx.TransportError):  # over the limit: refused at once
            httpx.get(f"{service.probe_url}/livez", timeout=1)
        # The silent ones are cut after DEADLINE_SECONDS: probes answer again.
        deadline = time.monotonic() + DEADLINE_SECONDS + 5
        answered = None
        while answered is None and time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                answered = httpx.get(f"{service.probe_url}/livez", timeout=1).status_code
            time.sleep(0.1)
        assert answered == 200, f"no answer {DEADLINE_SECONDS + 5:g} s after the limit was hit"
