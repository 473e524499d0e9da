"""One lab run on real processes: stable and canary granian, Prometheus, the traffic generator.

The edges (processes, HTTP, the clock) live here and in `startup`; the decisions live in the
pure modules (`rollout`, `analysis`, `expr`, `accounting`). Every process is started under an
ExitStack and stopped on the way out, whatever happens.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from paystream_auth.networks import failure_regex
from paystream_ops.errors import UserError
from paystream_ops.judge.verdict import Reading
from paystream_ops.lab import startup
from paystream_ops.lab.accounting import (
    Cost,
    RateReport,
    Sample,
    cost,
    first_canary_traffic,
    rate_report,
)
from paystream_ops.lab.analysis import AnalysisRun, Measure, Measurement, MetricSpec
from paystream_ops.lab.callers import CallerReport, caller_report, network_side
from paystream_ops.lab.controller_objects import ControllerObjects
from paystream_ops.lab.durations import format_prometheus_duration, parse_prometheus_duration
from paystream_ops.lab.manifests import (
    LabContext,
    LabManifests,
    RolloutAnalysis,
    ScaledArg,
    metric_specs,
    pod_template_hash,
    read_manifests,
)
from paystream_ops.lab.phases import Phase
from paystream_ops.lab.progress import Progress, Status
from paystream_ops.lab.provider import prometheus_measure
from paystream_ops.lab.readings import read_verdicts
from paystream_ops.lab.rollout import Event, Outcome, RolloutMachine, Verdict
from paystream_ops.lab.scenario import Expectation, Scenario
from paystream_ops.lab.shared_prometheus import SharedPrometheus
from paystream_ops.lab.startup import Live
from paystream_ops.lab.synthetic import SyntheticLoad, read_synthetic_load
from paystream_ops.lab.targets import ScrapePlan
from paystream_ops.lab.traffic import TrafficGenerator
from paystream_ops.lab.warmup import earliest_measurement_seconds, warm_up_seconds
from paystream_ops.processes import PrometheusProcess, ServiceProcess, free_port
from paystream_ops.render import K8sObject
from paystream_ops.status.build import threshold

READY_POLL_SECONDS = 0.1
TICK_SECONDS = 0.05
CHART_WINDOW_ARG = "window"


@dataclass(frozen=True)
class LabOptions:
    scenario: Scenario
    scenario_path: Path
    objects: list[K8sObject]
    overlay: str
    time_scale: float
    rate_per_second: float  # real-time equivalent
    seed: int
    max_lab_seconds: float = 300.0
    keep_workdir: Path | None = None
    # Where the Rollout and AnalysisRuns are written as the controller stores them (None: not).
    controller_dir: Path | None = None
    pause_hold_seconds: float | None = None  # real time; None: the scenario's
    # A Prometheus held across runs (the test session's); None: the run starts its own.
    prometheus: SharedPrometheus | None = None

    @property
    def pause_hold(self) -> float:
        """Real-time seconds a pause is held before the verdict (docs/decisions/0081-*)."""
        if self.pause_hold_seconds is not None:
            return self.pause_hold_seconds
        return self.scenario.pause_hold_seconds


@dataclass(frozen=True)
class ChartPoint:
    at: float  # lab seconds since the rollout started
    role: str
    network: str
    failure_ratio: float | None
    p99_seconds: float | None  # lab seconds (x time scale for real time)


@dataclass(frozen=True)
class MeasurementRecord:
    analysis: str
    run: str
    metric: str
    dry_run: bool
    measurement: Measurement


@dataclass
class LabResult:
    options: LabOptions
    manifests: LabManifests
    outcome: Outcome
    events: list[Event]
    measurements: list[MeasurementRecord]
    samples: list[Sample]
    chart: list[ChartPoint]
    scrape: ScrapePlan
    rollout_started_at: float  # lab clock, seconds
    first_traffic_at: float | None  # lab seconds since rollout start
    cost: Cost
    rate: RateReport
    scaled_args: dict[str, list[ScaledArg]]
    deciding_interval_seconds: float | None  # lab seconds
    wall_seconds: float
    step_changes: list[tuple[float, str]] = field(default_factory=list)
    # The counts behind each deciding network-and-signal metric (paystream_ops/judge/).
    readings: list[Reading] = field(default_factory=list)
    # Requests each synthetic-load generator issued (dry-run Job metric name -> count).
    synthetic_issued: dict[str, int] = field(default_factory=dict)
    # Each deciding metric's bar (the limit its failure condition compares the value with).
    bars: dict[str, float] = field(default_factory=dict)
    # Retries, double authorizations and holds left per network (paystream_ops/lab/callers.py).
    callers: CallerReport | None = None

    @property
    def time_scale(self) -> float:
        return self.options.time_scale

    @property
    def verdict(self) -> Verdict:
        return self.outcome.verdict

    @property
    def expectation(self) -> Expectation:
        """The scenario's expectation for the overlay this run used."""
        return self.options.scenario.expect.for_overlay(self.options.overlay)

    @property
    def matched_expectation(self) -> bool:
        expect = self.expectation
        if self.verdict != expect.verdict:
            return False
        if expect.decided_by is not None and self.decided_by_kind != expect.decided_by:
            return False
        if self.callers is not None and (
            self.callers.total("double_authorizations") or self.callers.total("holds_left")
        ):
            return False  # a second hold on a card is never what any scenario expects
        if (
            expect.max_affected_transactions is not None
            and self.cost.affected_transactions > expect.max_affected_transactions
        ):
            return False
        intervals = self.analysis_intervals_to_decision
        return not (
            expect.max_analysis_intervals is not None
            and (intervals is None or intervals > expect.max_analysis_intervals)
        )

    @property
    def decided_by_kind(self) -> str:
        text = self.outcome.decided_by
        if text == "background analysis":
            return "background analysis"
        if text == "progress deadline":
            return "progress deadline"
        if ": analysis" in text:
            return "step analysis"
        return "steps"

    @property
    def decision_after_first_traffic_seconds(self) -> float | None:
        if self.first_traffic_at is None:
            return None
        return max(0.0, self.outcome.at - self.first_traffic_at) * self.time_scale

    @property
    def analysis_intervals_to_decision(self) -> float | None:
        seconds = self.decision_after_first_traffic_seconds
        if seconds is None or not self.deciding_interval_seconds:
            return None
        return seconds / (self.deciding_interval_seconds * self.time_scale)

    @property
    def canary_exposure_seconds(self) -> float:
        if self.first_traffic_at is None:
            return 0.0
        # A held pause keeps the canary at its weight until the hold ends.
        end = self.outcome.hold_ended_at
        end = self.outcome.at if end is None else end
        return max(0.0, end - self.first_traffic_at) * self.time_scale


