"""A canary Rollout's steps as Argo Rollouts executes them, as a pure state machine.

Checked against argo-rollouts `rollout/canary.go` (`completedCurrentCanaryStep`),
`rollout/analysis.go` (`reconcileStepBasedAnalysisRun`, `reconcileBackgroundAnalysisRun`),
`rollout/trafficrouting.go` and `utils/conditions` (`RolloutTimedOut`):

- `setWeight: N` is complete once the canary ReplicaSet is available; until then the traffic
  router keeps the previous step's weight (so a canary that never becomes ready gets no traffic).
- `pause: {duration}` completes after the duration; `pause: {}` waits for a person (the lab stops
  there with the verdict `paused`).
- An `analysis` step creates an AnalysisRun and waits: Successful -> next step; Failed or
  Error -> abort; Inconclusive -> pause for a person (`paused-inconclusive`).
- The background analysis (`strategy.canary.analysis`) starts at `startingStep` (default 0) and
  runs until the Rollout is fully promoted, when it is terminated; Failed or Error aborts,
  Inconclusive pauses.
- `progressDeadlineSeconds` (default 600) counts from the last progress (a step change, the
  canary becoming available); it is not evaluated while paused or during an analysis step. When
  exceeded the Rollout is Degraded, and with `progressDeadlineAbort: true` it aborts.
- An abort sets the canary weight to 0 at once and terminates the running AnalysisRuns.
- A pause is not the end of the story: the paused canary keeps its weight and the background
  AnalysisRun keeps being measured (`reconcileAnalysisRuns` cancels runs only on promotion or
  abort). The lab holds a pause for `pause_hold_seconds` (the on-call engineer's response to
  the page) before it gives its verdict (docs/decisions/0081-lab-pause-hold.md):
  - `pause: {}`: the background analysis still decides; Failed or Error aborts at once.
  - Inconclusive analysis: `reconcileBackgroundAnalysisRun` returns early while the Rollout has
    the `InconclusiveAnalysis` pause condition, so a background run that fails meanwhile does
    not abort by itself; the abort comes when the pause is lifted (a resume, or the person's
    abort), which the lab takes to be the end of the hold. A background run still running or
    successful then leaves the verdict `paused-inconclusive`, "still paused".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from paystream_ops.lab.analysis import AnalysisRun, Measure
from paystream_ops.lab.phases import Phase

DEFAULT_PROGRESS_DEADLINE_SECONDS = 600.0


@dataclass(frozen=True)
class SetWeight:
    weight: int


@dataclass(frozen=True)
class Pause:
    duration_seconds: float | None  # None: wait for a person


@dataclass(frozen=True)
class AnalysisStep:
    templates: tuple[str, ...]


Step = SetWeight | Pause | AnalysisStep


def describe_step(index: int, step: Step) -> str:
    if isinstance(step, SetWeight):
        return f"step {index}: setWeight {step.weight}"
    if isinstance(step, Pause):
        if step.duration_seconds is None:
            return f"step {index}: pause (indefinite)"
        return f"step {index}: pause {step.duration_seconds:g}s"
    return f"step {index}: analysis {', '.join(step.templates)}"


@dataclass(frozen=True)
class RolloutPlan:
    """What the lab needs from a Rollout: its steps, background analysis and deadline."""

    steps: tuple[Step, ...]
    background_templates: tuple[str, ...] = ()
    background_starting_step: int = 0
    progress_deadline_seconds: float = DEFAULT_PROGRESS_DEADLINE_SECONDS
    progress_deadline_abort: bool = False
    # The canary counts as available after being ready this long (spec.minReadySeconds).
    min_ready_seconds: float = 0.0

    @property
    def has_background(self) -> bool:
        return bool(self.background_templates)


class Verdict(StrEnum):
    PROMOTED = "promoted"
    ABORTED = "aborted"
    PAUSED_INCONCLUSIVE = "paused-inconclusive"
    PAUSED = "paused"
    DEGRADED = "degraded"  # progress deadline exceeded without progressDeadlineAbort


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    at: float
    step_index: int
    decided_by: str  # "step 1: analysis ...", "background analysis", "progress deadline", ...
    message: str
    deciding_metrics: tuple[str, ...] = ()
    paused_at: float | None = None  # when the Rollout paused, if it did before the verdict
    hold_ended_at: float | None = None  # when the lab's hold of that pause ended


@dataclass(frozen=True)
class Paused:
    """A pause the lab is holding: when, why, and what the verdict is if nothing changes."""

    at: float
    verdict: Verdict
    decided_by: str
    message: str
    deciding_metrics: tuple[str, ...]
    inconclusive: bool  # paused for inconclusive analysis: the background run does not abort


@dataclass(frozen=True)
class Event:
    at: float
    text: str


# (kind, step index) -> a fresh AnalysisRun started at `now`; kind is "step" or "background".
RunFactory = Callable[[str, int, tuple[str, ...], float], AnalysisRun]


@dataclass
class RolloutMachine:
    plan: RolloutPlan
    make_run: RunFactory
    started_at: float
    step_index: int = 0
    step_started_at: float = 0.0
    desired_weight: int = 0
    traffic_weight: int = 0  # what the router sends to the canary right now
    progress_since: float = 0.0
    canary_available: bool = False
    step_run: AnalysisRun | None = None
    background_run: AnalysisRun | None = None
    runs: list[tuple[str, AnalysisRun]] = field(default_factory=list)
    outcome: Outcome | None = None
    events: list[Event] = field(default_factory=list)
    # How long the lab holds a pause before giving its verdict (lab seconds; 0: no hold).
    pause_hold_seconds: float = 0.0
    paused: Paused | None = None
    _last_set_weight: int = 0

    def __post_init__(self) -> None:
        if not self.plan.steps:
            raise ValueError("a canary Rollout without steps is promoted at once; nothing to run")
        self.step_started_at = self.started_at
        self.progress_since = self.started_at
        self.events.append(Event(self.started_at, f"rollout started: {self.current_step_text}"))

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    @property
    def current_step_text(self) -> str:
        if self.step_index >= len(self.plan.steps):
            return "fully promoted"
        return describe_step(self.step_index, self.plan.steps[self.step_index])

    def active_runs(self) -> list[AnalysisRun]:
        return [r for r in (self.background_run, self.step_run) if r and not r.completed]

    def next_wakeup(self) -> float | None:
        """The earliest time something is due (a measurement, a pause end, the deadline)."""
        if self.finished:
            return None
        times = [t for r in self.active_runs() if (t := r.next_due()) is not None]
        if self.paused is not None:
            return min([*times, self.paused.at + self.pause_hold_seconds])
        step = self.plan.steps[self.step_index] if self.step_index < len(self.plan.steps) else None
        if isinstance(step, Pause) and step.duration_seconds is not None:
            times.append(self.step_started_at + step.duration_seconds)
        if isinstance(step, SetWeight) and not self.canary_available:
            times.append(self.progress_since + self.plan.progress_deadline_seconds)
        return min(times) if times else None

    # --- transitions ---------------------------------------------------------------------

    def _start_run(self, kind: str, templates: tuple[str, ...], now: float) -> AnalysisRun:
        run = self.make_run(kind, self.step_index, templates, now)
        label = "background" if kind == "background" else f"step {self.step_index}"
        self.runs.append((label, run))
        self.events.append(Event(now, f"AnalysisRun {run.name} started ({label})"))
        return run

    def _finish(
        self,
        verdict: Verdict,
        now: float,
        decided_by: str,
        message: str,
        deciding: Sequence[str] = (),
    ) -> None:
        if verdict is Verdict.ABORTED:
            self.desired_weight = 0
            self.traffic_weight = 0
        if verdict in {Verdict.ABORTED, Verdict.PROMOTED}:
            for run in self.active_runs():
                run.terminate(now)
        paused = self.paused
        self.outcome = Outcome(
            verdict,
            paused.at if paused and verdict is paused.verdict else now,
            self.step_index,
            decided_by,
            message,
            tuple(deciding),
            paused_at=paused.at if paused else None,
            hold_ended_at=now if paused else None,
        )
        if paused and verdict is paused.verdict:
            self.events.append(Event(now, f"still {verdict} at the end of the hold"))
        else:
            self.events.append(Event(now, f"{verdict}: {decided_by}: {message}".rstrip(": ")))

    def _pause(
        self,
        verdict: Verdict,
        now: float,
        decided_by: str,
        message: str,
        deciding: Sequence[str],
        *,
        inconclusive: bool,
    ) -> None:
        """Pause, held for `pause_hold_seconds` with the background analysis still running."""
        if self.pause_hold_seconds <= 0:
            self._finish(verdict, now, decided_by, message, deciding)
            return
        self.paused = Paused(now, verdict, decided_by, message, tuple(deciding), inconclusive)
        self.events.append(
            Event(
                now,
                f"{verdict}: {decided_by}: {message}".rstrip(": ")
                + "; held with the canary at its weight, the background analysis running",
            )
        )

    def _reconcile_hold(self, now: float, measure: Measure) -> None:
        paused = self.paused
        assert paused is not None
        background = self.background_run
        for run in self.active_runs():
            completed = run.completed
            run.reconcile(now, measure)
            if run.completed and not completed:
                self.events.append(
                    Event(now, f"AnalysisRun {run.name} {run.phase} during the pause")
                )
        failed = background is not None and background.phase in {Phase.FAILED, Phase.ERROR}
        # An explicit pause step: a failed background analysis still aborts at once; the
        # InconclusiveAnalysis pause condition stops that until the pause is lifted, which the
        # end of the hold stands for (the person's resume or abort).
        if now < paused.at + self.pause_hold_seconds and (paused.inconclusive or not failed):
            return
        if background is not None and failed:
            self._finish(
                Verdict.ABORTED,
                now,
                "background analysis",
                background.message,
                background.deciding_metrics(),
            )
            return
        self._finish(
            paused.verdict, now, paused.decided_by, paused.message, paused.deciding_metrics
        )

    def _react_to_run(self, run: AnalysisRun, now: float, decided_by: str) -> bool:
        """Abort or pause for a completed run; True if the Rollout stopped."""
        if run.phase in {Phase.FAILED, Phase.ERROR}:
            self._finish(Verdict.ABORTED, now, decided_by, run.message, run.deciding_metrics())
            return True
        if run.phase is Phase.INCONCLUSIVE:
            self._pause(
                Verdict.PAUSED_INCONCLUSIVE,
                now,
                decided_by,
                run.message,
                run.deciding_metrics(),
                inconclusive=True,
            )
            return True
        return False

    def _advance(self, now: float) -> None:
        if self.step_run is not None:
            self.step_run.terminate(now)
            self.step_run = None
        self.step_index += 1
        self.step_started_at = now
        self.progress_since = now
        self.events.append(Event(now, self.current_step_text))

    def reconcile(self, now: float, canary_available: bool, measure: Measure) -> None:
        """One pass of the analysis and rollout controllers at `now`."""
        if self.finished:
            return
        if canary_available and not self.canary_available:
            self.progress_since = now
            self.events.append(Event(now, "canary available"))
        self.canary_available = canary_available
        if self.paused is not None:
            self._reconcile_hold(now, measure)
            self._update_traffic()
            return
        for run in self.active_runs():
            run.reconcile(now, measure)
        # The rollout controller looks at the step's run before the background run
        # (reconcileAnalysisRuns), so a step analysis failing in the same instant is named.
        if self.step_run is not None and self._react_to_run(
            self.step_run, now, self.current_step_text
        ):
            self._update_traffic()
            return
        # A status change (a new step) makes the controller reconcile again at once.
        while not self.finished and self.paused is None:
            step_before = self.step_index
            self._reconcile_background(now, measure)
            if self.finished:
                break
            self._reconcile_steps(now, measure)
            if self.step_index == step_before:
                break
        self._update_traffic()

    def _reconcile_background(self, now: float, measure: Measure) -> None:
        plan = self.plan
        if not plan.has_background or self.step_index < plan.background_starting_step:
            return
        if self.step_index >= len(plan.steps):
            return
        if self.background_run is None:
            self.background_run = self._start_run("background", plan.background_templates, now)
            self.background_run.reconcile(now, measure)
        self._react_to_run(self.background_run, now, "background analysis")

    def _reconcile_steps(self, now: float, measure: Measure) -> None:
        plan = self.plan
        while not self.finished and self.paused is None and self.step_index < len(plan.steps):
            step = plan.steps[self.step_index]
            if isinstance(step, SetWeight):
                self.desired_weight = step.weight
                if not self.canary_available:
                    self._check_deadline(now)
                    return
                self._last_set_weight = step.weight
                self._advance(now)
            elif isinstance(step, Pause):
                if step.duration_seconds is None:
                    self._pause(
                        Verdict.PAUSED,
                        now,
                        self.current_step_text,
                        "waiting for promote",
                        (),
                        inconclusive=False,
                    )
                    return
                if now < self.step_started_at + step.duration_seconds:
                    return
                self._advance(now)
            else:
                if self.step_run is None:
                    self.step_run = self._start_run("step", step.templates, now)
                    self.step_run.reconcile(now, measure)
                run = self.step_run
                if self._react_to_run(run, now, self.current_step_text):
                    return
                if run.phase is not Phase.SUCCESSFUL:
                    return
                self.events.append(Event(now, f"AnalysisRun {run.name} Successful"))
                self._advance(now)
        if not self.finished and self.paused is None and self.step_index >= len(plan.steps):
            self._last_set_weight = 100
            self.desired_weight = 100
            self._finish(Verdict.PROMOTED, now, "all steps complete", "")

    def _check_deadline(self, now: float) -> None:
        plan = self.plan
        if now < self.progress_since + plan.progress_deadline_seconds:
            return
        message = (
            f"ProgressDeadlineExceeded: canary not available after "
            f"{plan.progress_deadline_seconds:g}s (progressDeadlineSeconds)"
        )
        verdict = Verdict.ABORTED if plan.progress_deadline_abort else Verdict.DEGRADED
        self._finish(verdict, now, "progress deadline", message)

    def _update_traffic(self) -> None:
        if self.finished and self.outcome and self.outcome.verdict is Verdict.ABORTED:
            self.traffic_weight = 0
            return
        if self.canary_available:
            self.traffic_weight = self._last_set_weight
        else:
            self.traffic_weight = 0
