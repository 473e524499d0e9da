"""The Rollout step machine reacts to analysis and readiness the way the Argo Rollouts
controller does: abort on Failed/Error, pause on Inconclusive, promote after the last step."""

from __future__ import annotations

from collections.abc import Callable

from paystream_ops.lab.analysis import AnalysisRun, Measurement, MetricSpec
from paystream_ops.lab.phases import Phase
from paystream_ops.lab.rollout import (
    AnalysisStep,
    Pause,
    RolloutMachine,
    RolloutPlan,
    SetWeight,
    Verdict,
)

S, F, INC, E = Phase.SUCCESSFUL, Phase.FAILED, Phase.INCONCLUSIVE, Phase.ERROR

STEPS = (
    SetWeight(10),
    AnalysisStep(("step-check",)),
    SetWeight(50),
    AnalysisStep(("step-check",)),
    SetWeight(100),
)


def factory(interval: float = 60, count: int = 3, delay: float = 60) -> Callable[..., AnalysisRun]:
    def make(kind: str, index: int, templates: tuple[str, ...], now: float) -> AnalysisRun:
        spec = MetricSpec(
            name=f"{kind}-ratio",
            template=templates[0],
            query="q",
            address="a",
            success=None,
            failure=None,
            interval_seconds=interval,
            count=None if kind == "background" else count,
            initial_delay_seconds=delay,
        )
        return AnalysisRun(f"{kind}-{index}", [spec], now)

    return make


PhaseAt = Callable[[str, float], Phase]


def measure_with(phase_at: PhaseAt) -> Callable[[MetricSpec, float], Measurement]:
    def measure(spec: MetricSpec, now: float) -> Measurement:
        return Measurement(phase_at(spec.name, now), now, now)

    return measure


def run_machine(
    plan: RolloutPlan,
    phase_at: PhaseAt,
    ready_at: float | None = 0.0,
    until: float = 100_000.0,
) -> tuple[RolloutMachine, list[tuple[float, int]]]:
    """Drive the machine at every wake-up; return it and (time, traffic weight) samples."""
    machine = RolloutMachine(plan, factory(), started_at=0.0)
    measure = measure_with(phase_at)
    now = 0.0
    weights: list[tuple[float, int]] = []
    while not machine.finished and now <= until:
        ready = ready_at is not None and now >= ready_at
        machine.reconcile(now, ready, measure)
        weights.append((now, machine.traffic_weight))
        wake = machine.next_wakeup()
        if ready_at is not None and now < ready_at:
            wake = min(wake if wake is not None else ready_at, ready_at)
        if wake is None:
            break
        now = max(wake, now + 1e-9)
    return machine, weights


def always(phase: Phase) -> PhaseAt:
    return lambda name, now: phase


def test_healthy_canary_walks_every_step_and_is_promoted() -> None:
    plan = RolloutPlan(STEPS, background_templates=("bg",))
    machine, weights = run_machine(plan, always(S))
    assert machine.outcome is not None
    assert machine.outcome.verdict is Verdict.PROMOTED
    # two step analyses of 3 measurements 60 s apart after a 60 s delay: 180 s each
    assert machine.outcome.at == 360
    assert [w for _, w in weights][:2] == [10, 10]
    assert machine.traffic_weight == 100
    background = machine.runs[0][1]
    assert background.phase is S and background.message == "Run Terminated"


def test_failed_step_analysis_aborts_and_sends_no_more_traffic_to_the_canary() -> None:
    plan = RolloutPlan(STEPS)
    machine, _ = run_machine(plan, always(F))
    assert machine.outcome is not None
    assert machine.outcome.verdict is Verdict.ABORTED
    assert machine.outcome.at == 60
    assert machine.outcome.step_index == 1
    assert machine.outcome.deciding_metrics == ("step-ratio",)
    assert machine.traffic_weight == 0