# --------------------------------------------------------------------------------------------
# The run


def _is_ready(client: httpx.Client, service: ServiceProcess) -> bool:
    if service.proc is None or service.proc.poll() is not None:
        return False
    try:
        return client.get(f"{service.base_url}/readyz", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def _expositions(client: httpx.Client, services: tuple[ServiceProcess, ...]) -> list[str]:
    """Each running process's `/metrics` (a canary that never started has none)."""
    texts: list[str] = []
    for service in services:
        if service.proc is None or service.proc.poll() is not None:
            continue
        try:
            texts.append(client.get(f"{service.base_url}/metrics", timeout=5.0).text)
        except httpx.HTTPError:
            continue
    return texts


@dataclass
class _Rollout:
    """One rollout in progress: the machine and what the loop records about it."""

    machine: RolloutMachine
    started_at: float  # lab clock
    window: str
    status: Status
    chart: list[ChartPoint] = field(default_factory=list)
    step_changes: list[tuple[float, str]] = field(default_factory=list)
    last_step: int = 0
    seen_events: int = 0
    # Argo Rollouts shifts traffic only to available pods: ready for minReadySeconds.
    ready: bool = False
    ready_since: float | None = None
    next_ready: float = 0.0
    next_chart: float = 0.0
    readings: list[Reading] = field(default_factory=list)


class Lab:
    def __init__(self, options: LabOptions, progress: Progress) -> None:
        self.options = options
        self.progress = progress
        self.scale = options.time_scale
        self.manifests = read_manifests(options.objects, options.overlay, self.scale)
        template_text = repr(self.manifests.rollout["spec"].get("template"))
        self.stable_hash = pod_template_hash(template_text + "stable")
        self.canary_hash = pod_template_hash(
            template_text + repr(options.scenario.release("canary")) + "canary"
        )
        shared = options.prometheus
        self.prometheus_port = free_port() if shared is None else shared.running.port
        self.context = LabContext(
            time_scale=self.scale,
            prometheus_address=f"http://127.0.0.1:{self.prometheus_port}",
            canary_hash=self.canary_hash,
            stable_hash=self.stable_hash,
        )
        # Resolve every analysis now: a template the lab cannot run fails before any process.
        self.specs: dict[str, list[MetricSpec]] = {
            label: metric_specs(analysis, self.manifests, self.context)
            for label, analysis in self.manifests.analyses()
        }
        self.run_count = 0
        self.controller = ControllerObjects(self.manifests, self.context, options.controller_dir)
        # The overlay's synthetic load (Job metrics), started and stopped with their runs.
        self.synthetic = read_synthetic_load(self.manifests, options.objects)
        self.store_secrets = startup.shared_store_secrets()
        self._synthetic_runs: list[tuple[SyntheticLoad, AnalysisRun]] = []
        self._synthetic_generators: dict[int, TrafficGenerator] = {}
        self.synthetic_issued: dict[str, int] = {}

    # ---- analysis runs ------------------------------------------------------------------

    def _analysis_for(self, kind: str, step_index: int) -> tuple[str, RolloutAnalysis]:
        if kind == "background":
            assert self.manifests.background is not None
            return "background", self.manifests.background
        return f"step {step_index}", self.manifests.step_analyses[step_index]

    def _bars(self) -> dict[str, float]:
        """The bar of every deciding metric, read from its failure condition like `status` does."""
        bars: dict[str, float] = {}
        for specs in self.specs.values():
            for spec in specs:
                if spec.dry_run or spec.failure is None:
                    continue
                found = threshold({"failureCondition": spec.failure.source}, {})
                if found is not None:
                    bars[spec.name] = found.limit
        return bars

    def make_run(
        self, kind: str, step_index: int, templates: tuple[str, ...], now: float
    ) -> AnalysisRun:
        label, _ = self._analysis_for(kind, step_index)
        self.run_count += 1
        suffix = "bg" if kind == "background" else str(step_index)
        name = f"{self.manifests.name}-{self.canary_hash}-{suffix}"
        run = AnalysisRun(
            name,
            self.specs[label],
            now,
            error_retry_seconds=10.0 / self.scale,
        )
        self._synthetic_runs.extend(
            (load, run) for load in self.synthetic if load.analysis == label
        )
        return run

    def window_seconds(self) -> float:
        for scaled in self.manifests.scaled_args.values():
            for arg in scaled:
                if arg.name == CHART_WINDOW_ARG:
                    return parse_prometheus_duration(arg.value, "window")
        return 60.0 / self.scale

    # ---- processes ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _workdir(self) -> Iterator[Path]:
        if self.options.keep_workdir is not None:
            self.options.keep_workdir.mkdir(parents=True, exist_ok=True)
            yield self.options.keep_workdir
            return
        path = Path(tempfile.mkdtemp(prefix="paystream-lab-"))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    # ---- the run, phase by phase --------------------------------------------------------

    def run(self) -> LabResult:
        started_wall = time.monotonic()
        with contextlib.ExitStack() as stack, self._workdir() as workdir:
            spec = self._start_spec()
            live = startup.start(stack, workdir, spec)
            self._warm_up(live)
            startup.wait_release_scraped(live, spec)
            rollout = self._roll_out(stack, live)
            live.generator.stop()
            samples = live.generator.snapshot()
            side = network_side(_expositions(live.client, (live.stable, live.canary)))
        result = self._result(rollout, samples, live, started_wall)
        result.callers = caller_report(
            samples[-1] if samples else None, side, live.generator.callers == "retrying"
        )
        return result

    def _start_spec(self) -> startup.StartSpec:
        return startup.StartSpec(
            scenario=self.options.scenario,
            objects=self.options.objects,
            overlay=self.options.overlay,
            manifests=self.manifests,
            time_scale=self.scale,
            rate_per_second=self.options.rate_per_second,
            seed=self.options.seed,
            stable_hash=self.stable_hash,
            canary_hash=self.canary_hash,
            prometheus_port=self.prometheus_port,
            store_secrets=self.store_secrets,
            shared=self.options.prometheus,
        )

    def _warm_up(self, live: Live) -> None:
        """Stable serves alone, as it would have before the release, until every window the
        first measurement can look at is full (lab/warmup.py)."""
        warmup = warm_up_seconds(
            self.window_seconds(),
            live.plan.interval_seconds,
            earliest_measurement_seconds(self.manifests.plan, self.specs),
        )
        self.progress.event(
            live.clock(),
            self.scale,
            f"stable serving {self.options.rate_per_second:g} auth/s; "
            f"warm-up {warmup * self.scale:.0f}s",
        )
        time.sleep(max(0.0, warmup - live.clock()))

    def _roll_out(self, stack: contextlib.ExitStack, live: Live) -> _Rollout:
        """The release: a new ReplicaSet (the canary process) and the Rollout's steps."""
        stack.callback(live.canary.stop, 5.0)
        stack.callback(self._stop_synthetic, live)
        live.canary.start(wait_ready=False)
        started = live.clock()
        machine = RolloutMachine(
            self.manifests.plan,
            self.make_run,
            started_at=started,
            pause_hold_seconds=self.options.pause_hold / self.scale,
        )
        measure = prometheus_measure(live.client, live.clock)
        rollout = _Rollout(
            machine,
            started,
            window=format_prometheus_duration(self.window_seconds()),
            status=Status(
                self.options.scenario.name, self.scale, target_rate=self.options.rate_per_second
            ),
            step_changes=[(0.0, machine.current_step_text)],
            last_step=machine.step_index,
            next_ready=started,
            next_chart=started,
        )
        while not machine.finished:
            now = live.clock()
            if now - started > self.options.max_lab_seconds:
                raise UserError(
                    f"no verdict after {self.options.max_lab_seconds * self.scale:.0f}s real-time "
                    f"({machine.current_step_text}); raise --max-seconds or check the steps"
                )
            self._tick(live, rollout, measure, now)
            wake = machine.next_wakeup()
            sleep_until = min(wake if wake is not None else now + TICK_SECONDS, now + TICK_SECONDS)
            time.sleep(max(0.0, sleep_until - live.clock()))
        self._report_events(rollout)
        self._stop_synthetic(live)
        rollout.chart.extend(
            self._chart_points(live.client, live.prometheus, rollout.window, live.clock() - started)
        )
        assert machine.outcome is not None
        rollout.readings = read_verdicts(
            live.client,
            live.prometheus.base_url,
            self._deciding_values(machine),
            self._reading_args(rollout.window),
            self.scale,
        )
        return rollout

    def _deciding_values(self, machine: RolloutMachine) -> list[tuple[str, str]]:
        """Each deciding metric with the value of its last Failed measurement (else its last)."""
        assert machine.outcome is not None
        failed: dict[str, str] = {}
        last: dict[str, str] = {}
        for _, run in machine.runs:
            for name, result in run.results.items():
                if name not in machine.outcome.deciding_metrics or not result.measurements:
                    continue
                last.setdefault(name, result.measurements[-1].value)
                for m in result.measurements:
                    if m.phase is Phase.FAILED:
                        failed.setdefault(name, m.value)
        return sorted({**last, **failed}.items())

    def _reading_args(self, window: str) -> dict[str, str]:
        values: dict[str, str] = {}
        for template in self.manifests.templates.values():
            for arg in (template.get("spec") or {}).get("args") or []:
                if isinstance(arg.get("value"), str):
                    values.setdefault(str(arg["name"]), arg["value"])
        # As the analysis ran: time-scaled (the stall that shapes the latency margin, above all).
        for scaled in self.manifests.scaled_args.values():
            values.update({arg.name: arg.value for arg in scaled})
        values.update(
            {
                "namespace": self.manifests.namespace,
                "canary-hash": self.canary_hash,
                "stable-hash": self.stable_hash,
                "window": window,
            }
        )
        return values

    def _tick(self, live: Live, rollout: _Rollout, measure: Measure, now: float) -> None:
        """One pass of the loop: readiness, the machine, the traffic weight, events, chart."""
        machine = rollout.machine
        if now >= rollout.next_ready:
            is_ready = _is_ready(live.client, live.canary)
            rollout.ready_since = (rollout.ready_since or now) if is_ready else None
            rollout.ready = (
                rollout.ready_since is not None
                and now - rollout.ready_since >= self.manifests.plan.min_ready_seconds
            )
            rollout.next_ready = now + READY_POLL_SECONDS
        machine.reconcile(now, rollout.ready, measure)
        self.controller.update(machine, now, self.scale)
        live.generator.set_weight(machine.traffic_weight if rollout.ready else 0)
        self._synthetic_tick(live, machine.traffic_weight if rollout.ready else 0, now)
        if machine.step_index != rollout.last_step:
            rollout.last_step = machine.step_index
            rollout.step_changes.append((now - rollout.started_at, machine.current_step_text))
        self._report_events(rollout)
        if now >= rollout.next_chart:
            rollout.chart.extend(
                self._chart_points(
                    live.client, live.prometheus, rollout.window, now - rollout.started_at
                )
            )
            rollout.next_chart = now + max(live.plan.interval_seconds / 2, 0.25)
        self._update_status(rollout.status, machine, live.generator, now, rollout.ready)

    # ---- synthetic load (lab/synthetic.py) ----------------------------------------------

    def _synthetic_tick(self, live: Live, weight: float, now: float) -> None:
        """A Job metric's generator runs while its AnalysisRun does (Run ... Terminate)."""
        for load, run in self._synthetic_runs:
            key = id(run)
            generator = self._synthetic_generators.get(key)
            if generator is None and not run.completed:
                generator = TrafficGenerator(
                    stable=("127.0.0.1", live.stable.port),
                    canary=("127.0.0.1", live.canary.port),
                    rate=load.settings.rate_per_second * self.scale,
                    card_mix=load.settings.card_mix,
                    seed=self.options.seed + 7919,
                    timeout_seconds=live.generator.timeout_seconds,
                    t0=live.t0,
                    connections=load.settings.connections,
                    cards="test",
                )
                generator.start()
                self._synthetic_generators[key] = generator
                self.progress.event(
                    now,
                    self.scale,
                    f"synthetic load started ({load.analysis} analysis, ConfigMap "
                    f"{load.config_map}): {load.settings.rate_per_second:g} auth/s, test cards",
                )
            if generator is None:
                continue
            if run.completed:
                self._stop_one(key, load, now)
            else:
                generator.set_weight(weight)

    def _stop_one(self, key: int, load: SyntheticLoad, now: float) -> None:
        generator = self._synthetic_generators.pop(key)
        generator.stop()
        latest = generator.latest()
        self.synthetic_issued[load.metric] = self.synthetic_issued.get(load.metric, 0) + (
            latest.issued if latest else 0
        )
        self.progress.event(now, self.scale, f"synthetic load stopped ({load.analysis} analysis)")

    def _stop_synthetic(self, live: Live) -> None:
        """The rollout ended: its runs are terminated and the Jobs deleted."""
        for load, run in self._synthetic_runs:
            if id(run) in self._synthetic_generators:
                self._stop_one(id(run), load, live.clock())

    def _report_events(self, rollout: _Rollout) -> None:
        for event in rollout.machine.events[rollout.seen_events :]:
            self.progress.event(event.at, self.scale, event.text)
        rollout.seen_events = len(rollout.machine.events)

    def _result(
        self, rollout: _Rollout, samples: list[Sample], live: Live, started_wall: float
    ) -> LabResult:
        """The run's figures, on a clock that starts with the rollout."""
        start = rollout.started_at
        machine = rollout.machine
        rollout_samples = [dataclasses.replace(s, at=s.at - start) for s in samples]
        first = first_canary_traffic(rollout_samples)
        outcome = machine.outcome
        assert outcome is not None
        return LabResult(
            options=self.options,
            manifests=self.manifests,
            outcome=Outcome(
                outcome.verdict,
                outcome.at - start,
                outcome.step_index,
                outcome.decided_by,
                outcome.message,
                outcome.deciding_metrics,
                paused_at=None if outcome.paused_at is None else outcome.paused_at - start,
                hold_ended_at=(
                    None if outcome.hold_ended_at is None else outcome.hold_ended_at - start
                ),
            ),
            events=[Event(e.at - start, e.text) for e in machine.events],
            measurements=self._measurements(machine, start),
            samples=rollout_samples,
            chart=rollout.chart,
            scrape=live.plan,
            rollout_started_at=start,
            first_traffic_at=first,
            cost=cost(rollout_samples, first),
            # The rollout is what the figures are about; the warm-up only fills windows.
            rate=rate_report(
                [s for s in rollout_samples if s.at >= 0] or rollout_samples, live.lab_rate
            ),
            scaled_args=dict(self.manifests.scaled_args),
            deciding_interval_seconds=self._deciding_interval(machine),
            wall_seconds=time.monotonic() - started_wall,
            step_changes=rollout.step_changes,
            readings=rollout.readings,
            synthetic_issued=dict(self.synthetic_issued),
            bars=self._bars(),
        )

    def _update_status(
        self,
        status: Status,
        machine: RolloutMachine,
        generator: TrafficGenerator,
        now: float,
        ready: bool,
    ) -> None:
        status.lab_seconds = now
        status.step = machine.current_step_text
        status.weight = machine.traffic_weight
        status.canary_ready = ready
        latest = generator.latest()
        if latest is not None and latest.at > 0:
            status.achieved_rate = latest.issued / max(latest.at, 1e-9) / self.scale
            status.canary_requests = sum(
                latest.count("canary", n, c)
                for n in ("visa", "mastercard", "amex", "discover")
                for c in ("ok", "fail")
            )
            status.canary_failures = sum(
                latest.count("canary", n, "fail")
                for n in ("visa", "mastercard", "amex", "discover")
            )
        for label, run in machine.runs:
            for name, result in run.results.items():
                if result.measurements:
                    last = result.measurements[-1]
                    status.latest[name] = (label, str(last.phase), last.value or last.message)
        self.progress.update(status)

    def _chart_points(
        self, client: httpx.Client, prometheus: PrometheusProcess, window: str, at: float
    ) -> list[ChartPoint]:
        namespace = self.manifests.namespace
        selector = f'namespace="{namespace}"'
        failures = (
            f"sum by (network, role) (increase(paystream_auth_requests_total{{{selector},"
            f'outcome=~"{failure_regex()}"}}[{window}])) / '
            f"sum by (network, role) (increase(paystream_auth_requests_total{{{selector},"
            f'outcome!="invalid"}}[{window}]))'
        )
        p99 = (
            "histogram_quantile(0.99, sum by (le, network, role) "
            f"(rate(paystream_auth_request_duration_seconds_bucket{{{selector}}}[{window}])))"
        )
        values: dict[tuple[str, str], dict[str, float]] = {}
        for key, query in (("failure", failures), ("p99", p99)):
            try:
                response = client.get(
                    f"{prometheus.base_url}/api/v1/query", params={"query": query}, timeout=5.0
                ).json()
            except (httpx.HTTPError, ValueError):
                continue
            for sample in (response.get("data") or {}).get("result") or []:
                labels = sample["metric"]
                ident = (labels.get("role", "?"), labels.get("network", "?"))
                values.setdefault(ident, {})[key] = float(sample["value"][1])
        return [
            ChartPoint(at, role, network, v.get("failure"), v.get("p99"))
            for (role, network), v in sorted(values.items())
            if network != "unknown"
        ]

    def _measurements(self, machine: RolloutMachine, offset: float) -> list[MeasurementRecord]:
        records: list[MeasurementRecord] = []
        for label, run in machine.runs:
            for metric in run.metrics:
                result = run.results.get(metric.name)
                for m in result.measurements if result else []:
                    shifted = Measurement(
                        m.phase,
                        m.started_at - offset,
                        m.finished_at - offset,
                        m.value,
                        m.message,
                        m.values,
                    )
                    records.append(
                        MeasurementRecord(label, run.name, metric.name, metric.dry_run, shifted)
                    )
        records.sort(key=lambda r: r.measurement.started_at)
        return records

    def _deciding_interval(self, machine: RolloutMachine) -> float | None:
        outcome = machine.outcome
        if outcome is None:
            return None
        intervals = [
            m.interval_seconds
            for _, run in machine.runs
            for m in run.metrics
            if m.name in outcome.deciding_metrics and m.interval_seconds
        ]
        if intervals:
            return min(intervals)
        all_intervals = [
            m.interval_seconds for specs in self.specs.values() for m in specs if m.interval_seconds
        ]
        return min(all_intervals) if all_intervals else None


def run_lab(options: LabOptions, progress: Progress) -> LabResult:
    lab = Lab(options, progress)
    return lab.run()
