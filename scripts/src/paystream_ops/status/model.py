"""What the on-call sees, as plain data: built by `build`, drawn by `render`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Threshold:
    """The limit a value must stay within to pass: `value <op> limit` (from the conditions)."""

    op: str  # "<=", "<", ">=", ">"
    limit: float
    arg: str | None  # the AnalysisRun arg it came from, if any

    def passes(self, value: float) -> bool:
        return {
            "<=": value <= self.limit,
            "<": value < self.limit,
            ">=": value >= self.limit,
            ">": value > self.limit,
        }[self.op]

    def text(self) -> str:
        return f"{self.op} {self.limit:g}" + (f" ({self.arg})" if self.arg else "")


@dataclass(frozen=True)
class ValueCheck:
    """One value of a measurement against the threshold: "ok", "over" or "no data" (NaN);
    "figure" for a figure's value, which has no threshold."""

    network: str | None  # None: a vector element whose network the value does not say
    value: float | None
    verdict: str


@dataclass(frozen=True)
class MetricView:
    name: str
    network: str | None  # from a `<network>-<signal>` name; None for a vector metric
    signal: str
    phase: str
    dry_run: bool
    count: int
    failed: int
    inconclusive: int
    error: int
    message: str
    threshold: Threshold | None
    last_value: str  # as the controller stored it ("0.03" or "[0.01,NaN,...]")
    last_phase: str
    last_at: str
    checks: tuple[ValueCheck, ...]
    history: tuple[tuple[str, str, str], ...]  # (finishedAt, phase, value or message)
    figure: bool = False  # `<network>-canary-<figure>`: what the canary saw, never a verdict


@dataclass(frozen=True)
class RunView:
    name: str
    kind: str  # "Step" or "Background"
    step: str  # the step index a Step run belongs to ("" for a Background run)
    phase: str
    message: str
    started_at: str
    completed_at: str
    current: bool
    metrics: tuple[MetricView, ...]
    deciding: tuple[str, ...]  # "visa failures", "failure-ratio-delta", ...

    @property
    def decided(self) -> str:
        if self.phase in ("Failed", "Error", "Inconclusive"):
            who = ", ".join(self.deciding) or "?"
            return f"{self.phase} on {who}" + (f": {self.message}" if self.message else "")
        if self.phase == "Successful":
            return "Successful: every metric passed"
        return f"{self.phase}: no verdict yet"


@dataclass(frozen=True)
class Revision:
    pod_hash: str
    image: str
    revision: str


@dataclass(frozen=True)
class RolloutView:
    name: str
    namespace: str
    phase: str
    message: str
    step_index: int | None
    step_count: int
    step_text: str
    canary_weight: int | None
    canary: Revision
    stable: Revision | None
    aborted: bool
    waiting_for: str  # what a paused rollout waits for ("" when not paused)


@dataclass(frozen=True)
class AppView:
    name: str
    part: str  # "service" or "platform"
    sync: str
    health: str
    revision: str


@dataclass(frozen=True)
class FreezeView:
    app: str
    frozen: bool
    manual_allowed: bool
    text: str


@dataclass(frozen=True)
class StatusView:
    source: str  # "context prod-eu1" or "lab lab-report/controller"
    env: str
    rollout: RolloutView
    runs: tuple[RunView, ...]
    apps: tuple[AppView, ...] | None  # None: not available from this source
    freeze: FreezeView | None
    notes: tuple[str, ...] = field(default_factory=tuple)
