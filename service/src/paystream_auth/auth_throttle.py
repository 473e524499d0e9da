"""Failed admin authentications: throttled per source, logged as one count per interval.

Without it a client could try 55,000 tokens in 5 s, each failure its own audit line. A source (the
peer address the worker sees) that fails `MAX_FAILURES` times within `WINDOW_SECONDS` is locked
out for `LOCKOUT_SECONDS`: its requests get the same 401 problem (with `Retry-After`) without the
token being compared at all, so guessing stops paying off. Failures, locked or not, are counted
per source and the runtime writes one audit line per source every `LOG_INTERVAL_SECONDS`.
State is per worker and bounded (`MAX_SOURCES`, least recently seen dropped first). Pure: the
caller passes the time.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

MAX_FAILURES: Final = 10
WINDOW_SECONDS: Final = 60.0
LOCKOUT_SECONDS: Final = 60.0
LOG_INTERVAL_SECONDS: Final = 10.0
MAX_SOURCES: Final = 10_000


@dataclass
class _Source:
    window_started: float
    failures: int = 0
    locked_until: float = 0.0
    unlogged: int = 0


@dataclass(frozen=True)
class FailureCount:
    """What one audit line says: a source, its failures since the last line, and its lockout."""

    source: str
    failures: int
    locked: bool


class AuthThrottle:
    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_seconds: float = WINDOW_SECONDS,
        lockout_seconds: float = LOCKOUT_SECONDS,
        max_sources: int = MAX_SOURCES,
    ) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.lockout_seconds = lockout_seconds
        self.max_sources = max_sources
        self._sources: OrderedDict[str, _Source] = OrderedDict()

    def retry_after(self, source: str, now: float) -> int | None:
        """Whole seconds until `source` may try again, or None when it is not locked out."""
        state = self._sources.get(source)
        if state is None or now >= state.locked_until:
            return None
        return max(1, math.ceil(state.locked_until - now))

    def failed(self, source: str, now: float) -> None:
        state = self._sources.get(source)
        if state is None:
            if len(self._sources) >= self.max_sources:
                self._sources.popitem(last=False)
            state = self._sources[source] = _Source(window_started=now)
        else:
            self._sources.move_to_end(source)
        state.unlogged += 1
        if now >= state.locked_until:
            if now - state.window_started >= self.window_seconds:
                state.window_started, state.failures = now, 0
            state.failures += 1
            if state.failures >= self.max_failures:
                state.locked_until = now + self.lockout_seconds
                state.window_started, state.failures = state.locked_until, 0

    def succeeded(self, source: str) -> None:
        state = self._sources.get(source)
        if state is not None and state.unlogged == 0:
            del self._sources[source]
        elif state is not None:
            state.failures = 0

    def take_counts(self, now: float) -> list[FailureCount]:
        """Every source's failures since the last call (for the audit log), and forget idle ones."""
        counts: list[FailureCount] = []
        for source, state in list(self._sources.items()):
            if state.unlogged:
                counts.append(FailureCount(source, state.unlogged, now < state.locked_until))
                state.unlogged = 0
            elif now >= state.locked_until and now - state.window_started >= self.window_seconds:
                del self._sources[source]
        return counts
