"""Reversals of timed-out authorizations: a timeout is an unknown outcome, so it is undone.

After a processor call times out, the network may have authorized it all the same (a hold on the
customer's card). `Reversals.start` sends a reversal for that call in the background: up to
`attempts` tries, each under its own deadline, with a doubling backoff, so the whole is bounded
by `budget_seconds`. While it runs, the request's idempotency key is held for the reversal
(a retry gets 409); a reversal that succeeds frees the key for a fresh attempt; one that finally
fails stores an "unresolved" answer on the key, so the key never authorizes a second time, and is
counted (`paystream_auth_reversals_total{result="failed"}`, alerted, RUNBOOK.md).
See docs/decisions/0100-timeouts-are-reversed-before-the-key-is-freed.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Final

from paystream_auth.faults import FaultState
from paystream_auth.idempotency import IdempotencyStore, StoredResponse, StoreUnavailable
from paystream_auth.logs import JsonLog
from paystream_auth.metrics import ServiceMetrics
from paystream_auth.networks import Network
from paystream_auth.processor import CallPlan, ReversalError, execute_reversal, plan_reversal

FIRST_BACKOFF_SECONDS: Final = 0.1
MAX_BACKOFF_SECONDS: Final = 2.0
# The key's reversal hold outlives the reversal by this much (clock skew, a slow store call).
HOLD_MARGIN_SECONDS: Final = 1.0
# The stored answer of a key whose reversal failed: replayed as a 502, never authorized again.
UNRESOLVED: Final = StoredResponse(502, b"", "unresolved")

HeldKey = tuple[str, bytes]  # (scoped key, fingerprint)


def backoffs(attempts: int) -> list[float]:
    """The waits between attempts: 0.1 s doubling, at most 2 s each."""
    return [min(FIRST_BACKOFF_SECONDS * 2**i, MAX_BACKOFF_SECONDS) for i in range(attempts - 1)]


def budget_seconds(attempts: int, deadline_seconds: float) -> float:
    """The longest a reversal can take: every attempt to its deadline, every backoff."""
    return attempts * deadline_seconds + sum(backoffs(attempts))


@dataclass
class Reversals:
    attempts: int
    deadline_seconds: float
    latency_scale: float
    faults: FaultState
    store: IdempotencyStore
    metrics: ServiceMetrics
    log: JsonLog
    rng: random.Random
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def hold_seconds(self) -> float:
        return budget_seconds(self.attempts, self.deadline_seconds) + HOLD_MARGIN_SECONDS

    def in_progress(self) -> int:
        return len(self._tasks)

    async def start(
        self, network: Network, call: CallPlan, transaction_id: str, key: HeldKey | None
    ) -> None:
        """Hold the key for the reversal (before the 504 leaves), then reverse in the background."""
        if key is not None:
            await self._store("reverse", self.store.reverse(*key, self.hold_seconds))
        task = asyncio.create_task(self._run(network, call, transaction_id, key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, grace_seconds: float) -> None:
        """Shutdown: let reversals finish for `grace_seconds`, then cancel the rest (counted)."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(
        self, network: Network, call: CallPlan, transaction_id: str, key: HeldKey | None
    ) -> None:
        try:
            released = await self._attempts(network, call)
        except asyncio.CancelledError:
            self._finish(network, transaction_id, "failed", call.held, reason="shutdown")
            raise
        if released is None:
            self._finish(network, transaction_id, "failed", call.held, reason="attempts")
            if key is not None:  # the key never authorizes again: its first call may hold
                await self._store("complete", self.store.complete(*key, UNRESOLVED))
            return
        self._finish(network, transaction_id, "reversed" if released else "not_authorized", False)
        if key is not None:
            await self._store("release", self.store.release(*key))

    async def _attempts(self, network: Network, call: CallPlan) -> bool | None:
        """True: a hold released; False: there was none; None: every attempt failed."""
        waits = [*backoffs(self.attempts), 0.0]
        for wait in waits:
            faults = self.faults.effective(time.time()).for_network(network)
            plan = plan_reversal(self.rng, network, faults, self.latency_scale)
            try:
                async with asyncio.timeout(self.deadline_seconds):
                    return await execute_reversal(plan, call)
            except (TimeoutError, ReversalError):
                if wait > 0.0:
                    await asyncio.sleep(wait)
        return None

    def _finish(
        self,
        network: Network,
        transaction_id: str,
        result: str,
        hold_left: bool,
        reason: str | None = None,
    ) -> None:
        self.metrics.reversal(network, result, hold_left)
        if result == "failed":
            self.log.event(
                "reversal.failed",
                level="error",
                network=network,
                transaction_id=transaction_id,
                reason=reason,
            )
        else:
            self.log.event(
                "reversal.done", network=network, transaction_id=transaction_id, result=result
            )

    async def _store(self, operation: str, call: Awaitable[None]) -> None:
        try:
            await call
        except StoreUnavailable as exc:
            # The key's hold (or the first call's claim) then ends with its own lease.
            self.log.event(
                "idempotency.store_unavailable",
                level="error",
                operation=operation,
                reason=exc.reason,
            )
