"""One contract, two stores: the in-memory store and the shared store on a real redis-server.

Every rule of docs/decisions/0054, 0055 and 0100 is checked against both, with the real clock (TTLs
and leases of a few hundred milliseconds keep it fast).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from paystream_auth.idempotency import (
    Fresh,
    IdempotencyStore,
    InFlight,
    MemoryIdempotencyStore,
    Mismatch,
    Replay,
    Reversing,
    StoredResponse,
)
from paystream_auth.idempotency_redis import RedisIdempotencyStore, connect
from paystream_ops.redis_process import RedisServerProcess

ANSWER = StoredResponse(200, b'{"status":"approved"}', "approved")
DECLINE = StoredResponse(200, b'{"status":"declined"}', "declined")
FP_A = b"a" * 32
FP_B = b"b" * 32
TTL = 0.4
LEASE = 0.25

OpenStore = Callable[..., Any]


@pytest.fixture(params=["memory", "redis"])
def open_store(request: pytest.FixtureRequest) -> OpenStore:
    """A factory of async context managers yielding a fresh, empty store of the kind."""
    kind: str = request.param

    @asynccontextmanager
    async def opened(ttl: float = TTL, lease: float = LEASE) -> AsyncIterator[IdempotencyStore]:
        if kind == "memory":
            yield MemoryIdempotencyStore(1000, ttl, lease)
            return
        server: RedisServerProcess = request.getfixturevalue("redis_server")
        store = RedisIdempotencyStore(
            connect(server.url, 1.0),
            f"test-{secrets.token_hex(4)}",  # a namespace of its own: an empty store
            ttl_seconds=ttl,
            lease_seconds=lease,
            timeout_seconds=1.0,
            breaker_threshold=5,
            breaker_reset_seconds=1.0,
        )
        await store.initialize()
        try:
            yield store
        finally:
            await store.close()

    return opened


def run(open_store: OpenStore, body: Callable[[IdempotencyStore], Any], **kw: float) -> Any:
    async def main() -> Any:
        async with open_store(**kw) as store:
            return await body(store)

    return asyncio.run(main())


def test_the_first_claim_is_fresh_and_the_same_request_then_replays(open_store: OpenStore) -> None:
    async def body(store: IdempotencyStore) -> list[object]:
        first = await store.claim("k", FP_A)
        await store.complete("k", FP_A, DECLINE)
        return [first, await store.claim("k", FP_A), await store.claim("k", FP_A)]

    assert run(open_store, body) == [Fresh(), Replay(DECLINE), Replay(DECLINE)]


def test_another_fingerprint_is_a_mismatch_in_flight_or_done(open_store: OpenStore) -> None:
    async def body(store: IdempotencyStore) -> list[object]:
        await store.claim("k", FP_A)
        in_flight = await store.claim("k", FP_B)
        await store.complete("k", FP_A, ANSWER)
        return [in_flight, await store.claim("k", FP_B)]

    assert run(open_store, body) == [Mismatch(), Mismatch()]


def test_a_claim_in_flight_answers_in_flight_at_once(open_store: OpenStore) -> None:
    async def body(store: IdempotencyStore) -> object:
        await store.claim("k", FP_A)
        return await asyncio.wait_for(store.claim("k", FP_A), 0.1)

    assert run(open_store, body) == InFlight()


def test_a_released_claim_lets_the_retry_try_again(open_store: OpenStore) -> None:
    async def body(store: IdempotencyStore) -> object:
        await store.claim("k", FP_A)
        await store.release("k", FP_A)
        return await store.claim("k", FP_A)

    assert run(open_store, body) == Fresh()


def test_release_and_complete_by_another_fingerprint_change_nothing(
    open_store: OpenStore,
) -> None:
    async def body(store: IdempotencyStore) -> list[object]:
        await store.claim("k", FP_A)
        await store.release("k", FP_B)
        await store.complete("k", FP_B, DECLINE)
        held = await store.claim("k", FP_A)
        await store.complete("k", FP_A, ANSWER)
        await store.release("k", FP_A)  # an answer is never released
        return [held, await store.claim("k", FP_A)]

    assert run(open_store, body) == [InFlight(), Replay(ANSWER)]


def test_keys_are_independent(open_store: OpenStore) -> None:
    async def body(store: IdempotencyStore) -> list[object]:
        await store.claim("k1", FP_A)
        return [await store.claim("k2", FP_B), await store.claim("k1", FP_A)]

    assert run(open_store, body) == [Fresh(), InFlight()]


def test_an_abandoned_claim_ends_with_its_lease(open_store: OpenStore) -> None:
    async def body(store: IdempotencyStore) -> list[object]:
        await store.claim("k", FP_A)
        before = await store.claim("k", FP_A)
        await asyncio.sleep(LEASE + 0.1)
        return [before, await store.claim("k", FP_A)]

    assert run(open_store, body) == [InFlight(), Fresh()]


def test_a_completed_claim_lives_its_ttl_not_its_lease(open_store: OpenStore) -> None:
    async def body(store: IdempotencyStore) -> list[object]:
        await store.claim("k", FP_A)
        await store.complete("k", FP_A, ANSWER)
        await asyncio.sleep(LEASE + 0.05)  # past the lease, inside the TTL
        kept = await store.claim("k", FP_A)
        await asyncio.sleep(TTL)
        return [kept, await store.claim("k", FP_A)]

    assert run(open_store, body) == [Replay(ANSWER), Fresh()]


def test_a_late_complete_stores_the_answer_on_a_free_key_only(open_store: OpenStore) -> None:
    async def body(store: IdempotencyStore) -> list[object]:
        await store.claim("free", FP_A)
        await store.claim("taken", FP_A)
        await asyncio.sleep(LEASE + 0.1)
        await store.claim("taken", FP_B)  # the key was claimed again since
        await store.complete("free", FP_A, ANSWER)
        await store.complete("taken", FP_A, ANSWER)
        return [await store.claim("free", FP_A), await store.claim("taken", FP_B)]

    assert run(open_store, body) == [Replay(ANSWER), InFlight()]


@pytest.mark.parametrize("concurrent", [2, 16])
@pytest.mark.parametrize("first_fails", [False, True])
def test_racing_claims_authorize_once(
    open_store: OpenStore, concurrent: int, first_fails: bool
) -> None:
    """However many retries race, one is Fresh; the others are told in flight, none waits."""

    async def body(store: IdempotencyStore) -> list[object]:
        claims = await asyncio.gather(*(store.claim("key", FP_A) for _ in range(concurrent)))
        if first_fails:
            await store.release("key", FP_A)
        else:
            await store.complete("key", FP_A, ANSWER)
        return [*claims, await store.claim("key", FP_A)]

    *claims, after = run(open_store, body)
    assert claims.count(Fresh()) == 1
    assert claims.count(InFlight()) == concurrent - 1
    assert after == (Fresh() if first_fails else Replay(ANSWER))


def test_a_key_held_for_a_reversal_answers_reversing_then_frees(open_store: OpenStore) -> None:
    """After a timeout the key is the reversal's: retries are told so; its release frees it."""

    async def body(store: IdempotencyStore) -> list[object]:
        await store.claim("k", FP_A)
        await store.reverse("k", FP_A, 5.0)
        held = [await store.claim("k", FP_A), await store.claim("k", FP_B)]
        await store.release("k", FP_B)  # not the holder: nothing changes
        still = await store.claim("k", FP_A)
        await store.release("k", FP_A)
        return [*held, still, await store.claim("k", FP_A)]

    assert run(open_store, body) == [Reversing(), Mismatch(), Reversing(), Fresh()]


