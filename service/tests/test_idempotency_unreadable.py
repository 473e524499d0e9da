"""A stored record the service cannot read, on a real redis-server: a 503, never a 500 or a
replay of an answer the service did not write (docs/decisions/0134-an-unreadable-idempotency-
record-is-a-503.md).

Each case sends a keyed request, then rewrites its record (the value after `1D` + fingerprint,
or the whole value) and sends the same request again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import pytest
from paystream_auth.problems import Problem
from paystream_auth.runtime import Runtime
from paystream_auth.service import Reply
from paystream_ops.redis_process import RedisServerProcess
from redis.asyncio import Redis

from .cardgen import VISA
from .inprocess import count, make_runtime, request_body, samples, status

KEY = "order-unreadable-7"
# The length of `1D` + the 32-byte fingerprint: what comes after is the stored answer.
HEAD = 34

Rewrite = Callable[[Redis, bytes, bytes], Awaitable[None]]


def answer(*fields: object) -> Rewrite:
    """The record kept up to its answer, which becomes `fields` in msgpack."""

    async def rewrite(client: Redis, key: bytes, value: bytes) -> None:
        await client.set(key, value[:HEAD] + msgspec.msgpack.encode(fields))

    return rewrite


def raw(make: Callable[[bytes], bytes]) -> Rewrite:
    async def rewrite(client: Redis, key: bytes, value: bytes) -> None:
        await client.set(key, make(value))

    return rewrite


async def not_a_string(client: Redis, key: bytes, value: bytes) -> None:
    await client.delete(key)
    await client.hset(key, "v", value)


BODY = b'{"status":"approved"}'
UNREADABLE: dict[str, Rewrite] = {
    "garbage-answer": raw(lambda v: v[:HEAD] + b"\xc1\xff not msgpack"),
    "no-answer": raw(lambda v: v[:HEAD]),
    "two-fields": answer(200, "approved"),
    "a-map": answer({"status_code": 200}),
    "wrong-types": answer("200", "approved", BODY),
    "unknown-outcome": answer(200, "refunded", BODY),
    "outcome-never-stored": answer(200, "processor_error", BODY),
    "status-out-of-range": answer(999, "approved", BODY),
    "status-not-stored": answer(201, "approved", BODY),
    "unknown-state": raw(lambda v: b"1X" + v[2:]),
    "other-format": raw(lambda v: b"2" + v[1:]),
    "truncated": raw(lambda v: v[:20]),
    "not-a-string": not_a_string,
}


def runtime_on(tmp_path: Path, url: str) -> tuple[Runtime, Path]:
    return make_runtime(
        tmp_path,
        PAYSTREAM_IDEMPOTENCY_STORE="redis",
        PAYSTREAM_IDEMPOTENCY_STORE_URL=url,
        PAYSTREAM_ENVIRONMENT=f"unreadable-{time.monotonic_ns()}",
        PAYSTREAM_IDEMPOTENCY_STORE_BREAKER_THRESHOLD="2",
    )


def approvals(runtime: Runtime) -> float:
    exposition = runtime.metrics.exposition()
    return count(exposition, "visa", "approved") + count(exposition, "visa", "declined")


def resend_after(
    tmp_path: Path, url: str, rewrite: Rewrite, times: int = 1
) -> tuple[Runtime, Path, list[Reply | Problem], Reply | Problem]:
    """Authorize once, rewrite the record, resend `times`; then one request with another key."""
    runtime, log = runtime_on(tmp_path, url)

    async def send(key: str) -> Reply | Problem:
        try:
            return await runtime.service.authorize(request_body(VISA), key, time.perf_counter())
        except Problem as problem:
            return problem

    async def main() -> tuple[list[Reply | Problem], Reply | Problem]:
        await runtime.prepare()
        assert runtime.shared_store is not None
        client = runtime.shared_store.client
        assert status(await send(KEY)) == 200
        (record,) = await client.keys(f"paystream:{runtime.settings.environment}:*")
        await rewrite(client, record, await client.get(record))
        again = [await send(KEY) for _ in range(times)]
        return again, await send("order-other-8")

    again, other = asyncio.run(main())
    return runtime, log, again, other


@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_an_unreadable_record_is_a_503_counted_as_a_store_error(
    tmp_path: Path, redis_server: RedisServerProcess, case: str
) -> None:
    runtime, log, again, other = resend_after(tmp_path, redis_server.url, UNREADABLE[case], 3)
    for problem in again:
        assert isinstance(problem, Problem), problem
        assert (problem.status, problem.slug) == (503, "idempotency-store-unavailable")
        assert int(problem.headers["Retry-After"]) >= 1
    assert approvals(runtime) == 2  # the first request and the other key: nothing replayed
    # One bad record is not a store outage: the circuit (threshold 2) stays closed.
    assert status(other) == 200
    exposition = runtime.metrics.exposition()
    calls = samples(exposition, "paystream_auth_idempotency_store_operations_total")
    assert calls[(("operation", "claim"), ("result", "error"))] == 3
    assert calls[(("operation", "claim"), ("result", "rejected"))] == 0
    assert count(exposition, "visa", "idempotency_unavailable") == 3
    assert count(exposition, "visa", "unexpected_error") == 0
    events = [json.loads(line) for line in log.read_text().splitlines()]
    unreadable = [e for e in events if e["event"] == "idempotency.store_unavailable"]
    assert [e["operation"] for e in unreadable] == ["claim"] * 3
    text = log.read_text()
    assert KEY not in text and VISA not in text


def test_a_well_formed_record_still_replays(
    tmp_path: Path, redis_server: RedisServerProcess
) -> None:
    """The negative: a record rewritten with a readable answer is replayed as written."""
    declined = b'{"status":"declined","note":"rewritten"}'
    runtime, _, (again,), _ = resend_after(
        tmp_path, redis_server.url, answer(200, "declined", declined)
    )
    assert isinstance(again, Reply)
    assert (again.status_code, again.body, again.outcome) == (200, declined, "declined")
    assert again.headers == {"Idempotent-Replayed": "true"}
    exposition = runtime.metrics.exposition()
    calls = samples(exposition, "paystream_auth_idempotency_store_operations_total")
    assert calls[(("operation", "claim"), ("result", "error"))] == 0


def test_a_stored_unresolved_answer_is_still_read(
    tmp_path: Path, redis_server: RedisServerProcess
) -> None:
    """The reversal's `unresolved` record (502, empty body) is one the service writes."""
    _, _, (again,), _ = resend_after(tmp_path, redis_server.url, answer(502, "unresolved", b""))
    assert isinstance(again, Problem)
    assert (again.status, again.slug) == (502, "authorization-unresolved")
