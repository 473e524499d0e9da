"""The AnalysisRun state machine follows Argo Rollouts' analysis controller, measurement by
measurement, on a fake clock with scripted measurement phases."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from paystream_ops.lab.analysis import (
    AnalysisRun,
    Measurement,
    MetricSpec,
    evaluate_result,
)
from paystream_ops.lab.expr import compile_condition
from paystream_ops.lab.phases import Phase

from .conftest import drive

S, F, INC, E = Phase.SUCCESSFUL, Phase.FAILED, Phase.INCONCLUSIVE, Phase.ERROR


def metric(name: str = "m", **kwargs: object) -> MetricSpec:
    fields: dict[str, object] = {"success": None, "failure": None, **kwargs}
    return MetricSpec(
        name=name,
        template="t",
        query="q",
        address="http://prometheus",
        **fields,  # type: ignore[arg-type]
    )


class Script:
    """Returns scripted phases per metric and records when each measurement was taken."""

    def __init__(self, phases: dict[str, Iterable[Phase]], duration: float = 0.0) -> None:
        self.phases = {name: iter(p) for name, p in phases.items()}
        self.taken: list[tuple[str, float]] = []
        self.duration = duration

    def __call__(self, spec: MetricSpec, now: float) -> Measurement:
        self.taken.append((spec.name, now))
        return Measurement(next(self.phases[spec.name]), now, now + self.duration)


def test_first_measurement_waits_for_initial_delay_then_repeats_every_interval() -> None:
    run = AnalysisRun("r", [metric(interval_seconds=60, count=3, initial_delay_seconds=30)], 100)
    script = Script({"m": [S, S, S]})
    drive(run, script)
    assert [t for _, t in script.taken] == [130, 190, 250]
    assert run.phase is S


def test_interval_counts_from_when_the_previous_measurement_finished() -> None:
    run = AnalysisRun("r", [metric(interval_seconds=60, count=2)], 0)
    script = Script({"m": [S, S]}, duration=5)
    drive(run, script)
    assert [t for _, t in script.taken] == [0, 65]


def test_no_count_and_no_interval_means_a_single_measurement() -> None:
    run = AnalysisRun("r", [metric()], 0)
    script = Script({"m": [S]})
    drive(run, script)
    assert len(script.taken) == 1
    assert run.phase is S


def test_interval_without_count_runs_until_terminated_and_then_is_successful() -> None:
    run = AnalysisRun("r", [metric(interval_seconds=10)], 0)
    script = Script({"m": [S] * 100})
    drive(run, script, until=95)
    assert run.phase is Phase.RUNNING
    assert len(script.taken) == 10
    assert run.terminate(96) is S
    assert run.message == "Run Terminated"


def test_one_failure_fails_the_run_when_failure_limit_is_zero() -> None:
    run = AnalysisRun("r", [metric(interval_seconds=10, count=5)], 0)
    drive(run, Script({"m": [S, F, S, S, S]}))
    assert run.phase is F
    assert run.results["m"].count == 2
    assert run.message == 'Metric "m" assessed Failed due to failed (1) > failureLimit (0)'
    assert run.deciding_metrics() == ["m"]


def test_failures_up_to_the_failure_limit_are_tolerated() -> None:
    run = AnalysisRun("r", [metric(interval_seconds=10, count=4, failure_limit=1)], 0)
    drive(run, Script({"m": [F, S, S, S]}))
    assert run.phase is S
    run = AnalysisRun("r", [metric(interval_seconds=10, count=4, failure_limit=1)], 0)
    drive(run, Script({"m": [F, S, F, S]}))
    assert run.phase is F


def test_an_inconclusive_measurement_beyond_the_limit_makes_the_run_inconclusive() -> None:
    run = AnalysisRun("r", [metric(interval_seconds=10, count=3)], 0)
    drive(run, Script({"m": [INC, S, S]}))
    assert run.phase is INC
    run = AnalysisRun("r", [metric(interval_seconds=10, count=3, inconclusive_limit=1)], 0)
    drive(run, Script({"m": [INC, S, S]}))
    assert run.phase is S


def test_errors_retry_after_ten_seconds_and_five_in_a_row_error_the_run() -> None:
    run = AnalysisRun("r", [metric(interval_seconds=60, count=3)], 0)
    script = Script({"m": [E, E, E, E, E]})
    drive(run, script)
    assert run.phase is E
    assert [t for _, t in script.taken] == [0, 10, 20, 30, 40]
    assert "consecutiveErrors (5) > consecutiveErrorLimit (4)" in run.message


def test_an_error_is_not_counted_and_a_success_resets_the_consecutive_errors() -> None:
    run = AnalysisRun("r", [metric(interval_seconds=60, count=2, consecutive_error_limit=1)], 0)
    script = Script({"m": [E, S, E, S]})
    drive(run, script)
    assert run.phase is S
    assert run.results["m"].count == 2
    assert run.results["m"].error == 2
    assert [t for _, t in script.taken] == [0, 10, 70, 80]


def test_the_error_retry_interval_scales_with_the_lab_clock() -> None:
    run = AnalysisRun("r", [metric(interval_seconds=6, count=1)], 0, error_retry_seconds=1.0)
    script = Script({"m": [E, S]})
    drive(run, script)
    assert [t for _, t in script.taken] == [0, 1]


def test_a_failing_metric_ends_the_run_and_stops_the_other_metrics() -> None:
    run = AnalysisRun(
        "r",
        [metric("a", interval_seconds=10), metric("b", interval_seconds=10, count=10)],
        0,
    )
    script = Script({"a": [S, S, F], "b": [S] * 10})
    drive(run, script)
    assert run.phase is F
    assert run.results["b"].phase is S  # terminated, not failed
    assert max(t for _, t in script.taken) == 20


def test_worst_phase_wins_failed_over_error_over_inconclusive() -> None:
    run = AnalysisRun("r", [metric("a"), metric("b"), metric("c")], 0)
    drive(run, Script({"a": [INC], "b": [F], "c": [S]}))
    assert run.phase is F
    assert run.deciding_metrics() == ["b"]


def test_a_dry_run_metric_is_measured_but_never_decides() -> None:
    run = AnalysisRun(
        "r", [metric("a", interval_seconds=10, count=3), metric("b", dry_run=True)], 0
    )
    drive(run, Script({"a": [S, S, S], "b": [F]}))
    assert run.phase is S
    assert run.results["b"].phase is F


def test_the_run_stays_running_until_every_metric_has_completed() -> None:
    run = AnalysisRun("r", [metric("a"), metric("b", initial_delay_seconds=30)], 0)
    script = Script({"a": [S], "b": [S]})
    run.reconcile(0, script)
    assert run.phase is Phase.RUNNING
    assert run.next_due() == 30
    run.reconcile(30, script)
    assert run.phase is S


@pytest.mark.parametrize(
    ("success", "failure", "result", "expected"),
    [
        ("result < 1", None, 0.5, S),
        ("result < 1", None, 2.0, F),
        (None, "result > 1", 0.5, S),
        (None, "result > 1", 2.0, F),
        ("result < 1", "result > 2", 1.5, INC),
        ("result < 1", "result > 2", 3.0, F),
        ("result < 1", "result < 2", 0.5, F),  # failure is checked first
        (None, None, 0.5, S),
        ("result[0] < 1", None, [], E),
    ],
)
def test_evaluate_result_matches_argo_rules(
    success: str | None, failure: str | None, result: float | list[float], expected: Phase
) -> None:
    spec = MetricSpec(
        name="m",
        template="t",
        query="q",
        address="a",
        success=compile_condition(success, "s") if success else None,
        failure=compile_condition(failure, "f") if failure else None,
    )
    assert evaluate_result(spec, result)[0] is expected


def test_an_empty_vector_is_an_error_unless_the_condition_guards_it() -> None:
    unguarded = metric(success=compile_condition("result[0] < 0.01", "s"))
    guarded = metric(success=compile_condition("len(result) == 0 || result[0] < 0.01", "s"))
    assert evaluate_result(unguarded, [])[0] is E
    assert evaluate_result(guarded, [])[0] is S
