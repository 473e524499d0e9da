"""The simulated card-network processor: a pure planner and a thin async executor.

`plan_call` decides, from a random source, what one call will do (latency, approve, decline,
error or hang); `execute` then acts it out on the event loop. Keeping the decision pure makes the
distribution testable without sleeping, and the executor behaves like a real remote call: a hung
call never returns on its own, so only the caller's deadline ends it.

A hung call is an unknown outcome, as at a real network: `held` says whether the network
authorized it all the same (a hold on the card only a reversal clears). The service never reads
`held`; only the simulated network's reversal answer and the lab's ground truth do
(docs/decisions/0100-timeouts-are-reversed-before-the-key-is-freed.md).
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple

from paystream_auth.faults import NetworkFaults
from paystream_auth.networks import Network

DEFAULT_DECLINE_RATE: Final = 0.06
# Weighted like real issuer responses: most declines are for funds or a generic refusal.
DECLINE_CODES: Final = (
    "insufficient_funds",
    "insufficient_funds",
    "insufficient_funds",
    "do_not_honor",
    "do_not_honor",
    "expired_card",
    "card_velocity_exceeded",
    "restricted_card",
)


@dataclass(frozen=True)
class LatencyModel:
    """Log-normal latency in milliseconds, clamped to [floor_ms, cap_ms]."""

    median_ms: float
    sigma: float
    floor_ms: float
    cap_ms: float

    @property
    def mu(self) -> float:
        return math.log(self.median_ms)


# A few ms to tens of ms; Amex is a little slower, as its network is in real life.
LATENCY_MODELS: Final[dict[Network, LatencyModel]] = {
    "visa": LatencyModel(median_ms=6.0, sigma=0.45, floor_ms=1.0, cap_ms=60.0),
    "mastercard": LatencyModel(median_ms=7.0, sigma=0.45, floor_ms=1.0, cap_ms=60.0),
    "amex": LatencyModel(median_ms=12.0, sigma=0.5, floor_ms=2.0, cap_ms=90.0),
    "discover": LatencyModel(median_ms=9.0, sigma=0.5, floor_ms=1.0, cap_ms=80.0),
}

# `raise`: the service itself throws (fault `exception_rate`), before calling the network.
CallKind = Literal["approve", "decline", "error", "hang", "raise"]


class CallPlan(NamedTuple):
    """Immutable and cheap to build (a frozen dataclass costs ~0.5 us more per request)."""

    kind: CallKind
    latency_seconds: float
    decline_code: str | None = None
    authorization_code: str | None = None
    held: bool = False


class ProcessorError(Exception):
    """The card network answered with an error (a failure, counted by the breaker)."""


def plan_call(
    rng: random.Random, network: Network, faults: NetworkFaults | None, latency_scale: float
) -> CallPlan:
    """What one processor call does. Pure given `rng`; every latency is scaled."""
    model = LATENCY_MODELS[network]
    # log-normal via `gauss` (Box-Muller, caches its second value): 4x cheaper than
    # `lognormvariate`, same distribution.
    latency_ms = min(
        max(math.exp(model.mu + model.sigma * rng.gauss()), model.floor_ms), model.cap_ms
    )
    timeout_rate = error_rate = exception_rate = held_rate = 0.0
    decline_rate = DEFAULT_DECLINE_RATE
    if faults is not None:
        latency_ms += faults.added_latency_ms
        if faults.slow_rate > 0.0 and rng.random() < faults.slow_rate:
            latency_ms += faults.slow_latency_ms
        timeout_rate = faults.timeout_rate
        held_rate = faults.timeout_authorized_rate
        error_rate = faults.error_rate
        exception_rate = faults.exception_rate
        if faults.decline_rate is not None:
            decline_rate = faults.decline_rate
    latency_seconds = latency_ms * latency_scale / 1000.0
    draw = rng.random()
    if draw < timeout_rate:
        held = held_rate > 0.0 and rng.random() < held_rate
        return CallPlan("hang", latency_seconds, held=held)
    if draw < timeout_rate + error_rate:
        return CallPlan("error", latency_seconds)
    if draw < timeout_rate + error_rate + exception_rate:  # one draw: other runs keep their seeds
        return CallPlan("raise", latency_seconds)
    if rng.random() < decline_rate:
        return CallPlan("decline", latency_seconds, decline_code=rng.choice(DECLINE_CODES))
    return CallPlan("approve", latency_seconds, None, f"{rng.getrandbits(24):06X}")


async def execute(plan: CallPlan) -> CallPlan:
    """Act the plan out: wait its latency, then answer, raise, or hang until cancelled."""
    if plan.kind == "hang":
        # A hung processor never answers: wait on a future nobody completes, so the caller's
        # deadline (asyncio.timeout) is what ends the request, exactly as with a real socket.
        await asyncio.get_running_loop().create_future()
    if plan.latency_seconds > 0.0:
        await asyncio.sleep(plan.latency_seconds)
    if plan.kind == "error":
        raise ProcessorError("processor returned an error")
    return plan


ReversalKind = Literal["done", "error", "hang"]


class ReversalPlan(NamedTuple):
    kind: ReversalKind
    latency_seconds: float


class ReversalError(Exception):
    """The network refused or failed the reversal; the caller retries it."""


def plan_reversal(
    rng: random.Random, network: Network, faults: NetworkFaults | None, latency_scale: float
) -> ReversalPlan:
    """What one reversal attempt does: the network's usual latency, then its reversal faults."""
    model = LATENCY_MODELS[network]
    latency_ms = min(
        max(math.exp(model.mu + model.sigma * rng.gauss()), model.floor_ms), model.cap_ms
    )
    timeout_rate = error_rate = 0.0
    if faults is not None:
        latency_ms += faults.reversal_latency_ms
        timeout_rate = faults.reversal_timeout_rate
        error_rate = faults.reversal_error_rate
    latency_seconds = latency_ms * latency_scale / 1000.0
    draw = rng.random()
    if draw < timeout_rate:
        return ReversalPlan("hang", latency_seconds)
    if draw < timeout_rate + error_rate:
        return ReversalPlan("error", latency_seconds)
    return ReversalPlan("done", latency_seconds)


async def execute_reversal(plan: ReversalPlan, call: CallPlan) -> bool:
    """Act a reversal out; True when it released a hold, False when there was none to release."""
    if plan.kind == "hang":
        await asyncio.get_running_loop().create_future()
    if plan.latency_seconds > 0.0:
        await asyncio.sleep(plan.latency_seconds)
    if plan.kind == "error":
        raise ReversalError("the network failed the reversal")
    return call.held