def test_failed_background_analysis_aborts_during_a_step_analysis() -> None:
    plan = RolloutPlan(STEPS, background_templates=("bg",))

    def phase_at(name: str, now: float) -> Phase:
        return F if name == "background-ratio" and now >= 120 else S

    machine, _ = run_machine(plan, phase_at)
    assert machine.outcome is not None
    assert machine.outcome.verdict is Verdict.ABORTED
    assert machine.outcome.decided_by == "background analysis"
    assert machine.outcome.at == 120
    step_run = next(run for label, run in machine.runs if label == "step 1")
    assert step_run.phase is S and step_run.message == "Run Terminated"


def test_inconclusive_step_analysis_pauses_the_rollout_with_canary_traffic_kept() -> None:
    plan = RolloutPlan(STEPS)
    machine, _ = run_machine(plan, always(INC))
    assert machine.outcome is not None
    assert machine.outcome.verdict is Verdict.PAUSED_INCONCLUSIVE
    assert machine.traffic_weight == 10


def test_error_analysis_aborts_after_five_consecutive_errors() -> None:
    plan = RolloutPlan(STEPS)
    machine, _ = run_machine(plan, always(E))
    assert machine.outcome is not None
    assert machine.outcome.verdict is Verdict.ABORTED
    assert machine.outcome.at == 60 + 4 * 10
    assert "consecutiveErrors (5)" in machine.outcome.message


def test_canary_that_never_becomes_ready_aborts_at_the_progress_deadline() -> None:
    plan = RolloutPlan(STEPS, progress_deadline_seconds=300, progress_deadline_abort=True)
    machine, weights = run_machine(plan, always(S), ready_at=None)
    assert machine.outcome is not None
    assert machine.outcome.verdict is Verdict.ABORTED
    assert machine.outcome.decided_by == "progress deadline"
    assert machine.outcome.at == 300
    assert all(w == 0 for _, w in weights)


def test_without_progress_deadline_abort_the_rollout_is_only_degraded() -> None:
    plan = RolloutPlan(STEPS, progress_deadline_seconds=300)
    machine, _ = run_machine(plan, always(S), ready_at=None)
    assert machine.outcome is not None
    assert machine.outcome.verdict is Verdict.DEGRADED


def test_progress_deadline_counts_from_the_last_progress_not_from_the_start() -> None:
    plan = RolloutPlan(
        (SetWeight(10), Pause(400), SetWeight(50)),
        progress_deadline_seconds=300,
        progress_deadline_abort=True,
    )
    machine = RolloutMachine(plan, factory(), started_at=0.0)
    measure = measure_with(always(S))
    machine.reconcile(0, True, measure)
    machine.reconcile(400, False, measure)  # pause over: setWeight 50 waits for readiness
    machine.reconcile(650, False, measure)
    assert not machine.finished
    machine.reconcile(700, False, measure)
    assert machine.outcome is not None and machine.outcome.at == 700


def test_timed_pause_completes_and_indefinite_pause_waits_for_a_person() -> None:
    machine, _ = run_machine(RolloutPlan((SetWeight(10), Pause(30), SetWeight(100))), always(S))
    assert machine.outcome is not None
    assert (machine.outcome.verdict, machine.outcome.at) == (Verdict.PROMOTED, 30)
    machine, _ = run_machine(RolloutPlan((SetWeight(10), Pause(None))), always(S))
    assert machine.outcome is not None
    assert machine.outcome.verdict is Verdict.PAUSED


def test_background_analysis_waits_for_its_starting_step() -> None:
    plan = RolloutPlan(STEPS, background_templates=("bg",), background_starting_step=2)
    machine, _ = run_machine(plan, always(S))
    background = next(run for label, run in machine.runs if label == "background")
    assert background.started_at == 180  # when step 2 (setWeight 50) is reached


# ---- the pause hold -----------------------------------------------------------------------


def held(
    plan: RolloutPlan, phase_at: PhaseAt, hold: float, until: float = 100_000.0
) -> tuple[RolloutMachine, list[tuple[float, int]]]:
    """run_machine with the lab's pause hold."""
    machine = RolloutMachine(plan, factory(), started_at=0.0, pause_hold_seconds=hold)
    measure = measure_with(phase_at)
    now = 0.0
    weights: list[tuple[float, int]] = []
    while not machine.finished and now <= until:
        machine.reconcile(now, True, measure)
        weights.append((now, machine.traffic_weight))
        wake = machine.next_wakeup()
        if wake is None:
            break
        now = max(wake, now + 1e-9)
    return machine, weights


