"""Timeouts are unknown outcomes and are reversed: the flow on both stores (in-process "pods").

docs/decisions/0100-timeouts-are-reversed-before-the-key-is-freed.md. Every test runs on the
in-memory store and on the shared store on a real redis-server; deadlines of tens of
milliseconds keep them fast.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from paystream_auth.faults import parse_profile
from paystream_auth.problems import Problem
from paystream_auth.runtime import Runtime
from paystream_auth.service import Reply
from paystream_ops.redis_process import RedisServerProcess

from .cardgen import VISA
from .inprocess import make_runtime, request_body, samples, send, status

BODY = request_body(VISA)

HUNG = {"timeout_rate": 1.0, "timeout_authorized_rate": 1.0}


@pytest.fixture(params=["memory", "redis"])
def store_env(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "memory":
        return {}
    server: RedisServerProcess = request.getfixturevalue("redis_server")
    return {
        "PAYSTREAM_IDEMPOTENCY_STORE": "redis",
        "PAYSTREAM_IDEMPOTENCY_STORE_URL": server.url,
        "PAYSTREAM_ENVIRONMENT": f"rev{time.monotonic_ns()}",
    }


def runtime_with(tmp_path: Path, store_env: dict[str, str], visa: dict[str, float]) -> Runtime:
    runtime, _ = make_runtime(
        tmp_path,
        PAYSTREAM_PROCESSOR_DEADLINE_MS="40",
        PAYSTREAM_REVERSAL_DEADLINE_MS="40",
        PAYSTREAM_REVERSAL_ATTEMPTS="3",
        PAYSTREAM_FAULTS=json.dumps({"visa": visa}),
        **store_env,
    )
    return runtime


def heal(runtime: Runtime) -> None:
    """The network answers again (the start-up profile, as a drill's override would)."""
    runtime.service.faults.startup = parse_profile(b"{}")


async def settle(runtime: Runtime) -> None:
    while runtime.service.reversals.in_progress():
        await asyncio.sleep(0.01)


def reversals(runtime: Runtime) -> dict[str, float]:
    found = samples(runtime.metrics.exposition(), "paystream_auth_reversals_total")
    return {dict(k)["result"]: v for k, v in found.items() if dict(k)["network"] == "visa" and v}


def holds_left(runtime: Runtime) -> float:
    found = samples(runtime.metrics.exposition(), "paystream_auth_unreversed_holds_total")
    return found[(("network", "visa"),)]


def test_a_retry_during_the_reversal_is_a_409_and_after_it_authorizes_once(
    tmp_path: Path, store_env: dict[str, str]
) -> None:
    runtime = runtime_with(tmp_path, store_env, {**HUNG, "reversal_latency_ms": 150})
    runtime.service.reversals.latency_scale = 1.0  # the reversal takes its 150 ms

    async def main() -> list[Reply | Problem]:
        await runtime.prepare()
        timed_out = await send(runtime, BODY, "order-1")
        heal(runtime)
        during = await send(runtime, BODY, "order-1")
        await settle(runtime)
        after = await send(runtime, BODY, "order-1")
        again = await send(runtime, BODY, "order-1")
        return [timed_out, during, after, again]

    timed_out, during, after, again = asyncio.run(main())
    assert status(timed_out) == 504
    assert isinstance(during, Problem)
    assert (during.status, during.slug) == (409, "idempotency-key-reversing")
    assert during.headers["Retry-After"] == "1"
    assert isinstance(after, Reply) and after.status_code == 200 and not after.headers
    assert isinstance(again, Reply) and again.body == after.body  # replayed, not authorized
    assert reversals(runtime) == {"reversed": 1}
    assert holds_left(runtime) == 0


def test_a_call_the_network_never_authorized_is_reversed_as_nothing_to_release(
    tmp_path: Path, store_env: dict[str, str]
) -> None:
    runtime = runtime_with(tmp_path, store_env, {"timeout_rate": 1.0})

    async def main() -> list[int]:
        await runtime.prepare()
        answers = [
            await send(runtime, BODY, None),
            await send(runtime, BODY, "order-2"),
        ]
        await settle(runtime)
        return [status(a) for a in answers]

    assert asyncio.run(main()) == [504, 504]  # with a key or without, each call is reversed
    assert reversals(runtime) == {"not_authorized": 2}


def test_a_reversal_that_finally_fails_is_counted_and_the_key_never_authorizes_again(
    tmp_path: Path, store_env: dict[str, str]
) -> None:
    runtime = runtime_with(tmp_path, store_env, {**HUNG, "reversal_error_rate": 1.0})

    async def main() -> list[Reply | Problem]:
        await runtime.prepare()
        first = await send(runtime, BODY, "order-3")
        await settle(runtime)  # 3 attempts and their backoff
        heal(runtime)
        return [
            first,
            await send(runtime, BODY, "order-3"),
            await send(runtime, BODY, "order-3"),
        ]

    first, *retries = asyncio.run(main())
    assert status(first) == 504
    for retry in retries:
        assert isinstance(retry, Problem)
        assert (retry.status, retry.slug) == (502, "authorization-unresolved")
    assert reversals(runtime) == {"failed": 1}
    assert holds_left(runtime) == 1  # the customer harm the alert pages for


def test_hung_reversals_are_retried_each_under_its_own_deadline(
    tmp_path: Path, store_env: dict[str, str]
) -> None:
    runtime = runtime_with(tmp_path, store_env, {**HUNG, "reversal_timeout_rate": 1.0})

    async def main() -> float:
        await runtime.prepare()
        await send(runtime, BODY, "order-4")
        started = time.perf_counter()
        await settle(runtime)
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    # 3 attempts of 40 ms and backoffs of 0.1 s and 0.2 s: bounded, not hung.
    assert 0.4 < elapsed < 2.0
    assert reversals(runtime) == {"failed": 1}


def test_shutdown_bounds_a_reversal_still_running_and_counts_it_failed(
    tmp_path: Path, store_env: dict[str, str]
) -> None:
    runtime, _ = make_runtime(
        tmp_path,
        PAYSTREAM_PROCESSOR_DEADLINE_MS="40",
        PAYSTREAM_REVERSAL_DEADLINE_MS="30000",
        PAYSTREAM_FAULTS=json.dumps({"visa": {**HUNG, "reversal_timeout_rate": 1.0}}),
        **store_env,
    )

    async def main() -> float:
        await runtime.prepare()
        await send(runtime, BODY, "order-5")
        started = time.perf_counter()
        await runtime.service.close(0.2)
        return time.perf_counter() - started

    assert asyncio.run(main()) < 1.0
    assert runtime.service.reversals.in_progress() == 0
    assert reversals(runtime) == {"failed": 1}
    assert holds_left(runtime) == 1


def test_keyed_approvals_count_network_calls_not_replays_nor_calls_without_a_key(
    tmp_path: Path, store_env: dict[str, str]
) -> None:
    # The lab's double-authorization count compares this with the keys its callers saw approved.
    runtime = runtime_with(tmp_path, store_env, {"decline_rate": 0.0})

    async def main() -> list[int]:
        await runtime.prepare()
        answers = [
            await send(runtime, BODY, "order-9"),
            await send(runtime, BODY, "order-9"),
        ]
        answers.append(await send(runtime, BODY, None))
        return [status(a) for a in answers]

    assert asyncio.run(main()) == [200, 200, 200]
    found = samples(runtime.metrics.exposition(), "paystream_auth_keyed_approvals_total")
    assert found[(("network", "visa"),)] == 1  # the replay and the keyless call are not counted
