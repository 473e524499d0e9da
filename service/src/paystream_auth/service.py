"""The authorization flow, independent of the web framework.

validate -> idempotency claim -> breaker -> simulated processor under the deadline -> answer,
with one metric update, one window sample and one log line per request. Errors are `Problem`s
(rendered as problem+json by the app); a decline is a 200 answer, never a failure.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

import msgspec
from purgatory.domain.model import OpenedState

from paystream_auth.breaker import NetworkBreakers
from paystream_auth.deadline import within
from paystream_auth.faults import FaultState
from paystream_auth.health import RecentWindow
from paystream_auth.idempotency import (
    IdempotencyStore,
    InFlight,
    Mismatch,
    Replay,
    StoredResponse,
    StoreUnavailable,
)
from paystream_auth.idempotency_hmac import IdempotencyHasher
from paystream_auth.logs import JsonLog
from paystream_auth.metrics import ServiceMetrics
from paystream_auth.networks import FAILURE_OUTCOMES, UNKNOWN_NETWORK, Network, Outcome
from paystream_auth.problems import Problem
from paystream_auth.processor import ProcessorError, execute, plan_call
from paystream_auth.test_cards import is_test_card
from paystream_auth.validation import (
    AuthorizeRequest,
    CardProblem,
    check_idempotency_key,
    decode_authorize,
)


class AuthorizeResponse(msgspec.Struct, frozen=True, omit_defaults=True):
    transaction_id: str
    status: Literal["approved", "declined"]
    network: Network
    amount: int
    currency: str
    version: str
    processing_ms: float
    authorization_code: str | None = None
    decline_code: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    status_code: int
    body: bytes
    outcome: Outcome
    headers: dict[str, str] = field(default_factory=dict)


_ENCODER: Final = msgspec.json.Encoder()
REPLAY_HEADER: Final = "Idempotent-Replayed"
# How long an answer the store could not take is offered to it again (decision 0056).
LATE_COMPLETE_SECONDS: Final = 300.0
_STORED_OUTCOMES: Final[dict[str, Outcome]] = {"approved": "approved", "declined": "declined"}


def new_transaction_id() -> str:
    # Unique across workers and restarts even when the simulator is seeded.
    return "txn_" + os.urandom(12).hex()


@dataclass
class AuthorizationService:
    version: str
    deadline_seconds: float
    latency_scale: float
    faults: FaultState
    breakers: NetworkBreakers
    idempotency: IdempotencyStore
    hasher: IdempotencyHasher
    metrics: ServiceMetrics
    window: RecentWindow
    log: JsonLog
    rng: random.Random
    processor_key: Callable[[], str | None]
    clock: Callable[[], float] = time.perf_counter
    _late_completes: set[asyncio.Task[None]] = field(default_factory=set)

    def _record(
        self,
        network: str,
        outcome: Outcome,
        status: int,
        started: float,
        transaction_id: str | None = None,
        merchant_id: str | None = None,
        replay: bool = False,
        synthetic: bool = False,
    ) -> float:
        elapsed = self.clock() - started
        self.metrics.count(network, outcome)
        if synthetic:
            self.metrics.count_synthetic(network, outcome)
        if outcome != "invalid":
            self.metrics.observe(network, elapsed)
            self.window.record(elapsed, outcome not in FAILURE_OUTCOMES)
        self.log.request(
            transaction_id=transaction_id,
            network=network,
            outcome=outcome,
            status=status,
            latency_seconds=elapsed,
            merchant_id=merchant_id,
            replay=replay,
        )
        return elapsed

    def reject(self, problem: Problem, started: float, network: str = UNKNOWN_NETWORK) -> Problem:
        """Count and log a request refused before authorization (400/413/415/422)."""
        self._record(network, "invalid", problem.status, started)
        return problem

    async def authorize(self, body: bytes, idempotency_key: str | None, started: float) -> Reply:
        try:
            if idempotency_key is not None:
                check_idempotency_key(idempotency_key)
            request, network = decode_authorize(body)
        except CardProblem as problem:
            raise self.reject(problem, started, problem.network) from None
        except Problem as problem:
            raise self.reject(problem, started) from None
        if idempotency_key is None:
            return await self._authorize(request, network, started)
        return await self._authorize_once(request, network, idempotency_key, started)

    async def _authorize_once(
        self, request: AuthorizeRequest, network: Network, key: str, started: float
    ) -> Reply:
        scoped = self.hasher.scoped_key(request.merchant_id, key)
        fingerprint = self.hasher.fingerprint(_ENCODER.encode(request))
        try:
            claim = await self.idempotency.claim(scoped, fingerprint)
        except StoreUnavailable as exc:
            raise self._store_unavailable("claim", exc) from None
        if isinstance(claim, Mismatch):
            self.metrics.idempotency_rejected("mismatch")
            raise self.reject(
                Problem(
                    status=422,
                    slug="idempotency-key-reused",
                    detail="this Idempotency-Key was already used with a different request body",
                    field="Idempotency-Key",
                ),
                started,
                network,
            )
        if isinstance(claim, InFlight):
            # Answer at once, never wait: see docs/decisions/0055-in-flight-key-is-a-409.md.
            self.metrics.idempotency_rejected("in_flight")
            raise self.reject(
                Problem(
                    status=409,
                    slug="idempotency-key-in-flight",
                    detail="a request with this Idempotency-Key is still being processed; "
                    "retry after the time in Retry-After",
                    field="Idempotency-Key",
                    headers={"Retry-After": str(max(1, math.ceil(self.deadline_seconds)))},
                ),
                started,
                network,
            )
        if isinstance(claim, Replay):
            stored = claim.response
            outcome = _STORED_OUTCOMES.get(stored.outcome, "approved")
            self._record(
                network,
                outcome,
                stored.status_code,
                started,
                None,
                request.merchant_id,
                replay=True,
                synthetic=is_test_card(request.card_number),
            )
            return Reply(stored.status_code, stored.body, outcome, {REPLAY_HEADER: "true"})
        try:
            reply = await self._authorize(request, network, started)
        except BaseException:
            # A failure (timeout, processor error, open circuit) is not an answer: a retry
            # with the same key may try again.
            try:
                await self.idempotency.release(scoped, fingerprint)
            except StoreUnavailable as exc:  # the claim then ends with its lease: retries see 409
                self._store_error("release", exc)
            raise
        stored = StoredResponse(reply.status_code, reply.body, reply.outcome)
        try:
            await self.idempotency.complete(scoped, fingerprint, stored)
        except StoreUnavailable as exc:
            # The card is authorized: the caller gets the answer, and the store gets it as soon
            # as it is back (docs/decisions/0056-idempotency-store-failure-is-a-503.md).
            self._store_error("complete", exc)
            task = asyncio.create_task(self._complete_later(scoped, fingerprint, stored))
            self._late_completes.add(task)
            task.add_done_callback(self._late_completes.discard)
        return reply

    async def _complete_later(self, key: str, fingerprint: bytes, stored: StoredResponse) -> None:
        give_up_at = time.monotonic() + LATE_COMPLETE_SECONDS
        delay = 0.1
        while time.monotonic() < give_up_at:
            await asyncio.sleep(delay)
            try:
                await self.idempotency.complete(key, fingerprint, stored)
            except StoreUnavailable:
                delay = min(delay * 2, 2.0)
                continue
            self.log.event("idempotency.completed_late")
            return
        self.log.event("idempotency.complete_abandoned", level="error")

    def _store_error(self, operation: str, exc: StoreUnavailable) -> None:
        self.log.event(
            "idempotency.store_unavailable", level="error", operation=operation, reason=exc.reason
        )

    def _store_unavailable(self, operation: str, exc: StoreUnavailable) -> Problem:
        """No dedup guarantee, so no authorization: 503, the caller retries with the same key."""
        self._store_error(operation, exc)
        self.metrics.idempotency_rejected("store_unavailable")
        return Problem(
            status=503,
            slug="idempotency-store-unavailable",
            detail="the idempotency store is unavailable, so a request with an Idempotency-Key "
            "cannot be processed safely; nothing was authorized, retry with the same key",
            headers={"Retry-After": str(exc.retry_after_seconds)},
        )

    async def _authorize(
        self, request: AuthorizeRequest, network: Network, started: float
    ) -> Reply:
        transaction_id = new_transaction_id()
        synthetic = is_test_card(request.card_number)
        merchant_id = request.merchant_id
        if self.processor_key() is None:
            self._record(
                network,
                "processor_error",
                503,
                started,
                transaction_id,
                merchant_id,
                synthetic=synthetic,
            )
            raise Problem(
                status=503,
                slug="not-ready",
                detail="the processor credentials are not loaded yet",
                headers={"Retry-After": "1"},
            )
        faults = self.faults.effective(time.time()).for_network(network)
        plan = plan_call(self.rng, network, faults, self.latency_scale)
        breaker = self.breakers[network]
        try:
            async with breaker:
                result = await within(self.deadline_seconds, execute(plan))
        except OpenedState as exc:
            # purgatory raises the same exception object on every rejection; drop the traceback
            # it accumulates (5 frames per raise) so an outage does not grow memory.
            exc.__traceback__ = None
            retry_after = _retry_after(breaker)
            self._record(
                network,
                "circuit_open",
                503,
                started,
                transaction_id,
                merchant_id,
                synthetic=synthetic,
            )
            raise Problem(
                status=503,
                slug="circuit-open",
                detail=f"the {network} circuit is open after repeated failures; retry later",
                headers={"Retry-After": str(retry_after)},
            ) from None
        except TimeoutError:
            self._record(
                network, "timeout", 504, started, transaction_id, merchant_id, synthetic=synthetic
            )
            raise Problem(
                status=504,
                slug="processor-timeout",
                detail=f"the {network} network did not answer within "
                f"{self.deadline_seconds * 1000:.0f} ms",
            ) from None
        except ProcessorError:
            self._record(
                network,
                "processor_error",
                502,
                started,
                transaction_id,
                merchant_id,
                synthetic=synthetic,
            )
            raise Problem(
                status=502,
                slug="processor-error",
                detail=f"the {network} network returned an error",
            ) from None
        status: Literal["approved", "declined"] = (
            "approved" if result.kind == "approve" else "declined"
        )
        outcome: Outcome = status
        elapsed = self._record(
            network, outcome, 200, started, transaction_id, merchant_id, synthetic=synthetic
        )
        body = _ENCODER.encode(
            AuthorizeResponse(
                transaction_id=transaction_id,
                status=status,
                network=network,
                amount=request.amount,
                currency=request.currency,
                version=self.version,
                processing_ms=round(elapsed * 1000.0, 3),
                authorization_code=result.authorization_code,
                decline_code=result.decline_code,
            )
        )
        return Reply(200, body, outcome)


def _retry_after(breaker: object) -> int:
    context = getattr(breaker, "context", None)
    opened_at = getattr(context, "opened_at", None)
    ttl = getattr(context, "ttl", None)
    if not isinstance(opened_at, float) or not isinstance(ttl, int | float):
        return 1
    return max(1, math.ceil(opened_at + ttl - time.time()))
