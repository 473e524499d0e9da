from __future__ import annotations

import asyncio
import time

import pytest
from paystream_auth.breaker import BreakerState, NetworkBreakers
from paystream_auth.networks import Network
from purgatory.domain.model import OpenedState


class Boom(Exception):
    pass


async def fail(breakers: NetworkBreakers, network: Network) -> None:
    try:
        async with breakers[network]:
            raise Boom
    except Boom:
        pass


async def succeed(breakers: NetworkBreakers, network: Network) -> None:
    async with breakers[network]:
        pass


def run_breakers(
    scenario: object, threshold: int = 3, reset_seconds: float = 30.0
) -> list[tuple[Network, BreakerState]]:
    transitions: list[tuple[Network, BreakerState]] = []

    async def main() -> None:
        breakers = NetworkBreakers(
            threshold, reset_seconds, lambda n, s: transitions.append((n, s))
        )
        await breakers.initialize()
        await scenario(breakers)  # type: ignore[operator]

    asyncio.run(main())
    return transitions


def test_threshold_consecutive_failures_open_only_that_network() -> None:
    async def scenario(breakers: NetworkBreakers) -> None:
        for _ in range(3):
            await fail(breakers, "visa")
        assert breakers.state("visa") == "open"
        assert breakers.state("amex") == "closed"
        with pytest.raises(OpenedState):
            await succeed(breakers, "visa")

    assert run_breakers(scenario) == [("visa", "open")]


def test_a_success_between_failures_resets_the_count() -> None:
    async def scenario(breakers: NetworkBreakers) -> None:
        for _ in range(10):
            await fail(breakers, "amex")
            await fail(breakers, "amex")
            await succeed(breakers, "amex")
        assert breakers.state("amex") == "closed"

    assert run_breakers(scenario) == []


def test_after_the_reset_time_one_success_closes_the_circuit_again() -> None:
    async def scenario(breakers: NetworkBreakers) -> None:
        for _ in range(3):
            await fail(breakers, "discover")
        time.sleep(0.06)
        await succeed(breakers, "discover")
        assert breakers.state("discover") == "closed"

    transitions = run_breakers(scenario, reset_seconds=0.05)
    assert transitions == [("discover", "open"), ("discover", "half_open"), ("discover", "closed")]


def test_a_failure_while_half_open_reopens_at_once() -> None:
    async def scenario(breakers: NetworkBreakers) -> None:
        for _ in range(3):
            await fail(breakers, "visa")
        time.sleep(0.06)
        await fail(breakers, "visa")
        assert breakers.state("visa") == "open"

    transitions = run_breakers(scenario, reset_seconds=0.05)
    assert transitions == [("visa", "open"), ("visa", "half_open"), ("visa", "open")]


def test_a_cancelled_request_is_not_a_failure() -> None:
    async def scenario(breakers: NetworkBreakers) -> None:
        for _ in range(5):
            task = asyncio.create_task(succeed_slowly(breakers))
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert breakers.state("visa") == "closed"

    async def succeed_slowly(breakers: NetworkBreakers) -> None:
        async with breakers["visa"]:
            await asyncio.sleep(1)

    assert run_breakers(scenario) == []
