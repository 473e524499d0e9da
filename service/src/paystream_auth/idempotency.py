"""Idempotency keys: the store interface and the default in-memory LRU + TTL implementation.

Protocol: `claim` a key for a request fingerprint. The answer is one of
- `Fresh`: nobody holds the key; the caller authorizes, then `complete`s (or `release`s on a
  failure, so a retry may try again);
- `Replay`: the same request already succeeded; return the stored response unchanged;
- `Mismatch`: the key was used with a different body (a client bug: 422).
A claim for a key whose first request is still in flight waits for it, so two concurrent
retries never authorize twice. The in-memory store is per process: see DESIGN.md for what a
deployment with several workers or replicas needs (a shared store behind this same interface).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
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


Claim = Fresh | Replay | Mismatch


class IdempotencyStore(Protocol):
    async def claim(self, key: str, fingerprint: bytes) -> Claim: ...

    async def complete(self, key: str, fingerprint: bytes, response: StoredResponse) -> None: ...

    async def release(self, key: str, fingerprint: bytes) -> None: ...


@dataclass(slots=True)
class _Entry:
    fingerprint: bytes
    expires_at: float
    response: StoredResponse | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class MemoryIdempotencyStore:
    """An LRU of at most `max_entries` keys, each kept `ttl_seconds` after its first use."""

    def __init__(
        self,
        max_entries: int,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._max_entries = max_entries
        self._ttl_seconds = ttl_seconds
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    async def claim(self, key: str, fingerprint: bytes) -> Claim:
        while True:
            now = self._clock()
            entry = self._entries.get(key)
            if entry is None or entry.expires_at <= now:
                self._insert(key, _Entry(fingerprint, now + self._ttl_seconds))
                return Fresh()
            self._entries.move_to_end(key)
            if entry.fingerprint != fingerprint:
                return Mismatch()
            if entry.response is not None:
                return Replay(entry.response)
            # The first request with this key is still running: wait for its answer, then look
            # again (it may have completed, or been released after a failure).
            await entry.done.wait()

    async def complete(self, key: str, fingerprint: bytes, response: StoredResponse) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry.fingerprint == fingerprint and entry.response is None:
            entry.response = response
            entry.done.set()

    async def release(self, key: str, fingerprint: bytes) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry.fingerprint == fingerprint and entry.response is None:
            del self._entries[key]
            entry.done.set()

    def _insert(self, key: str, entry: _Entry) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            _, evicted = self._entries.popitem(last=False)
            evicted.done.set()
