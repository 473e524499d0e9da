"""One purgatory circuit breaker per network, in this process.

The breaker counts consecutive failures (processor errors and timeouts); a decline is a normal
return and resets the count. State is per process: with N granian workers a network needs up to
N x threshold failures to open everywhere (DESIGN.md explains why that is acceptable).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final, Literal

from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.messages.events import ContextChanged

from paystream_auth.networks import NETWORKS, Network

BreakerState = Literal["closed", "half_open", "open"]
BREAKER_STATES: Final[tuple[BreakerState, ...]] = ("closed", "half_open", "open")
STATE_VALUES: Final[dict[BreakerState, int]] = {"closed": 0, "half_open": 1, "open": 2}
_FROM_PURGATORY: Final[dict[str, BreakerState]] = {
    "closed": "closed",
    "half-opened": "half_open",
    "opened": "open",
}

_BY_NAME: Final[dict[str, Network]] = {network: network for network in NETWORKS}

TransitionHook = Callable[[Network, BreakerState], None]


class NetworkBreakers:
    """Builds the breakers once at start-up and hands out the same object for every request.

    purgatory's ``get_breaker`` goes through its unit of work and message bus on every call; with
    the in-memory unit of work it always returns the same context, so fetching it once per
    network is equivalent and keeps that work off the request path.
    """

    def __init__(self, threshold: int, reset_seconds: float, on_transition: TransitionHook) -> None:
        # A cancelled request (client gone, shutdown) says nothing about the processor.
        self._factory = AsyncCircuitBreakerFactory(
            default_threshold=threshold,
            default_ttl=reset_seconds,
            exclude=[asyncio.CancelledError],
        )
        self._factory.add_listener(self._on_event)
        self._on_transition = on_transition
        self._breakers: dict[str, Any] = {}

    async def initialize(self) -> None:
        await self._factory.initialize()
        for network in NETWORKS:
            self._breakers[network] = await self._factory.get_breaker(network)

    def __getitem__(self, network: Network) -> Any:
        return self._breakers[network]

    def state(self, network: Network) -> BreakerState:
        breaker = self._breakers.get(network)
        if breaker is None:
            return "closed"
        return _FROM_PURGATORY.get(breaker.context.state, "closed")

    def states(self) -> dict[Network, BreakerState]:
        return {network: self.state(network) for network in NETWORKS}

    def _on_event(self, name: str, event_type: str, event: object) -> None:
        if event_type == "state_changed" and isinstance(event, ContextChanged):
            state = _FROM_PURGATORY.get(event.state)
            network = _BY_NAME.get(name)
            if state is not None and network is not None:
                self._on_transition(network, state)