def test_a_reversal_hold_outlives_the_claim_lease_and_ends_with_its_own(
    open_store: OpenStore,
) -> None:
    async def body(store: IdempotencyStore) -> list[object]:
        await store.claim("k", FP_A)
        await store.reverse("k", FP_A, LEASE * 2)
        await asyncio.sleep(LEASE + 0.05)  # past the claim's lease, inside the hold
        kept = await store.claim("k", FP_A)
        await asyncio.sleep(LEASE)
        return [kept, await store.claim("k", FP_A)]

    assert run(open_store, body) == [Reversing(), Fresh()]


def test_a_failed_reversal_stores_its_answer_on_the_held_key(open_store: OpenStore) -> None:
    unresolved = StoredResponse(502, b"", "unresolved")

    async def body(store: IdempotencyStore) -> list[object]:
        await store.claim("k", FP_A)
        await store.reverse("k", FP_A, 5.0)
        await store.complete("k", FP_A, unresolved)
        await store.release("k", FP_A)  # an answer is never released
        return [await store.claim("k", FP_A), await store.claim("k", FP_B)]

    assert run(open_store, body) == [Replay(unresolved), Mismatch()]


def test_a_reversal_never_takes_a_key_another_request_holds(open_store: OpenStore) -> None:
    async def body(store: IdempotencyStore) -> list[object]:
        await store.claim("k", FP_A)
        await asyncio.sleep(LEASE + 0.1)  # the first claim's lease ended
        await store.claim("k", FP_B)  # and the key was claimed again since
        await store.reverse("k", FP_A, 5.0)
        await store.complete("k", FP_B, ANSWER)
        await store.reverse("k", FP_B, 5.0)  # nor turns an answer back into a hold
        return [await store.claim("k", FP_B)]

    assert run(open_store, body) == [Replay(ANSWER)]
