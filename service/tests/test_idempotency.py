from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st
from paystream_auth.idempotency import (
    Fresh,
    MemoryIdempotencyStore,
    Mismatch,
    Replay,
    StoredResponse,
)

ANSWER = StoredResponse(200, b'{"status":"approved"}', "approved")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_same_key_and_body_replays_the_first_answer() -> None:
    async def main() -> None:
        store = MemoryIdempotencyStore(10, 60)
        assert await store.claim("k", b"a") == Fresh()
        await store.complete("k", b"a", ANSWER)
        assert await store.claim("k", b"a") == Replay(ANSWER)

    asyncio.run(main())


def test_same_key_with_another_body_is_a_mismatch() -> None:
    async def main() -> None:
        store = MemoryIdempotencyStore(10, 60)
        await store.claim("k", b"a")
        await store.complete("k", b"a", ANSWER)
        assert await store.claim("k", b"b") == Mismatch()

    asyncio.run(main())


def test_a_released_claim_lets_the_retry_try_again() -> None:
    async def main() -> None:
        store = MemoryIdempotencyStore(10, 60)
        await store.claim("k", b"a")
        await store.release("k", b"a")
        assert await store.claim("k", b"a") == Fresh()

    asyncio.run(main())


def test_a_key_is_forgotten_after_its_ttl() -> None:
    async def main() -> None:
        clock = Clock()
        store = MemoryIdempotencyStore(10, 60, clock=clock)
        await store.claim("k", b"a")
        await store.complete("k", b"a", ANSWER)
        clock.now = 59.9
        assert await store.claim("k", b"a") == Replay(ANSWER)
        clock.now = 60.0
        assert await store.claim("k", b"a") == Fresh()

    asyncio.run(main())


def test_the_least_recently_used_key_is_evicted_first() -> None:
    async def main() -> None:
        store = MemoryIdempotencyStore(2, 60)
        for key in ("a", "b"):
            await store.claim(key, b"x")
            await store.complete(key, b"x", ANSWER)
        await store.claim("a", b"x")  # touch a: b is now the oldest
        await store.claim("c", b"x")
        assert len(store) == 2
        assert await store.claim("a", b"x") == Replay(ANSWER)
        assert await store.claim("b", b"x") == Fresh()

    asyncio.run(main())


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=2, max_value=20), st.booleans())
def test_concurrent_claims_authorize_once(concurrent: int, first_fails: bool) -> None:
    """However many retries race, exactly one is Fresh at a time, and all others replay."""

    async def main() -> tuple[int, int]:
        store = MemoryIdempotencyStore(100, 60)
        fresh = 0
        replays = 0
        failed_once = False

        async def client() -> None:
            nonlocal fresh, replays, failed_once
            claim = await store.claim("key", b"body")
            if isinstance(claim, Fresh):
                fresh += 1
                await asyncio.sleep(0.001)
                if first_fails and not failed_once:
                    failed_once = True
                    await store.release("key", b"body")
                else:
                    await store.complete("key", b"body", ANSWER)
            elif isinstance(claim, Replay):
                replays += 1

        await asyncio.gather(*(client() for _ in range(concurrent)))
        return fresh, replays

    fresh, replays = asyncio.run(main())
    assert fresh == (2 if first_fails else 1)
    assert fresh + replays == concurrent
