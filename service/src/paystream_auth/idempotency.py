"""Idempotency keys: the store interface and the in-memory LRU + TTL implementation.

Protocol: `claim` a key for a request fingerprint. The answer is one of
- `Fresh`: nobody holds the key; the caller authorizes, then `complete`s (or `release`s on a
  failure, so a retry may try again); a `complete` after the lease stores the answer if the key
  is still free, so an authorization that happened wins over a later attempt;
- `Replay`: the same request already succeeded; return the stored response unchanged;
- `Mismatch`: the key was used with a different body (a client bug: 422);
- `InFlight`: the first request with this key is still running; the caller answers 409 at once
  and never waits (docs/decisions/0055-in-flight-key-is-a-409.md);
- `Reversing`: the first request timed out and its holder turned the claim over to a reversal
  (`reverse`, for at most the seconds it names): 409 until the reversal `release`s the key
  or `complete`s it (docs/decisions/0100-timeouts-are-reversed-before-the-key-is-freed.md).
A claim is held for at most `lease_seconds` (a crashed holder frees the key), an answer for
`ttl_seconds`. A store that cannot answer raises `StoreUnavailable`. The in-memory store is per
process (`make serve`, unit tests); `idempotency_redis.RedisIdempotencyStore` is shared by every
pod and both versions (docs/decisions/0054-shared-idempotency-store.md).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: bytes
    outcome: str


@dataclass(frozen=True, slots=True)
class Fresh:
    pass


@dataclass(frozen=True, slots=True)
class Replay:
    response: StoredResponse


@dataclass(frozen=True, slots=True)
class Mismatch:
    pass


@dataclass(frozen=True, slots=True)
class InFlight:
    pass


@dataclass(frozen=True, slots=True)
class Reversing:
    pass


Claim = Fresh | Replay | Mismatch | InFlight | Reversing


class StoreUnavailable(Exception):
    """The store did not answer in time, or its circuit is open: nothing is known of the key."""

    def __init__(self, reason: str, retry_after_seconds: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_seconds = retry_after_seconds


class IdempotencyStore(Protocol):
    async def claim(self, key: str, fingerprint: bytes) -> Claim: ...

    async def complete(self, key: str, fingerprint: bytes, response: StoredResponse) -> None: ...

    async def release(self, key: str, fingerprint: bytes) -> None: ...

    async def reverse(self, key: str, fingerprint: bytes, hold_seconds: float) -> None: ...


@dataclass(slots=True)
class _Entry:
    fingerprint: bytes
    expires_at: float
    response: StoredResponse | None = None
    reversing: bool = False


class MemoryIdempotencyStore:
    """An LRU of `max_entries` keys: a claim lives `lease_seconds`, an answer `ttl_seconds`."""

    def __init__(
        self,
        max_entries: int,
        ttl_seconds: float,
        lease_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._max_entries = max_entries
        self._ttl_seconds = ttl_seconds
        self._lease_seconds = lease_seconds
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    async def claim(self, key: str, fingerprint: bytes) -> Claim:
        now = self._clock()
        entry = self._entries.get(key)
        if entry is None or entry.expires_at <= now:
            self._insert(key, _Entry(fingerprint, now + self._lease_seconds))
            return Fresh()
        self._entries.move_to_end(key)
        if entry.fingerprint != fingerprint:
            return Mismatch()
        if entry.response is not None:
            return Replay(entry.response)
        return Reversing() if entry.reversing else InFlight()

    async def complete(self, key: str, fingerprint: bytes, response: StoredResponse) -> None:
        """Store the answer on our claim, or on a free key (a claim whose lease ended)."""
        entry = self._held(key, fingerprint)
        now = self._clock()
        if entry is not None:
            entry.response = response
            entry.expires_at = now + self._ttl_seconds
            return
        current = self._entries.get(key)
        if current is None or current.expires_at <= now:
            self._insert(key, _Entry(fingerprint, now + self._ttl_seconds, response))

    async def release(self, key: str, fingerprint: bytes) -> None:
        if self._held(key, fingerprint) is not None:
            del self._entries[key]

    async def reverse(self, key: str, fingerprint: bytes, hold_seconds: float) -> None:
        """Turn our claim (or the free key) into a reversal's hold of `hold_seconds`."""
        now = self._clock()
        entry = self._held(key, fingerprint)
        current = self._entries.get(key)
        if entry is None and current is not None and current.expires_at > now:
            return  # another request holds the key now: nothing of ours to keep
        self._insert(key, _Entry(fingerprint, now + hold_seconds, reversing=True))

    def _held(self, key: str, fingerprint: bytes) -> _Entry | None:
        """The key's live claim (or reversal hold) by this fingerprint, not yet answered."""
        entry = self._entries.get(key)
        if (
            entry is None
            or entry.fingerprint != fingerprint
            or entry.response is not None
            or entry.expires_at <= self._clock()
        ):
            return None
        return entry

    def _insert(self, key: str, entry: _Entry) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
