"""The warm-up is cut only by the time no measurement can come sooner than: the step machine
itself measures no earlier than the bound, and the bound credits nothing the Rollout does not
guarantee (a background analysis from step 0, a metric without initialDelay, no analysis)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from paystream_ops.lab.analysis import AnalysisRun, Measurement, MetricSpec
from paystream_ops.lab.phases import Phase
from paystream_ops.lab.rollout import AnalysisStep, RolloutMachine, RolloutPlan, SetWeight
from paystream_ops.lab.warmup import earliest_measurement_seconds, warm_up_seconds

STEPS = (SetWeight(10), AnalysisStep(("t",)), SetWeight(50), AnalysisStep(("t",)), SetWeight(100))


def metric(name: str, delay: float | None) -> MetricSpec:
    return MetricSpec(name, "t", "q", "a", None, None, 3.0, 5, delay)


def prod_like(
    delay: float | None = 2.5, starting_step: int = 1
) -> tuple[RolloutPlan, dict[str, list[MetricSpec]]]:
    plan = RolloutPlan(
        STEPS,
        background_templates=("t",),
        background_starting_step=starting_step,
        min_ready_seconds=2.0,
    )
    specs = {label: [metric(f"{label}-m", delay)] for label in ("step 1", "step 3", "background")}
    return plan, specs


def first_measurement(plan: RolloutPlan, specs: Mapping[str, Sequence[MetricSpec]]) -> float:
    """Drive the machine with the canary available as early as it can be (after minReadySeconds
    from the release) and return when it first measures."""
    taken: list[float] = []

    def make(kind: str, index: int, templates: tuple[str, ...], now: float) -> AnalysisRun:
        label = "background" if kind == "background" else f"step {index}"
        return AnalysisRun(label, list(specs[label]), now)

    def measure(spec: MetricSpec, now: float) -> Measurement:
        taken.append(now)
        return Measurement(Phase.SUCCESSFUL, now, now)

    machine = RolloutMachine(plan, make, started_at=0.0)
    now = 0.0
    while not taken:
        machine.reconcile(now, now >= plan.min_ready_seconds, measure)
        now += 0.05
    return min(taken)


def test_the_bound_is_when_the_step_machine_first_measures_with_the_earliest_available_canary() -> (
    None
):
    plan, specs = prod_like()
    bound = earliest_measurement_seconds(plan, specs)
    assert bound == pytest.approx(4.5)  # minReadySeconds, then initialDelay
    assert first_measurement(plan, specs) == pytest.approx(bound, abs=0.06)


@pytest.mark.parametrize(
    ("delay", "starting_step", "bound"),
    [
        (2.5, 0, 2.5),  # a background analysis from step 0 does not wait for the canary
        (None, 1, 2.0),  # no initialDelay: only minReadySeconds
        (None, 0, 0.0),  # measured at once: nothing to cut
    ],
)
def test_the_bound_credits_only_what_the_rollout_guarantees(
    delay: float | None, starting_step: int, bound: float
) -> None:
    plan, specs = prod_like(delay, starting_step)
    assert earliest_measurement_seconds(plan, specs) == pytest.approx(bound)
    assert first_measurement(plan, specs) == pytest.approx(bound, abs=0.06)


def test_without_analysis_nothing_is_cut_and_the_warm_up_is_never_negative() -> None:
    plan, _ = prod_like()
    assert earliest_measurement_seconds(plan, {}) == 0.0
    assert earliest_measurement_seconds(plan, {"step 1": []}) == 0.0
    assert warm_up_seconds(12.0, 1.5, 0.0) == pytest.approx(15.5)  # window, 2 scrapes, slack
    assert warm_up_seconds(12.0, 1.5, 4.5) == pytest.approx(11.0)
    assert warm_up_seconds(1.0, 0.5, 30.0) == 0.0
