"""What only the in-memory store has (its LRU bound), and the keyed hash both stores rely on.

The protocol itself is checked against both stores in test_idempotency_contract.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from paystream_auth.idempotency import (
    Fresh,
    InFlight,
    MemoryIdempotencyStore,
    Replay,
    StoredResponse,
)
from paystream_auth.idempotency_hmac import HMAC_KEY_FILE, IdempotencyHasher, load_hmac_secret

ANSWER = StoredResponse(200, b'{"status":"approved"}', "approved")
VISA = b'{"card_number":"4111111111111111","amount":1,"currency":"USD","merchant_id":"m"}'


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_least_recently_used_key_is_evicted_first() -> None:
    async def main() -> None:
        store = MemoryIdempotencyStore(2, 60, 10)
        for key in ("a", "b"):
            await store.claim(key, b"x")
            await store.complete(key, b"x", ANSWER)
        await store.claim("a", b"x")  # touch a: b is now the oldest
        await store.claim("c", b"x")
        assert len(store) == 2
        assert await store.claim("a", b"x") == Replay(ANSWER)
        assert await store.claim("b", b"x") == Fresh()

    asyncio.run(main())


def test_ttl_and_lease_end_exactly_on_time() -> None:
    async def main() -> None:
        clock = Clock()
        store = MemoryIdempotencyStore(10, 60, 5, clock=clock)
        await store.claim("k", b"a")
        clock.now = 4.9
        assert await store.claim("k", b"a") == InFlight()
        await store.complete("k", b"a", ANSWER)  # the TTL counts from the answer
        clock.now = 64.8
        assert await store.claim("k", b"a") == Replay(ANSWER)
        clock.now = 64.9
        assert await store.claim("k", b"a") == Fresh()

    asyncio.run(main())


def test_the_store_key_binds_the_merchant_and_hides_the_client_key() -> None:
    hasher = IdempotencyHasher(b"s" * 32)
    key = hasher.scoped_key("merchant_a", "order-1")
    assert key == hasher.scoped_key("merchant_a", "order-1")
    assert key != hasher.scoped_key("merchant_b", "order-1")
    assert key != hasher.scoped_key("merchant_a", "order-2")
    assert "order-1" not in key and "merchant_a" not in key
    assert len(key) == 64


def test_the_fingerprint_depends_on_the_secret_and_holds_no_card_number() -> None:
    one, other = IdempotencyHasher(b"s" * 32), IdempotencyHasher(b"t" * 32)
    fingerprint = one.fingerprint(VISA)
    assert fingerprint == one.fingerprint(VISA)
    assert fingerprint != other.fingerprint(VISA)
    assert fingerprint != one.fingerprint(VISA.replace(b'"amount":1', b'"amount":2'))
    assert b"4111111111111111" not in fingerprint and len(fingerprint) == 32


def test_the_shared_secret_is_required_only_when_asked(tmp_path: Path) -> None:
    assert load_hmac_secret(tmp_path, required=False) is None
    with pytest.raises(ValueError, match="missing"):
        load_hmac_secret(tmp_path, required=True)
    (tmp_path / HMAC_KEY_FILE).write_text("short\n")
    with pytest.raises(ValueError, match="at least 16 bytes"):
        load_hmac_secret(tmp_path, required=False)
    (tmp_path / HMAC_KEY_FILE).write_text("x" * 32 + "\n")
    assert load_hmac_secret(tmp_path, required=True) == b"x" * 32
