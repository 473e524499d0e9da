from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from paystream_auth.faults import parse_profile
from paystream_auth.problems import Problem
from paystream_auth.runtime import Runtime

from .cardgen import AMEX, VISA
from .inprocess import count, make_runtime, request_body, samples


async def authorize(runtime: Runtime, body: bytes, key: str | None = None) -> int:
    try:
        reply = await runtime.service.authorize(body, key, time.perf_counter())
    except Problem as problem:
        return problem.status
    return reply.status_code


def test_declines_never_trip_the_breaker(tmp_path: Path) -> None:
    runtime, _ = make_runtime(
        tmp_path,
        PAYSTREAM_FAULTS='{"visa": {"decline_rate": 1.0}}',
        PAYSTREAM_BREAKER_THRESHOLD="3",
    )

    async def main() -> list[int]:
        await runtime.prepare()
        return [await authorize(runtime, request_body(VISA)) for _ in range(50)]

    statuses = asyncio.run(main())
    assert statuses == [200] * 50
    assert runtime.breakers.state("visa") == "closed"
    exposition = runtime.metrics.exposition()
    assert count(exposition, "visa", "declined") == 50
    assert count(exposition, "visa", "approved") == 0


def test_processor_errors_open_the_circuit_then_requests_fail_fast_with_retry_after(
    tmp_path: Path,
) -> None:
    runtime, _ = make_runtime(
        tmp_path, PAYSTREAM_FAULTS='{"amex": {"error_rate": 1.0}}', PAYSTREAM_BREAKER_THRESHOLD="3"
    )

    async def main() -> tuple[list[int], Problem]:
        await runtime.prepare()
        statuses = [await authorize(runtime, request_body(AMEX)) for _ in range(5)]
        try:
            await runtime.service.authorize(request_body(AMEX), None, time.perf_counter())
        except Problem as problem:
            return statuses, problem
        raise AssertionError("expected an open circuit")

    statuses, problem = asyncio.run(main())
    assert statuses == [502, 502, 502, 503, 503]
    assert problem.slug == "circuit-open"
    assert int(problem.headers["Retry-After"]) >= 1
    exposition = runtime.metrics.exposition()
    assert count(exposition, "amex", "processor_error") == 3
    assert count(exposition, "amex", "circuit_open") == 3
    state = samples(exposition, "paystream_auth_circuit_breaker_state")
    assert state[(("network", "amex"),)] == 2
    assert state[(("network", "visa"),)] == 0
    transitions = samples(exposition, "paystream_auth_circuit_breaker_transitions_total")
    assert transitions[(("network", "amex"), ("to", "open"))] == 1


def test_a_timeout_waits_for_the_deadline_and_is_a_504(tmp_path: Path) -> None:
    runtime, _ = make_runtime(
        tmp_path,
        PAYSTREAM_FAULTS='{"visa": {"timeout_rate": 1.0}}',
        PAYSTREAM_PROCESSOR_DEADLINE_MS="150",
    )

    async def main() -> tuple[int, float]:
        await runtime.prepare()
        started = time.perf_counter()
        status = await authorize(runtime, request_body(VISA))
        return status, time.perf_counter() - started

    status, elapsed = asyncio.run(main())
    assert status == 504
    assert 0.14 < elapsed < 1.0
    exposition = runtime.metrics.exposition()
    assert count(exposition, "visa", "timeout") == 1
    buckets = samples(exposition, "paystream_auth_request_duration_seconds_bucket")
    assert buckets[(("le", "0.1"), ("network", "visa"))] == 0
    assert buckets[(("le", "0.25"), ("network", "visa"))] == 1


def test_same_idempotency_key_and_body_authorizes_once(tmp_path: Path) -> None:
    runtime, log_path = make_runtime(tmp_path)

    async def main() -> list[bytes]:
        await runtime.prepare()
        replies = await asyncio.gather(
            *(
                runtime.service.authorize(request_body(VISA), "order-7", time.perf_counter())
                for _ in range(5)
            )
        )
        return [reply.body for reply in replies]

    bodies = asyncio.run(main())
    runtime.log.flush()  # request lines are written in batches
    assert len(set(bodies)) == 1
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    requests = [line for line in lines if line["event"] == "authorize"]
    assert [line["idempotent_replay"] for line in requests].count(False) == 1
    assert len({line["transaction_id"] for line in requests if line["transaction_id"]}) == 1


def test_same_idempotency_key_with_another_body_is_a_422(tmp_path: Path) -> None:
    runtime, _ = make_runtime(tmp_path)

    async def main() -> int:
        await runtime.prepare()
        await authorize(runtime, request_body(VISA), "k1")
        return await authorize(runtime, request_body(VISA, amount=2000), "k1")

    assert asyncio.run(main()) == 422


def test_a_failed_attempt_does_not_pin_the_idempotency_key(tmp_path: Path) -> None:
    runtime, _ = make_runtime(tmp_path)

    async def main() -> list[int]:
        await runtime.prepare()
        runtime.faults.set(parse_profile('{"visa": {"error_rate": 1.0}}'), {"client": "test"})
        first = await authorize(runtime, request_body(VISA), "k2")
        runtime.faults.clear({"client": "test"})
        second = await authorize(runtime, request_body(VISA), "k2")
        return [first, second]

    assert asyncio.run(main()) == [502, 200]


def test_no_processor_key_means_503_not_ready(tmp_path: Path) -> None:
    runtime, _ = make_runtime(tmp_path)
    (tmp_path / "secrets" / "processor-api-key").unlink()

    async def main() -> int:
        await runtime.prepare()
        return await authorize(runtime, request_body(VISA))

    assert asyncio.run(main()) == 503
    assert runtime.readiness() == (False, "starting")


@pytest.mark.parametrize("raw", [b"{", b"[]", request_body("4111111111111112")])
def test_invalid_requests_count_as_invalid_and_are_not_timed(tmp_path: Path, raw: bytes) -> None:
    runtime, _ = make_runtime(tmp_path)

    async def main() -> int:
        await runtime.prepare()
        return await authorize(runtime, raw)

    assert asyncio.run(main()) in (400, 422)
    exposition = runtime.metrics.exposition()
    invalid = count(exposition, "unknown", "invalid") + count(exposition, "visa", "invalid")
    assert invalid == 1
    assert samples(exposition, "paystream_auth_request_duration_seconds_count") == {
        (("network", n),): 0.0 for n in ("visa", "mastercard", "amex", "discover", "unknown")
    }
