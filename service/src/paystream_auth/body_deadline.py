"""Deadlines on request bodies: whole within `total_seconds`, never still for `idle_seconds`.

granian times out headers but never a body, so a client that announces 1,000 bytes and sends one
holds its connection (and, after SIGTERM, the process) for as long as it likes. A timer per
request would cost more than the rest of the body read, so one sweeper per worker looks at the
reads in progress every `SWEEP_SECONDS` and cancels the pending `receive()` of a read past either
deadline (granian's receive future supports `cancel`); the read then raises `BodyTimeout`. A
deadline therefore fires up to one sweep late. The hot path pays one small object and a set
insert and remove; the idle check counts chunks instead of reading a clock per chunk.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Final

SWEEP_SECONDS: Final = 0.1


class BodyTimeout(Exception):
    """The body did not arrive in time (total or idle deadline)."""


class BodyRead:
    """One body being read: when it started, how many chunks came, what it waits on."""

    __slots__ = ("chunks", "expired", "pending", "seen_chunks", "started", "still_since")

    def __init__(self, started: float) -> None:
        self.started = started
        self.chunks = 0
        self.pending: Any = None
        self.expired = False
        self.seen_chunks = 0
        self.still_since = started


class BodyDeadlines:
    def __init__(
        self,
        total_seconds: float,
        idle_seconds: float,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.total_seconds = total_seconds
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._reads: set[BodyRead] = set()

    def start(self, started: float) -> BodyRead:
        read = BodyRead(started)
        self._reads.add(read)
        return read

    def finish(self, read: BodyRead) -> None:
        self._reads.discard(read)

    @property
    def in_progress(self) -> int:
        return len(self._reads)

    def sweep(self, now: float | None = None) -> int:
        """Cancel every read past a deadline; return how many were cancelled."""
        now = self._clock() if now is None else now
        expired = 0
        for read in self._reads:
            if read.chunks != read.seen_chunks:
                read.seen_chunks = read.chunks
                read.still_since = now
            late = now - read.started >= self.total_seconds
            if (late or now - read.still_since >= self.idle_seconds) and not read.expired:
                read.expired = True
                # granian's receive future has `cancel`; a plain coroutine (a test client's
                # receive) has not, and the read notices `expired` when it returns.
                cancel = getattr(read.pending, "cancel", None)
                if cancel is not None:
                    cancel()
                expired += 1
        return expired

    async def run(self) -> None:
        """The sweeper: runs until cancelled (the runtime's shutdown)."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            self.sweep()
