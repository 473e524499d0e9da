"""An AnalysisRun as Argo Rollouts runs it, as a pure state machine driven by a clock.

Checked against argo-rollouts `analysis/analysis.go` (`generateMetricTasks`, `runMeasurements`,
`assessRunStatus`, `assessMetricStatus`, `assessMetricFailureInconclusiveOrError`,
`calculateNextReconcileTime`), `utils/analysis/helpers.go` (`IsTerminating`, `IsWorse`),
`utils/evaluate/evaluate.go` (`EvaluateResult`) and `Metric.EffectiveCount`:

- A metric's first measurement is taken when the run starts, or `initialDelay` after it.
- Later ones `interval` after the previous one *finished*; after an `Error` measurement the
  retry comes after the default error-retry interval (10 s) whatever the interval.
- `count` unset (or 0) with an `interval` means "measure until the run is terminated"; with
  neither, the effective count is 1.
- Successful/Failed/Inconclusive measurements add to `count`; an Error does not, it only bumps
  the consecutive-error counter, which any other phase resets.
- A metric is Failed when failed > failureLimit, Inconclusive when inconclusive >
  inconclusiveLimit, Error when consecutiveErrors > consecutiveErrorLimit (default 4); checked in
  that order, the later one winning. Otherwise Successful once `count` is reached.
- Once any non-dry-run metric is Failed, Error or Inconclusive, the run is terminating: no new
  measurements, metrics without a verdict are Successful, and the run takes the worst phase of
  its non-dry-run metrics (order: Successful, Running, Pending, Inconclusive, Error, Failed).
  Dry-run metrics are measured and reported but never decide.

Time is whatever clock the caller passes in (seconds, lab time); nothing here sleeps or does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from paystream_ops.lab.expr import Condition, EvalError, Result
from paystream_ops.lab.phases import Phase, is_worse

DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4
DEFAULT_ERROR_RETRY_SECONDS = 10.0


@dataclass(frozen=True)
class MetricSpec:
    """One metric of an AnalysisRun with its args already substituted."""

    name: str
    template: str
    query: str
    address: str
    success: Condition | None
    failure: Condition | None
    interval_seconds: float | None = None
    count: int | None = None
    initial_delay_seconds: float | None = None
    failure_limit: int = 0
    inconclusive_limit: int = 0
    consecutive_error_limit: int = DEFAULT_CONSECUTIVE_ERROR_LIMIT
    dry_run: bool = False

    @property
    def effective_count(self) -> int | None:
        if not self.count:
            return 1 if self.interval_seconds is None else None
        return self.count


@dataclass(frozen=True)
class Measurement:
    phase: Phase
    started_at: float
    finished_at: float
    value: str = ""
    message: str = ""
    values: tuple[float, ...] = ()


@dataclass
class MetricResult:
    name: str
    dry_run: bool
    phase: Phase = Phase.RUNNING
    measurements: list[Measurement] = field(default_factory=list)
    count: int = 0
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0
    consecutive_error: int = 0
    message: str = ""


def evaluate_result(metric: MetricSpec, result: Result) -> tuple[Phase, str]:
    """Argo's `EvaluateResult`: the measurement phase for a query result (and an error text)."""
    try:
        success = metric.success.evaluate(result) if metric.success else False
        failure = metric.failure.evaluate(result) if metric.failure else False
    except EvalError as exc:
        return Phase.ERROR, str(exc)
    if metric.success is None and metric.failure is None:
        return Phase.SUCCESSFUL, ""
    if metric.success is not None and metric.failure is None:
        failure = not success
    elif metric.success is None and metric.failure is not None:
        success = not failure
    if failure:
        return Phase.FAILED, ""
    if not success:
        return Phase.INCONCLUSIVE, ""
    return Phase.SUCCESSFUL, ""


def _failure_inconclusive_or_error(
    metric: MetricSpec, result: MetricResult
) -> tuple[Phase | None, str]:
    phase: Phase | None = None
    message = ""
    if result.failed > metric.failure_limit:
        phase = Phase.FAILED
        message = f"failed ({result.failed}) > failureLimit ({metric.failure_limit})"
    if result.inconclusive > metric.inconclusive_limit:
        phase = Phase.INCONCLUSIVE
        message = (
            f"inconclusive ({result.inconclusive}) > inconclusiveLimit "
            f"({metric.inconclusive_limit})"
        )
    if result.consecutive_error > metric.consecutive_error_limit:
        phase = Phase.ERROR
        message = (
            f"consecutiveErrors ({result.consecutive_error}) > consecutiveErrorLimit "
            f"({metric.consecutive_error_limit})"
        )
    return phase, message


Measure = Callable[[MetricSpec, float], Measurement]


