"""No card number leaves the service: generated card numbers, in every disguise, in every field,
header, key, path and query of every endpoint of a real granian, never come back in a response
and never reach the log or /metrics (masked there, if anywhere)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paystream_ops.processes import ServiceProcess

from .cardgen import SEPARATORS, VISA, card_disguises, luhn_check_digit
from .conftest import service_process

pytestmark = pytest.mark.integration

AUTHORIZE_FIELDS = ("card_number", "amount", "currency", "merchant_id")
FAULT_FIELDS = ("added_latency_ms", "timeout_rate", "decline_rate")


def digits_only(text: str) -> str:
    """The text with every separator removed: a card number in any disguise shows up whole."""
    return text.translate(str.maketrans("", "", SEPARATORS))


# Real card numbers are not runs of one digit; those would match the service's own zeros.
cards = card_disguises().filter(lambda pair: len(set(pair[0])) > 3)
# Sent on every run besides the drawn ones, so the log is always reached (a draw may not be).
FIXED_CARD = "455673758689985" + luhn_check_digit("455673758689985")
FIXED_MERCHANT_IDS = (
    "-".join(FIXED_CARD[i : i + 4] for i in range(0, 16, 4)),
    "shop_" + FIXED_CARD,
)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    probe_port: bool = False
    # With the valid admin token: sent from another loopback address than the failed tokens,
    # which lock their source out of the admin API (auth_throttle.py).
    trusted: bool = False


def authorize_body(where: str, written: str) -> bytes:
    document: dict[str, Any] = {
        "card_number": VISA,
        "amount": 1999,
        "currency": "USD",
        "merchant_id": "m_42",
    }
    if where in AUTHORIZE_FIELDS:
        document[where] = written
    elif where == "unknown key":
        document[written] = 1
    elif where == "unknown value":
        document["note"] = written
    elif where == "nested":
        document["merchant_id"] = {"id": written}
    return json.dumps(document).encode()


def fault_body(where: str, written: str) -> bytes:
    if where == "network":
        return json.dumps({written: {"timeout_rate": 0}}).encode()
    if where == "field name":
        return json.dumps({"visa": {written: 0}}).encode()
    return json.dumps({"visa": {where: written}}).encode()


JSON = {"content-type": "application/json"}
HEADER_NAMES = ("idempotency-key", "x-request-id", "user-agent", "authorization", "content-type")


@st.composite
def requests(draw: st.DrawFn, admin_token: str) -> tuple[str, Request]:
    digits, written = draw(cards)
    header_value = written.strip() or digits
    target = draw(
        st.sampled_from(["authorize", "admin", "admin-auth", "get", "probe", "header", "path"])
    )
    json_headers = {"content-type": "application/json"}
    admin = {"authorization": f"Bearer {admin_token}", **json_headers}
    if target == "authorize":
        where = draw(st.sampled_from([*AUTHORIZE_FIELDS, "unknown key", "unknown value", "nested"]))
        request = Request("POST", "/v1/authorize", json_headers, authorize_body(where, written))
    elif target == "admin":
        where = draw(st.sampled_from(["network", "field name", *FAULT_FIELDS]))
        request = Request("PUT", "/admin/faults", admin, fault_body(where, written), trusted=True)
    elif target == "admin-auth":
        method = draw(st.sampled_from(["GET", "PUT", "DELETE"]))
        request = Request(method, "/admin/faults", {"authorization": f"Bearer {header_value}"})
    elif target in ("get", "probe"):
        path = draw(st.sampled_from(["/livez", "/readyz", "/health", "/metrics", "/openapi.json"]))
        if target == "probe":
            path = draw(st.sampled_from(["/livez", "/readyz"]))
        request = Request("GET", f"{path}?q={quote(written)}", probe_port=target == "probe")
    elif target == "header":
        name = draw(st.sampled_from(HEADER_NAMES))
        body = authorize_body("none", written)
        request = Request("POST", "/v1/authorize", {**json_headers, name: header_value}, body)
    else:
        request = Request("POST", "/v1/" + quote(written, safe=""), json_headers, b"{}")
    return digits, request


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with service_process(
        tmp_path_factory.mktemp("cards"), {"PAYSTREAM_LATENCY_SCALE": "0"}
    ) as running:
        yield running


def send(clients: dict[bool, httpx.Client], service: ServiceProcess, request: Request) -> str:
    base = service.probe_url if request.probe_port else service.base_url
    response = clients[request.trusted].request(
        request.method, base + request.path, headers=request.headers, content=request.body
    )
    if request.trusted:
        assert response.status_code != 401, "the valid admin token was refused"
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return f"{response.status_code}\n{headers}\n{response.text}"


def test_card_numbers_in_any_disguise_never_come_back_nor_reach_logs_or_metrics(
    service: ServiceProcess,
) -> None:
    sent: list[tuple[str, Request]] = []
    trusted = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(timeout=10) as client, httpx.Client(transport=trusted, timeout=10) as admin:

        @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=requests(service.admin_token))
        def one_request(case: tuple[str, Request]) -> None:
            digits, request = case
            sent.append(case)
            answer = send({False: client, True: admin}, service, request)
            assert digits not in digits_only(answer), (request, answer)

        one_request()
        for merchant_id in FIXED_MERCHANT_IDS:
            case = (
                FIXED_CARD,
                Request("POST", "/v1/authorize", JSON, authorize_body("merchant_id", merchant_id)),
            )
            sent.append(case)
            answer = send({False: client, True: admin}, service, case[1])
            assert answer.startswith("200"), answer
            assert FIXED_CARD not in digits_only(answer), answer
        admin.delete(
            f"{service.base_url}/admin/faults",
            headers={"authorization": f"Bearer {service.admin_token}"},
        )
        time.sleep(0.2)  # request lines are written every 50 ms
        metrics = client.get(f"{service.base_url}/metrics").text
    assert service.log_path is not None
    log = service.log_path.read_text()
    seen_in_log, seen_in_metrics = digits_only(log), digits_only(metrics)
    leaked = [
        (digits, request)
        for digits, request in sent
        if digits in seen_in_log or digits in seen_in_metrics
    ]
    assert leaked == []
    # The test must reach the log: valid requests with a disguised merchant id were logged.
    assert log.count('"event":"authorize"') > 10
    assert "******" in log, "no masked number in the log: the disguises never reached it"
