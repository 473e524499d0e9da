"""The authorization flow, independent of the web framework.

validate -> idempotency claim -> breaker -> simulated processor under the deadline -> answer,
with exactly one outcome (one metric update, one window sample, one log line) per request, an
unexpected exception included (docs/decisions/0070-every-request-has-one-outcome.md). Errors are
`Problem`s (rendered as problem+json by the app); a decline is a 200 answer, never a failure.
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
from paystream_auth.faults import FaultState, InjectedFault
from paystream_auth.health import RecentWindow
from paystream_auth.idempotency import (
    IdempotencyStore,
    InFlight,
    Mismatch,
    Replay,
    Reversing,
    StoredResponse,
    StoreUnavailable,
)
from paystream_auth.idempotency_hmac import IdempotencyHasher
from paystream_auth.logs import JsonLog
from paystream_auth.metrics import ServiceMetrics
from paystream_auth.networks import FAILURE_OUTCOMES, UNKNOWN_NETWORK, Network, Outcome
from paystream_auth.problems import Problem
from paystream_auth.processor import ProcessorError, execute, plan_call
from paystream_auth.reversal import UNRESOLVED, HeldKey, Reversals
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


@dataclass(slots=True)
class Call:
    """One request in flight: when it started and whether its outcome is counted yet."""

    started: float
    network: str = UNKNOWN_NETWORK
    counted: bool = False
    synthetic: bool = False  # a published test card: synthetic load (decision 0091)


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
TIMEOUT_SLUG: Final = "processor-timeout"


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
    reversals: Reversals
    clock: Callable[[], float] = time.perf_counter
    _late_completes: set[asyncio.Task[None]] = field(default_factory=set)

    def _record(
        self,
        call: Call,
        network: str,
        outcome: Outcome,
        status: int,
        transaction_id: str | None = None,
        merchant_id: str | None = None,
        replay: bool = False,
    ) -> float:
        elapsed = self.clock() - call.started
        if call.counted:  # never a second outcome for one request
            return elapsed
        call.counted = True
        self.metrics.count(network, outcome)
        if call.synthetic:
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
        return self._reject(Call(started), problem, network)

    def _reject(self, call: Call, problem: Problem, network: str = UNKNOWN_NETWORK) -> Problem:
        self._record(call, network, "invalid", problem.status)
        return problem

    def unexpected(self, call: Call, exc: BaseException) -> Problem:
        """Count an exception nobody expected as `unexpected_error`: a 500 that names nothing.

        The log line carries the exception's type only (its message could hold request data).
        """
        self._record(call, call.network, "unexpected_error", 500)
        self.log.event(
            "unhandled_error", level="error", error=type(exc).__name__, network=call.network
        )
        return Problem(status=500, slug="internal-error", detail="an unexpected error occurred")

    async def authorize(self, body: bytes, idempotency_key: str | None, started: float) -> Reply:
        call = Call(started)
        try:
            return await self._authorize_request(call, body, idempotency_key)
        except Problem:
            raise
        except asyncio.CancelledError as exc:
            # Cancelled from outside (the worker stopping): still one outcome, then re-raised.
            self.unexpected(call, exc)
            raise
        except Exception as exc:
            raise self.unexpected(call, exc) from None

    async def _authorize_request(
        self, call: Call, body: bytes, idempotency_key: str | None
    ) -> Reply:
        try:
            if idempotency_key is not None:
                check_idempotency_key(idempotency_key)
            request, network = decode_authorize(body)
        except CardProblem as problem:
            raise self._reject(call, problem, problem.network) from None
        except Problem as problem:
            raise self._reject(call, problem) from None
        call.network = network
        call.synthetic = is_test_card(request.card_number)
        if idempotency_key is None:
            return await self._authorize(call, request, network)
        return await self._authorize_once(call, request, network, idempotency_key)

    async def _authorize_once(
        self, call: Call, request: AuthorizeRequest, network: Network, key: str
    ) -> Reply:
        scoped = self.hasher.scoped_key(request.merchant_id, key)
        fingerprint = self.hasher.fingerprint(_ENCODER.encode(request))
        try:
            claim = await self.idempotency.claim(scoped, fingerprint)
        except StoreUnavailable as exc:
            raise self._store_unavailable(call, network, "claim", exc) from None
        if isinstance(claim, Mismatch):
            self.metrics.idempotency_rejected("mismatch")
            raise self._reject(
                call,
                Problem(
                    status=422,
                    slug="idempotency-key-reused",
                    detail="this Idempotency-Key was already used with a different request body",
                    field="Idempotency-Key",
                ),
                network,
            )
        if isinstance(claim, InFlight):
            # Answer at once, never wait: see docs/decisions/0055-in-flight-key-is-a-409.md.
            self.metrics.idempotency_rejected("in_flight")
            raise self._reject(
                call,
                Problem(
                    status=409,
                    slug="idempotency-key-in-flight",
                    detail="a request with this Idempotency-Key is still being processed; "
                    "retry after the time in Retry-After",
                    field="Idempotency-Key",
                    headers={"Retry-After": str(max(1, math.ceil(self.deadline_seconds)))},
                ),
                network,
            )
        if isinstance(claim, Reversing):
            raise self._reject(call, self._reversing(), network)
        if isinstance(claim, Replay) and claim.response.outcome == UNRESOLVED.outcome:
            raise self._unresolved(call, network)
        if isinstance(claim, Replay):
            stored = claim.response
            outcome = _STORED_OUTCOMES.get(stored.outcome, "approved")
            self._record(
                call, network, outcome, stored.status_code, None, request.merchant_id, True
            )
            return Reply(stored.status_code, stored.body, outcome, {REPLAY_HEADER: "true"})
        try:
            reply = await self._authorize(call, request, network, (scoped, fingerprint))
        except Problem as problem:
            if problem.slug != TIMEOUT_SLUG:  # after a timeout the reversal holds the key
                await self._release(scoped, fingerprint)
            raise
        except BaseException:
            await self._release(scoped, fingerprint)
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

    async def _release(self, key: str, fingerprint: bytes) -> None:
        """A failure (processor error, open circuit) is not an answer: a retry may try again."""
        try:
            await self.idempotency.release(key, fingerprint)
        except StoreUnavailable as exc:  # the claim then ends with its lease: retries see 409
            self._store_error("release", exc)

    def _reversing(self) -> Problem:
        # docs/decisions/0100-timeouts-are-reversed-before-the-key-is-freed.md
        self.metrics.idempotency_rejected("reversing")
        return Problem(
            status=409,
            slug="idempotency-key-reversing",
            detail="the previous request with this Idempotency-Key timed out and is being "
            "reversed; retry after the time in Retry-After",
            field="Idempotency-Key",
            headers={"Retry-After": str(max(1, math.ceil(self.reversals.deadline_seconds)))},
        )

    def _unresolved(self, call: Call, network: Network) -> Problem:
        self._record(call, network, "processor_error", 502)
        return Problem(
            status=502,
            slug="authorization-unresolved",
            detail="the first request with this Idempotency-Key timed out and could not be "
            "reversed; this key will not authorize again",
            field="Idempotency-Key",
        )

    async def close(self, grace_seconds: float) -> None:
        """Shutdown: reversals and late completes get `grace_seconds` in all, then are cancelled."""
        started = time.monotonic()
        await self.reversals.close(grace_seconds)
        late = set(self._late_completes)
        if late:
            left = max(0.0, grace_seconds - (time.monotonic() - started))
            _, pending = await asyncio.wait(late, timeout=left)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

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

    def _store_unavailable(
        self, call: Call, network: Network, operation: str, exc: StoreUnavailable
    ) -> Problem:
        """No dedup guarantee, so no authorization: 503, the caller retries with the same key.

        A failure the customer sees, so the outcome `idempotency_unavailable` (decision 0071).
        """
        self._record(call, network, "idempotency_unavailable", 503)
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
        self,
        call: Call,
        request: AuthorizeRequest,
        network: Network,
        key: HeldKey | None = None,
    ) -> Reply:
        transaction_id = new_transaction_id()
        merchant_id = request.merchant_id
        if self.processor_key() is None:
            self._record(call, network, "processor_error", 503, transaction_id, merchant_id)
            raise Problem(
                status=503,
                slug="not-ready",
                detail="the processor credentials are not loaded yet",
                headers={"Retry-After": "1"},
            )
        faults = self.faults.effective(time.time()).for_network(network)
        plan = plan_call(self.rng, network, faults, self.latency_scale)
        if plan.kind == "raise":  # a release's own bug, outside the breaker: see faults.py
            raise InjectedFault(network)
        breaker = self.breakers[network]
        try:
            async with breaker:
                result = await within(self.deadline_seconds, execute(plan))
        except OpenedState as exc:
            # purgatory raises the same exception object on every rejection; drop the traceback
            # it accumulates (5 frames per raise) so an outage does not grow memory.
            exc.__traceback__ = None
            retry_after = _retry_after(breaker)
            self._record(call, network, "circuit_open", 503, transaction_id, merchant_id)
            raise Problem(
                status=503,
                slug="circuit-open",
                detail=f"the {network} circuit is open after repeated failures; retry later",
                headers={"Retry-After": str(retry_after)},
            ) from None
        except TimeoutError:
            self._record(call, network, "timeout", 504, transaction_id, merchant_id)
            # An unknown outcome: the network may have authorized it. Reverse it (and hold the
            # key until then): docs/decisions/0100-timeouts-are-reversed-before-the-key-is-freed.md
            await self.reversals.start(network, plan, transaction_id, key)
            raise Problem(
                status=504,
                slug=TIMEOUT_SLUG,
                detail=f"the {network} network did not answer within "
                f"{self.deadline_seconds * 1000:.0f} ms",
            ) from None
        except ProcessorError:
            self._record(call, network, "processor_error", 502, transaction_id, merchant_id)
            raise Problem(
                status=502,
                slug="processor-error",
                detail=f"the {network} network returned an error",
            ) from None
        status: Literal["approved", "declined"] = (
            "approved" if result.kind == "approve" else "declined"
        )
        outcome: Outcome = status
        elapsed = self._record(call, network, outcome, 200, transaction_id, merchant_id)
        if key is not None and status == "approved":
            self.metrics.keyed_approval(network)
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