class AnalysisRun:
    """The status of one AnalysisRun, advanced by `reconcile(now, measure)`."""

    def __init__(
        self,
        name: str,
        metrics: Sequence[MetricSpec],
        started_at: float,
        *,
        error_retry_seconds: float = DEFAULT_ERROR_RETRY_SECONDS,
    ) -> None:
        if not metrics:
            raise ValueError(f"AnalysisRun {name}: no metrics")
        names = [m.name for m in metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"AnalysisRun {name}: duplicate metric names {names}")
        self.name = name
        self.metrics = tuple(metrics)
        self.started_at = started_at
        self.error_retry_seconds = error_retry_seconds
        self.results: dict[str, MetricResult] = {}
        self.phase = Phase.PENDING
        self.message = ""
        self.terminate_requested = False
        self.finished_at: float | None = None

    # --- queries -------------------------------------------------------------------------

    @property
    def completed(self) -> bool:
        return self.phase.completed

    def terminating(self) -> bool:
        if self.terminate_requested:
            return True
        return any(
            not r.dry_run and r.phase in {Phase.FAILED, Phase.ERROR, Phase.INCONCLUSIVE}
            for r in self.results.values()
        )

    def _metric_completed(self, name: str) -> bool:
        result = self.results.get(name)
        return result is not None and result.phase.completed

    def _last(self, name: str) -> Measurement | None:
        result = self.results.get(name)
        return result.measurements[-1] if result and result.measurements else None

    def _retry_interval(self, metric: MetricSpec, last: Measurement) -> float:
        if last.phase is Phase.ERROR or metric.interval_seconds is None:
            return self.error_retry_seconds
        return metric.interval_seconds

    def due_metrics(self, now: float) -> list[MetricSpec]:
        """`generateMetricTasks`: the metrics to measure at `now`."""
        if self.completed or self.terminating():
            return []
        due: list[MetricSpec] = []
        for metric in self.metrics:
            if self._metric_completed(metric.name):
                continue
            last = self._last(metric.name)
            if last is None:
                delay = metric.initial_delay_seconds or 0.0
                if now >= self.started_at + delay:
                    due.append(metric)
                continue
            result = self.results[metric.name]
            effective = metric.effective_count
            if effective is not None and result.count >= effective:
                continue
            if now >= last.finished_at + self._retry_interval(metric, last):
                due.append(metric)
        return due

    def next_due(self) -> float | None:
        """`calculateNextReconcileTime`: when a measurement is next due (None: nothing left)."""
        if self.completed:
            return None
        times: list[float] = []
        for metric in self.metrics:
            if self._metric_completed(metric.name):
                continue
            last = self._last(metric.name)
            if last is None:
                times.append(self.started_at + (metric.initial_delay_seconds or 0.0))
                continue
            effective = metric.effective_count
            if effective is not None and self.results[metric.name].count >= effective:
                continue
            times.append(last.finished_at + self._retry_interval(metric, last))
        return min(times) if times else None

    # --- transitions ---------------------------------------------------------------------

    def record(self, metric: MetricSpec, measurement: Measurement) -> None:
        """`runMeasurements`' bookkeeping for one completed measurement."""
        result = self.results.setdefault(
            metric.name, MetricResult(name=metric.name, dry_run=metric.dry_run)
        )
        phase = measurement.phase
        if phase is Phase.ERROR:
            result.error += 1
            result.consecutive_error += 1
        else:
            result.count += 1
            result.consecutive_error = 0
            if phase is Phase.SUCCESSFUL:
                result.successful += 1
            elif phase is Phase.FAILED:
                result.failed += 1
            elif phase is Phase.INCONCLUSIVE:
                result.inconclusive += 1
            else:
                raise ValueError(f"measurement of {metric.name} is not completed: {phase}")
        result.measurements.append(measurement)

    def _assess_metric(self, metric: MetricSpec, result: MetricResult, terminating: bool) -> Phase:
        if result.phase.completed:
            return result.phase
        if not result.measurements:
            return Phase.SUCCESSFUL if terminating else Phase.PENDING
        phase, _ = _failure_inconclusive_or_error(metric, result)
        if phase is not None:
            return phase
        effective = metric.effective_count
        if effective is not None and result.count >= effective:
            return Phase.SUCCESSFUL
        return Phase.SUCCESSFUL if terminating else Phase.RUNNING

    def assess(self, now: float) -> Phase:
        """`assessRunStatus`: update every metric's phase and the run's phase."""
        if self.completed:
            return self.phase
        terminating = self.terminating()
        worst: Phase | None = None
        worst_message = "Run Terminated" if self.terminate_requested else ""
        everything_completed = True
        for metric in self.metrics:
            result = self.results.get(metric.name)
            if result is None:
                everything_completed = False
                continue
            status = self._assess_metric(metric, result, terminating)
            if status is not result.phase:
                result.phase = status
                result.message = result.measurements[-1].message if result.measurements else ""
            if not status.completed:
                everything_completed = False
                continue
            _, reason = _failure_inconclusive_or_error(metric, result)
            if metric.dry_run:
                worst = worst or Phase.SUCCESSFUL
                continue
            if worst is None or is_worse(worst, status):
                worst = status
                if reason:
                    worst_message = f'Metric "{metric.name}" assessed {status} due to {reason}'
                    if result.message:
                        worst_message += f': "Error Message: {result.message}"'
        if terminating:
            new_phase = worst or Phase.SUCCESSFUL
        elif not everything_completed or worst is None:
            new_phase = Phase.RUNNING
        else:
            new_phase = worst
        if new_phase is not self.phase:
            self.phase = new_phase
            self.message = worst_message if new_phase.completed else ""
            if new_phase.completed:
                self.finished_at = now
        return self.phase

    def reconcile(self, now: float, measure: Measure) -> Phase:
        """One pass of the AnalysisRun controller at `now`: measure what is due, then assess.

        A status change makes the real controller reconcile again at once; the second assess
        below is that reconcile (it turns "a metric failed" into "the run failed").
        """
        if self.completed:
            return self.phase
        for metric in self.due_metrics(now):
            self.record(metric, measure(metric, now))
        self.assess(now)
        if not self.completed and self.terminating():
            self.assess(now)
        return self.phase

    def terminate(self, now: float) -> Phase:
        """`spec.terminate: true` (the Rollout cancels a run it no longer needs)."""
        if self.completed:
            return self.phase
        self.terminate_requested = True
        return self.assess(now)

    def deciding_metrics(self) -> list[str]:
        """Non-dry-run metrics whose phase is the run's (completed, non-successful) phase."""
        if not self.completed or self.phase is Phase.SUCCESSFUL:
            return []
        return [
            name
            for name, result in self.results.items()
            if not result.dry_run and result.phase is self.phase
        ]
