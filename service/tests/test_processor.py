from __future__ import annotations

import asyncio
import random
import time

import pytest
from paystream_auth.faults import NetworkFaults
from paystream_auth.processor import (
    DEFAULT_DECLINE_RATE,
    LATENCY_MODELS,
    CallPlan,
    ProcessorError,
    ReversalError,
    ReversalPlan,
    execute,
    execute_reversal,
    plan_call,
    plan_reversal,
)

N = 20_000


def plans(faults: NetworkFaults | None, scale: float = 1.0) -> list[CallPlan]:
    rng = random.Random(7)
    return [plan_call(rng, "visa", faults, scale) for _ in range(N)]


def share(items: list[CallPlan], kind: str) -> float:
    return sum(plan.kind == kind for plan in items) / len(items)


def test_default_declines_are_about_six_percent_and_nothing_fails() -> None:
    result = plans(None)
    assert abs(share(result, "decline") - DEFAULT_DECLINE_RATE) < 0.01
    assert share(result, "hang") == share(result, "error") == share(result, "raise") == 0.0


def test_default_latency_is_a_few_to_tens_of_milliseconds() -> None:
    latencies = sorted(plan.latency_seconds for plan in plans(None))
    assert 0.004 < latencies[N // 2] < 0.009
    assert latencies[-1] <= LATENCY_MODELS["visa"].cap_ms / 1000


def test_fault_rates_are_respected() -> None:
    result = plans(NetworkFaults(timeout_rate=0.03, error_rate=0.05, decline_rate=0.5))
    assert abs(share(result, "hang") - 0.03) < 0.006
    assert abs(share(result, "error") - 0.05) < 0.008
    answered = [plan for plan in result if plan.kind in ("approve", "decline")]
    assert abs(share(answered, "decline") - 0.5) < 0.02


def test_exception_rate_is_respected_and_leaves_other_draws_unchanged() -> None:
    result = plans(NetworkFaults(timeout_rate=0.03, exception_rate=0.04))
    assert abs(share(result, "raise") - 0.04) < 0.007
    assert abs(share(result, "hang") - 0.03) < 0.006
    # No exception fault: the same seed draws exactly the plans it drew before the fault existed.
    assert plans(NetworkFaults(timeout_rate=0.03)) == plans(
        NetworkFaults(timeout_rate=0.03, exception_rate=0.0)
    )


def test_slow_rate_adds_its_latency_to_that_fraction_only() -> None:
    result = plans(NetworkFaults(slow_rate=0.1, slow_latency_ms=1000))
    slow = sum(plan.latency_seconds >= 1.0 for plan in result) / N
    assert abs(slow - 0.1) < 0.01


def test_latency_scale_multiplies_base_and_fault_latency() -> None:
    full = plans(NetworkFaults(added_latency_ms=400))
    tenth = plans(NetworkFaults(added_latency_ms=400), scale=0.1)
    assert [round(p.latency_seconds / 10, 9) for p in full] == [
        round(p.latency_seconds, 9) for p in tenth
    ]
    assert min(p.latency_seconds for p in tenth) >= 0.04
    assert all(p.latency_seconds == 0 for p in plans(None, scale=0.0))


def test_approvals_carry_a_code_and_declines_a_reason() -> None:
    for plan in plans(None)[:500]:
        if plan.kind == "approve":
            assert plan.authorization_code and len(plan.authorization_code) == 6
        else:
            assert plan.decline_code


def test_a_hung_call_waits_for_the_deadline() -> None:
    async def call() -> float:
        started = time.perf_counter()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await execute(CallPlan("hang", 0.0))
        return time.perf_counter() - started

    elapsed = asyncio.run(call())
    assert 0.19 < elapsed < 1.0


def test_an_error_call_raises_after_its_latency() -> None:
    with pytest.raises(ProcessorError):
        asyncio.run(execute(CallPlan("error", 0.01)))


def test_a_configured_share_of_timed_out_calls_was_authorized_at_the_network() -> None:
    result = plans(NetworkFaults(timeout_rate=0.5, timeout_authorized_rate=0.3))
    hung = [plan for plan in result if plan.kind == "hang"]
    assert abs(sum(plan.held for plan in hung) / len(hung) - 0.3) < 0.02
    assert not any(plan.held for plan in result if plan.kind != "hang")
    assert not any(p.held for p in plans(NetworkFaults(timeout_rate=0.5)))


def test_reversal_faults_and_latency_are_their_own() -> None:
    rng = random.Random(3)
    faults = NetworkFaults(
        timeout_rate=1.0,  # the call's faults do not touch its reversal
        reversal_error_rate=0.2,
        reversal_timeout_rate=0.1,
        reversal_latency_ms=500,
    )
    result = [plan_reversal(rng, "visa", faults, 1.0) for _ in range(N)]
    kinds = [plan.kind for plan in result]
    assert abs(kinds.count("hang") / N - 0.1) < 0.01
    assert abs(kinds.count("error") / N - 0.2) < 0.01
    assert min(plan.latency_seconds for plan in result) >= 0.5
    clean = [plan_reversal(rng, "visa", None, 1.0) for _ in range(1000)]
    assert {plan.kind for plan in clean} == {"done"}


def test_a_reversal_releases_a_hold_only_where_the_network_made_one() -> None:
    held, not_held = CallPlan("hang", 0.0, held=True), CallPlan("hang", 0.0)
    assert asyncio.run(execute_reversal(ReversalPlan("done", 0.0), held)) is True
    assert asyncio.run(execute_reversal(ReversalPlan("done", 0.0), not_held)) is False
    with pytest.raises(ReversalError):
        asyncio.run(execute_reversal(ReversalPlan("error", 0.0), held))
