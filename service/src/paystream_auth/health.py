"""A recent window of this process's authorizations for `GET /health` (p95 and success rate).

A fixed ring of the last `capacity` results; entries older than `window_seconds` are ignored when
the summary is computed. Recording is three array stores, computing sorts at most `capacity`
floats, and only `/health` pays that.
"""

from __future__ import annotations

import math
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WindowSummary:
    requests: int
    latency_p95_ms: float | None
    success_rate: float | None


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending, non-empty list."""
    rank = max(math.ceil(fraction * len(sorted_values)), 1)
    return sorted_values[rank - 1]


class RecentWindow:
    def __init__(
        self,
        window_seconds: float = 60.0,
        capacity: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_seconds = window_seconds
        self._capacity = capacity
        self._clock = clock
        self._at = array("d", [-math.inf] * capacity)
        self._latency = array("d", [0.0] * capacity)
        self._ok = array("b", [0] * capacity)
        self._next = 0

    def record(self, latency_seconds: float, ok: bool) -> None:
        index = self._next
        self._at[index] = self._clock()
        self._latency[index] = latency_seconds
        self._ok[index] = ok
        self._next = (index + 1) % self._capacity

    def summary(self) -> WindowSummary:
        since = self._clock() - self.window_seconds
        latencies: list[float] = []
        successes = 0
        for index in range(self._capacity):
            if self._at[index] >= since:
                latencies.append(self._latency[index])
                successes += self._ok[index]
        if not latencies:
            return WindowSummary(0, None, None)
        latencies.sort()
        return WindowSummary(
            requests=len(latencies),
            latency_p95_ms=round(percentile(latencies, 0.95) * 1000.0, 3),
            success_rate=round(successes / len(latencies), 6),
        )
