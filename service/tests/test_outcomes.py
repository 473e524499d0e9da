"""Every request ends in exactly one outcome of `paystream_auth_requests_total`.

The sum of the counter's increments equals the requests sent, over every path: answers, every
failure, refused input, the idempotency store's 503 and unexpected exceptions (injected by the
`exception_rate` fault, or raised by a broken store). The store's 503 uses a real closed port.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from paystream_auth.idempotency import Claim, StoredResponse
from paystream_auth.networks import FAILURE_OUTCOMES, METRIC_NETWORKS, OUTCOMES
from paystream_auth.problems import Problem
from paystream_auth.runtime import Runtime
from paystream_auth.service import Reply
from paystream_ops.processes import free_port

from .cardgen import AMEX, DISCOVER, MASTERCARD, VISA
from .inprocess import make_runtime, request_body, samples, send, status

# Visa throws on 30% of requests, Amex times out or errors, Mastercard declines half, Discover
# is healthy: every outcome of the service in one run.
FAULTS = {
    "visa": {"exception_rate": 0.3},
    "amex": {"timeout_rate": 0.3, "error_rate": 0.2},
    "mastercard": {"decline_rate": 0.5},
}


def outcomes(runtime: Runtime) -> dict[tuple[str, str], float]:
    found = samples(runtime.metrics.exposition(), "paystream_auth_requests_total")
    return {(dict(k)["network"], dict(k)["outcome"]): v for k, v in found.items() if v}


def timed(runtime: Runtime) -> float:
    found = samples(runtime.metrics.exposition(), "paystream_auth_request_duration_seconds_count")
    return sum(found.values())


def log_outcomes(log_path: Path) -> list[str]:
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line]
    return [line["outcome"] for line in lines if line.get("event") == "authorize"]


def requests(seed: int) -> list[tuple[bytes, str | None]]:
    """A mix of every kind of request: valid per network, invalid bodies, keys reused."""
    cards = (VISA, AMEX, MASTERCARD, DISCOVER)
    sent: list[tuple[bytes, str | None]] = []
    for i in range(240):
        card = cards[(i * 7 + seed) % 4]
        kind = i % 8
        if kind == 0:
            sent.append((b'{"card_number": "4111"', None))  # malformed JSON
        elif kind == 1:
            sent.append((request_body(card, amount=-1), None))  # invalid field
        elif kind == 2:
            sent.append((request_body(card), f"key-{i % 24}"))  # replays and mismatches
        elif kind == 3:
            sent.append((request_body(card, amount=1000 + i), f"key-{i % 24}"))
        elif kind == 4:
            sent.append((request_body(card), "\x01bad"))  # a key that is refused
        else:
            sent.append((request_body(card, amount=100 + i), None))
    return sent


def test_every_request_counts_exactly_one_outcome_on_every_path(tmp_path: Path) -> None:
    runtime, log_path = make_runtime(
        tmp_path,
        PAYSTREAM_FAULTS=json.dumps(FAULTS),
        PAYSTREAM_PROCESSOR_DEADLINE_MS="20",
        PAYSTREAM_BREAKER_THRESHOLD="4",
    )
    sent = requests(seed=3)

    async def main() -> list[Reply | Problem]:
        await runtime.prepare()
        # Concurrently, so keys are also met in flight (409).
        return list(await asyncio.gather(*(send(runtime, body, key) for body, key in sent)))

    answers = asyncio.run(main())
    runtime.log.flush()
    counted = outcomes(runtime)
    assert sum(counted.values()) == len(sent)
    assert len(log_outcomes(log_path)) == len(sent)
    # Every outcome but `invalid` is timed, so the histogram's count is the rest.
    invalid = sum(v for (_, outcome), v in counted.items() if outcome == "invalid")
    assert timed(runtime) == len(sent) - invalid
    statuses = [status(a) for a in answers]
    assert counted[("visa", "unexpected_error")] == statuses.count(500) > 0
    assert {o for _, o in counted} >= {"approved", "declined", "invalid", "unexpected_error"}
    assert {o for _, o in counted} & {"timeout", "processor_error", "circuit_open"}


def test_an_injected_exception_is_a_500_that_names_nothing(tmp_path: Path) -> None:
    runtime, log_path = make_runtime(tmp_path, PAYSTREAM_FAULTS='{"visa": {"exception_rate": 1.0}}')

    async def main() -> tuple[Reply | Problem, Reply | Problem]:
        await runtime.prepare()
        return await send(runtime, request_body(VISA)), await send(runtime, request_body(AMEX))

    visa, amex = asyncio.run(main())
    runtime.log.flush()
    assert isinstance(visa, Problem)
    assert (visa.status, visa.slug, visa.detail) == (
        500,
        "internal-error",
        "an unexpected error occurred",
    )
    assert status(amex) == 200  # only the faulty network throws
    assert outcomes(runtime) == {("visa", "unexpected_error"): 1, ("amex", "approved"): 1}
    errors = [
        json.loads(line)
        for line in log_path.read_text().splitlines()
        if '"unhandled_error"' in line
    ]
    assert [(e["error"], e["network"]) for e in errors] == [("InjectedFault", "visa")]
    assert VISA not in log_path.read_text()


class BrokenStore:
    """A store with a bug: `claim` or `complete` raises what no caller expects."""

    def __init__(self, fail_on: str) -> None:
        self.fail_on = fail_on

    async def claim(self, key: str, fingerprint: bytes) -> Claim:
        if self.fail_on == "claim":
            raise KeyError(key)
        from paystream_auth.idempotency import Fresh

        return Fresh()

    async def complete(self, key: str, fingerprint: bytes, response: StoredResponse) -> None:
        raise ValueError("bug after the answer")

    async def release(self, key: str, fingerprint: bytes) -> None:
        return None


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [
        # The exception comes before any answer: one `unexpected_error`.
        ("claim", {("visa", "unexpected_error"): 1}),
        # The card was authorized and counted first: still one outcome, never two.
        ("complete", {("visa", "approved"): 1}),
    ],
)
def test_a_bug_in_the_store_still_ends_in_one_outcome(
    tmp_path: Path, fail_on: str, expected: dict[tuple[str, str], float]
) -> None:
    runtime, _ = make_runtime(tmp_path)
    store: Any = BrokenStore(fail_on)
    runtime.service.idempotency = store

    async def main() -> Reply | Problem:
        await runtime.prepare()
        return await send(runtime, request_body(VISA), "order-1")

    answer = asyncio.run(main())
    assert status(answer) == 500
    assert outcomes(runtime) == expected


def test_a_keyed_request_refused_for_want_of_the_store_is_a_failure_outcome(
    tmp_path: Path,
) -> None:
    runtime, _ = make_runtime(
        tmp_path,
        PAYSTREAM_IDEMPOTENCY_STORE="redis",
        PAYSTREAM_IDEMPOTENCY_STORE_URL=f"redis://127.0.0.1:{free_port()}/0",  # nobody listens
        PAYSTREAM_IDEMPOTENCY_STORE_TIMEOUT_MS="50",
    )

    async def main() -> list[Reply | Problem]:
        await runtime.prepare()
        keyed = [await send(runtime, request_body(VISA), f"k{i}") for i in range(3)]
        return [*keyed, await send(runtime, request_body(VISA))]

    answers = asyncio.run(main())
    assert [status(a) for a in answers] == [503, 503, 503, 200]
    assert outcomes(runtime) == {("visa", "idempotency_unavailable"): 3, ("visa", "approved"): 1}


def test_the_failure_set_is_a_subset_of_the_outcomes_and_excludes_answers() -> None:
    assert set(FAILURE_OUTCOMES) <= set(OUTCOMES)
    assert {"unexpected_error", "idempotency_unavailable"} <= set(FAILURE_OUTCOMES)
    assert not {"approved", "declined", "invalid"} & set(FAILURE_OUTCOMES)
    assert "unknown" in METRIC_NETWORKS  # an exception before the network is known


def test_a_bug_before_the_service_runs_is_counted_on_network_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the ASGI app: the handler's own code throws (here: reading the body), the answer
    is a 500 problem that names nothing, and the request still counts once."""
    import secrets as token

    from litestar.testing import TestClient
    from paystream_auth import handlers
    from paystream_auth.app import create_app, runtime_of_app

    for name in ("admin-token", "processor-api-key"):
        (tmp_path / name).write_text(token.token_urlsafe(24))

    async def broken_read(*args: object) -> bytes:
        raise RuntimeError(f"card {VISA} leaked into an exception")

    monkeypatch.setattr(handlers.authorize, "read_body", broken_read)
    app = create_app({"PAYSTREAM_SECRETS_DIR": str(tmp_path), "PAYSTREAM_LATENCY_SCALE": "0"})
    headers = {"content-type": "application/json"}
    with TestClient(app) as client:
        broken = client.post("/v1/authorize", content=request_body(VISA), headers=headers)
        refused = client.post("/v1/authorize", content=b"{}", headers={"content-type": "text/x"})
        runtime = runtime_of_app(app)
        counted = outcomes(runtime)
    assert broken.status_code == 500
    assert broken.headers["content-type"] == "application/problem+json"
    assert broken.json()["detail"] == "an unexpected error occurred"
    assert VISA not in broken.text and "leaked" not in broken.text
    assert refused.status_code == 415
    assert counted == {("unknown", "unexpected_error"): 1, ("unknown", "invalid"): 1}