def inconclusive_step_then_failing_background(failing_from: float) -> PhaseAt:
    def phase_at(name: str, now: float) -> Phase:
        if name == "step-ratio":
            return INC
        return F if now >= failing_from else S

    return phase_at


def test_a_broken_canary_paused_as_inconclusive_is_aborted_when_the_hold_ends() -> None:
    plan = RolloutPlan(STEPS, background_templates=("bg",))
    machine, weights = held(plan, inconclusive_step_then_failing_background(180), hold=300)
    outcome = machine.outcome
    assert outcome is not None
    assert outcome.verdict is Verdict.ABORTED
    assert outcome.decided_by == "background analysis"
    assert outcome.deciding_metrics == ("background-ratio",)
    assert (outcome.paused_at, outcome.at, outcome.hold_ended_at) == (60, 360, 360)
    # While held the canary kept its weight, and the background run kept measuring.
    assert all(w == 10 for t, w in weights if 60 <= t < 360)
    background = next(run for label, run in machine.runs if label == "background")
    assert [m.started_at for m in background.results["background-ratio"].measurements] == [
        60,
        120,
        180,
    ]
    assert any("Failed during the pause" in e.text for e in machine.events)


def test_a_failed_background_run_does_not_abort_an_inconclusive_pause_before_it_is_lifted() -> None:
    """rollout/analysis.go reconcileBackgroundAnalysisRun returns early while the Rollout has
    the InconclusiveAnalysis pause condition: the failure waits for the pause to end."""
    plan = RolloutPlan(STEPS, background_templates=("bg",))
    machine, _ = held(plan, inconclusive_step_then_failing_background(180), hold=300, until=359)
    assert not machine.finished
    assert machine.paused is not None and machine.paused.at == 60
    background = next(run for label, run in machine.runs if label == "background")
    assert background.phase is F
    assert machine.traffic_weight == 10


def test_a_healthy_canary_paused_as_inconclusive_is_still_paused_when_the_hold_ends() -> None:
    plan = RolloutPlan(STEPS, background_templates=("bg",))

    def phase_at(name: str, now: float) -> Phase:
        return INC if name == "step-ratio" else S

    machine, _ = held(plan, phase_at, hold=300)
    outcome = machine.outcome
    assert outcome is not None
    assert outcome.verdict is Verdict.PAUSED_INCONCLUSIVE
    assert outcome.decided_by == "step 1: analysis step-check"
    assert (outcome.paused_at, outcome.at, outcome.hold_ended_at) == (60, 60, 360)
    assert machine.traffic_weight == 10
    assert machine.events[-1].text == "still paused-inconclusive at the end of the hold"


def test_without_a_hold_the_pause_is_the_verdict_at_once() -> None:
    plan = RolloutPlan(STEPS, background_templates=("bg",))
    machine, _ = held(plan, inconclusive_step_then_failing_background(180), hold=0)
    outcome = machine.outcome
    assert outcome is not None
    assert (outcome.verdict, outcome.at) == (Verdict.PAUSED_INCONCLUSIVE, 60)
    assert outcome.paused_at is None and outcome.hold_ended_at is None


def test_a_failed_background_run_aborts_an_explicit_pause_at_once() -> None:
    plan = RolloutPlan((SetWeight(10), Pause(None), SetWeight(100)), background_templates=("bg",))

    def phase_at(name: str, now: float) -> Phase:
        return F if now >= 180 else S

    machine, _ = held(plan, phase_at, hold=300)
    outcome = machine.outcome
    assert outcome is not None
    assert outcome.verdict is Verdict.ABORTED
    assert (outcome.paused_at, outcome.at) == (0, 180)
    assert machine.traffic_weight == 0
