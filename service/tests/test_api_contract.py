"""The API contract against a real granian process: answers, every error, admin, metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from paystream_ops.processes import ServiceProcess

from .cardgen import AMEX, CARDS, DISCOVER, MASTERCARD, VISA, body, card
from .conftest import service_process
from .inprocess import count, samples

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
# Mastercard always declines, Discover always errors (its circuit opens after 2), Amex hangs.
STARTUP_FAULTS = {
    "mastercard": {"decline_rate": 1.0},
    "discover": {"error_rate": 1.0},
    "amex": {"timeout_rate": 1.0},
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    workdir = tmp_path_factory.mktemp("contract")
    env = {
        "PAYSTREAM_FAULTS": json.dumps(STARTUP_FAULTS),
        "PAYSTREAM_PROCESSOR_DEADLINE_MS": "300",
        "PAYSTREAM_BREAKER_THRESHOLD": "2",
        "PAYSTREAM_BREAKER_RESET_SECONDS": "60",
        "PAYSTREAM_LATENCY_SCALE": "0.2",
        "PAYSTREAM_VERSION": "1.2.3",
        "PAYSTREAM_REVISION": "abc1234",
        "PAYSTREAM_FAULTS_TTL_SECONDS": "3",
    }
    with service_process(workdir, env) as running:
        yield running


@pytest.fixture(scope="module")
def client(service: ServiceProcess) -> Iterator[httpx.Client]:
    # Idle connections dropped before granian's 5 s header-read timeout closes them, as the
    # mesh's DestinationRule idleTimeout does; reusing one as granian closes it is a reset.
    limits = httpx.Limits(keepalive_expiry=3.0)
    with httpx.Client(base_url=service.base_url, timeout=10, limits=limits) as http:
        yield http


def post(client: httpx.Client, document: object, **headers: str) -> httpx.Response:
    return client.post(
        "/v1/authorize",
        content=json.dumps(document),
        headers={"content-type": "application/json", **headers},
    )


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status
    assert problem["title"]
    assert problem["type"]
    if field is not None:
        assert problem["field"] == field
    return problem


def test_an_approval_has_every_documented_field(client: httpx.Client) -> None:
    response = post(client, body(VISA))
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "approved"
    assert answer["transaction_id"].startswith("txn_")
    assert len(answer["authorization_code"]) == 6
    assert "decline_code" not in answer
    assert (answer["network"], answer["amount"], answer["currency"]) == ("visa", 1999, "USD")
    assert answer["version"] == "1.2.3"
    assert answer["processing_ms"] >= 0


def test_a_decline_is_a_200_with_a_code(client: httpx.Client) -> None:
    response = post(client, body(MASTERCARD))
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "declined"
    assert answer["decline_code"]
    assert "authorization_code" not in answer


@pytest.mark.parametrize(
    ("content", "content_type", "status", "field"),
    [
        (b'{"card_number": ', "application/json", 400, "body"),
        (json.dumps(body(VISA)).encode(), "text/plain", 415, "Content-Type"),
        (json.dumps(body(VISA)).encode(), "application/json; charset=latin-1", 415, None),
        (b"x" * (16 * 1024 + 1), "application/json", 413, None),
        (json.dumps(body(VISA, amount=0)).encode(), "application/json", 422, "amount"),
        (json.dumps(body(VISA, currency="ZZZ")).encode(), "application/json", 422, "currency"),
        (json.dumps(body(VISA, merchant_id="a b")).encode(), "application/json", 422, None),
        (json.dumps(body(card("300000"))).encode(), "application/json", 422, "card_number"),
        (json.dumps(body("4111111111111112")).encode(), "application/json", 422, "card_number"),
    ],
)
def test_every_client_error_is_a_problem_naming_the_field(
    client: httpx.Client, content: bytes, content_type: str, status: int, field: str | None
) -> None:
    response = client.post("/v1/authorize", content=content, headers={"content-type": content_type})
    assert_problem(response, status, field)


def test_a_chunked_body_over_the_limit_is_a_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 1024

    response = client.post(
        "/v1/authorize", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)


def test_unknown_paths_and_methods_are_problems(client: httpx.Client) -> None:
    assert_problem(client.get("/v1/authorise"), 404)
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        response = client.request(method, "/v1/authorize")
        assert_problem(response, 405)
        assert response.headers["allow"] == "OPTIONS, POST"
    options = client.options("/v1/authorize")
    assert (options.status_code, options.headers["allow"]) == (204, "OPTIONS, POST")
    assert client.options("/admin/faults").headers["allow"] == "DELETE, GET, OPTIONS, PUT"


def test_a_hung_network_is_a_504_after_the_deadline(client: httpx.Client) -> None:
    started = time.perf_counter()
    response = post(client, body(AMEX))
    elapsed = time.perf_counter() - started
    assert_problem(response, 504)
    assert 0.29 < elapsed < 2.0


def test_processor_errors_open_the_circuit_and_then_503_with_retry_after(
    client: httpx.Client,
) -> None:
    statuses = [post(client, body(DISCOVER)).status_code for _ in range(2)]
    assert statuses == [502, 502]
    response = post(client, body(DISCOVER))
    assert_problem(response, 503)
    assert int(response.headers["retry-after"]) >= 1
    health = client.get("/health").json()
    assert health["breakers"]["discover"] == "open"
    assert health["status"] == "degraded"


def test_idempotent_retry_returns_the_first_answer(client: httpx.Client) -> None:
    first = post(client, body(VISA, amount=4242), **{"Idempotency-Key": "order-1"})
    again = post(client, body(VISA, amount=4242), **{"Idempotency-Key": "order-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = post(client, body(VISA, amount=1), **{"Idempotency-Key": "order-1"})
    assert_problem(other, 422, "Idempotency-Key")
    bad_key = post(client, body(VISA), **{"Idempotency-Key": "x" * 256})
    assert_problem(bad_key, 422, "Idempotency-Key")


def test_probes(client: httpx.Client) -> None:
    assert client.get("/livez").json() == {"status": "alive"}
    assert client.get("/readyz").json() == {"status": "ready"}
    health = client.get("/health").json()
    assert health["version"] == "1.2.3"
    assert set(health["breakers"]) == {"visa", "mastercard", "amex", "discover"}
    assert health["secrets"]["admin-token"] == {"loaded": True, "generation": 1}


def test_admin_needs_the_bearer_token(client: httpx.Client, service: ServiceProcess) -> None:
    for headers in (
        {},
        {"authorization": "Bearer wrong"},
        {"authorization": f"Basic {service.admin_token}"},
        {"authorization": "Bearer"},
    ):
        response = client.get("/admin/faults", headers=headers)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/admin/faults", headers=admin(service)).status_code == 200


def admin(service: ServiceProcess) -> dict[str, str]:
    return {"authorization": f"Bearer {service.admin_token}"}


def test_admin_sets_faults_that_expire_and_logs_every_change(
    client: httpx.Client, service: ServiceProcess
) -> None:
    headers = {**admin(service), "content-type": "application/json"}
    document = client.get("/admin/faults", headers=headers).json()
    assert document["source"] == "startup"
    assert document["active"] == STARTUP_FAULTS
    put = client.put(
        "/admin/faults", content=json.dumps({"visa": {"decline_rate": 1.0}}), headers=headers
    )
    assert put.status_code == 200
    assert put.json()["source"] == "admin"
    assert post(client, body(VISA)).json()["status"] == "declined"
    deleted = client.delete("/admin/faults", headers=headers).json()
    assert deleted["source"] == "startup"
    assert post(client, body(VISA)).json()["status"] == "approved"
    client.put(
        "/admin/faults", content=json.dumps({"visa": {"decline_rate": 1.0}}), headers=headers
    )
    time.sleep(3.2)  # PAYSTREAM_FAULTS_TTL_SECONDS=3
    assert client.get("/admin/faults", headers=headers).json()["source"] == "startup"
    assert post(client, body(VISA)).json()["status"] == "approved"
    assert service.log_path is not None
    deadline = time.monotonic() + 3  # the expiry is logged by the next poll (1 s)
    while "faults.expired" not in audit_actions(service.log_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    actions = audit_actions(service.log_path)
    assert [action for action in actions if action.startswith("faults.")] == [
        "faults.set",
        "faults.clear",
        "faults.set",
        "faults.expired",
    ]


def audit_actions(log_path: Path) -> list[str]:
    actions = []
    for line in log_path.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("event") == "audit":
                actions.append(record["action"])
    return actions


@pytest.mark.parametrize(
    ("profile", "status", "field"),
    [
        ('{"vias": {"timeout_rate": 0.1}}', 422, "body"),
        ('{"visa": {"timeout": 0.1}}', 422, "visa"),
        ('{"visa": {"decline_rate": 0}, "visa": {"decline_rate": 1}}', 400, "visa"),
        ('{"visa": {"timeout_rate": 3}}', 422, "visa.timeout_rate"),
        ('{"visa": {"exception_rate": 1.5}}', 422, "visa.exception_rate"),
        ('{"visa": {"exception_rate": -0.1}}', 422, "visa.exception_rate"),
        ('{"visa": {"exception_rate": "x"}}', 422, "visa.exception_rate"),
        ('{"visa": {"exception_rate": 0.1, "exception_rate": 0.2}}', 400, "exception_rate"),
        ('{"visa": {"exception_rates": 0.1}}', 422, "visa"),
        ('{"visa": {"timeout_authorized_rate": 2}}', 422, "visa.timeout_authorized_rate"),
        (
            '{"amex": {"reversal_error_rate": 0.7, "reversal_timeout_rate": 0.7}}',
            422,
            "amex.reversal_timeout_rate",
        ),
        ("{", 422, "body"),
    ],
)
def test_admin_refuses_a_bad_profile_naming_the_field(
    client: httpx.Client, service: ServiceProcess, profile: str, status: int, field: str
) -> None:
    response = client.put(
        "/admin/faults",
        content=profile,
        headers={**admin(service), "content-type": "application/json"},
    )
    assert_problem(response, status, field)


def test_an_exception_fault_is_a_500_problem_counted_as_unexpected_error(
    client: httpx.Client, service: ServiceProcess
) -> None:
    headers = {**admin(service), "content-type": "application/json"}
    put = client.put(
        "/admin/faults", content=json.dumps({"visa": {"exception_rate": 1.0}}), headers=headers
    )
    assert put.status_code == 200
    assert put.json()["active"] == {"visa": {"exception_rate": 1.0}}
    before = client.get("/metrics").content
    try:
        response = post(client, body(VISA), **{"idempotency-key": "exc-1"})
        healthy = post(client, body(MASTERCARD))
    finally:
        client.delete("/admin/faults", headers=headers)
    problem = assert_problem(response, 500)
    assert problem["type"] == "urn:paystream:problem:internal-error"
    assert problem["detail"] == "an unexpected error occurred"
    assert "Injected" not in response.text and VISA not in response.text
    assert healthy.status_code == 200  # the startup profile is replaced, only visa throws
    after = client.get("/metrics").content
    assert count(after, "visa", "unexpected_error") - count(before, "visa", "unexpected_error") == 1
    # The key was released: the retry, without the fault, authorizes.
    assert post(client, body(VISA), **{"idempotency-key": "exc-1"}).status_code == 200


def test_admin_refuses_a_non_json_body(client: httpx.Client, service: ServiceProcess) -> None:
    response = client.put(
        "/admin/faults", content="{}", headers={**admin(service), "content-type": "text/plain"}
    )
    assert_problem(response, 415)


def test_metrics_count_what_was_served(client: httpx.Client) -> None:
    before = client.get("/metrics").content
    for _ in range(3):
        post(client, body(VISA, amount=7))
    post(client, body(MASTERCARD))
    post(client, {"card_number": "x"})
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    after = response.content
    assert count(after, "visa", "approved") - count(before, "visa", "approved") == 3
    assert count(after, "mastercard", "declined") - count(before, "mastercard", "declined") == 1
    assert count(after, "unknown", "invalid") - count(before, "unknown", "invalid") == 1
    buckets = {
        dict(labels)["le"]
        for labels in samples(after, "paystream_auth_request_duration_seconds_bucket")
    }
    assert {"0.005", "2.5", "5.0", "+Inf"} <= buckets
    info = samples(after, "paystream_auth_build_info")
    assert info == {(("revision", "abc1234"), ("version", "1.2.3")): 1.0}


def test_no_card_number_in_logs_metrics_or_error_bodies(
    client: httpx.Client, service: ServiceProcess
) -> None:
    bodies = [
        post(client, {**body(VISA), "merchant_id": VISA}).text,
        post(client, {**body(VISA), VISA: 1}).text,
        post(client, {**body(VISA), "currency": VISA}).text,
        post(client, body(VISA[:-1] + str((int(VISA[-1]) + 1) % 10))).text,
        client.get(f"/{VISA}").text,
    ]
    metrics = client.get("/metrics").text
    time.sleep(0.2)
    assert service.log_path is not None
    log = service.log_path.read_text()
    for pan in CARDS.values():
        for text in (*bodies, metrics, log):
            assert pan not in text
            assert pan[:-1] not in text
