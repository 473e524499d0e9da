"""The lab writes what the controller writes: its Rollout and AnalysisRuns as Argo Rollouts
stores them, so `paystream-ops status --from-lab DIR` reads a lab run like a cluster.

Field names and phase strings are argo-rollouts v1.9.1's (the pinned CRDs):
`pkg/apis/rollouts/v1alpha1/types.go` (`RolloutStatus`, `CanaryStatus`, `TrafficWeights`,
`PauseCondition`, `RolloutAnalysisRunStatus`, the `RolloutPhase` and `PauseReason` constants) and
`analysis_types.go` (`AnalysisRunStatus`, `MetricResult`, `Measurement`, `RunSummary`). Values:
- the Rollout's phase and message as `utils/rollout/rolloututil.go` `CalculateRolloutPhase`
  computes them (Degraded "RolloutAborted: ..." after an abort, Paused with the pause reason,
  Progressing "waiting for all steps to complete", Healthy);
- the abort message as `rollout/analysis.go` builds it ("Step-based analysis phase error/failed: "
  or "Background analysis phase error/failed: " + the run's message) inside
  `utils/conditions` `RolloutAbortedMessage` ("Rollout aborted update to revision %d");
- a metric keeps its last 10 measurements (`analysis/analysis.go`
  `DefaultMeasurementHistoryLimit`) and its resolved query in `metadata.ResolvedPrometheusQuery`
  (`metricproviders/prometheus`);
- an AnalysisRun's spec holds its templates' metrics as written and the args' values
  (`utils/analysis` `NewAnalysisRunFromTemplates`): the controller substitutes at measurement;
  its `dryRun` is the Rollout's rules then the templates' (`mergeDryRunMetrics`).

Timestamps are real-time equivalents: the rollout's start plus lab seconds x time scale.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from paystream_ops.lab.analysis import AnalysisRun, Measurement, MetricResult
from paystream_ops.lab.manifests import LabContext, LabManifests, resolve_args
from paystream_ops.lab.phases import Phase
from paystream_ops.lab.rollout import Pause, RolloutMachine, Verdict

API_VERSION = "argoproj.io/v1alpha1"
MEASUREMENT_HISTORY_LIMIT = 10
STABLE_REVISION = "1"
CANARY_REVISION = "2"
REVISION_ANNOTATION = "rollout.argoproj.io/revision"
K8sObject = dict[str, Any]


def _time(origin: datetime, lab_seconds: float, started_at: float, scale: float) -> str:
    at = origin + timedelta(seconds=(lab_seconds - started_at) * scale)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Clock:
    """Lab seconds to the RFC 3339 times the API server stores (metav1.Time)."""

    origin: datetime
    started_at: float
    scale: float

    def at(self, lab_seconds: float) -> str:
        return _time(self.origin, lab_seconds, self.started_at, self.scale)


def _measurement(m: Measurement, clock: Clock) -> K8sObject:
    out: K8sObject = {
        "phase": str(m.phase),
        "startedAt": clock.at(m.started_at),
        "finishedAt": clock.at(m.finished_at),
    }
    if m.value:
        out["value"] = m.value
    if m.message:
        out["message"] = m.message
    return out


def _metric_result(result: MetricResult, query: str, clock: Clock) -> K8sObject:
    out: K8sObject = {"name": result.name, "phase": str(result.phase)}
    kept = result.measurements[-MEASUREMENT_HISTORY_LIMIT:]
    if kept:
        out["measurements"] = [_measurement(m, clock) for m in kept]
    if result.message:
        out["message"] = result.message
    for key, value in (
        ("count", result.count),
        ("successful", result.successful),
        ("failed", result.failed),
        ("inconclusive", result.inconclusive),
        ("error", result.error),
        ("consecutiveError", result.consecutive_error),
    ):
        if value:  # omitempty
            out[key] = value
    if result.dry_run:
        out["dryRun"] = True
    out["metadata"] = {"ResolvedPrometheusQuery": query}
    return out


def _run_summary(results: Sequence[MetricResult]) -> K8sObject:
    summary: K8sObject = {"count": len(results)}
    for key, phase in (
        ("successful", Phase.SUCCESSFUL),
        ("failed", Phase.FAILED),
        ("inconclusive", Phase.INCONCLUSIVE),
        ("error", Phase.ERROR),
    ):
        n = sum(1 for r in results if r.phase is phase)
        if n:
            summary[key] = n
    return summary


@dataclass
class ControllerObjects:
    """Builds the objects from the lab's state machines (pure) and writes them when they change."""

    manifests: LabManifests
    context: LabContext
    directory: Path | None
    origin: datetime = field(default_factory=lambda: datetime.now(UTC))
    _last: str = ""
    _written: dict[str, str] = field(default_factory=dict)

    # ---- the objects -------------------------------------------------------------------

    def _templates_of(self, kind: str, step_index: int) -> tuple[str, Any]:
        if kind == "background":
            assert self.manifests.background is not None
            return "background", self.manifests.background
        return f"step {step_index}", self.manifests.step_analyses[step_index]

    def analysis_run(
        self, label: str, run: AnalysisRun, step_index: int, clock: Clock
    ) -> K8sObject:
        kind = "background" if label == "background" else "step"
        _, analysis = self._templates_of(kind, step_index)
        args, _ = resolve_args(analysis, self.manifests, self.context)
        metrics: list[K8sObject] = []
        dry_run: list[K8sObject] = [{"metricName": p} for p in analysis.dry_run]
        for ref in analysis.templates:
            template_spec = self.manifests.templates[(ref.name, ref.cluster_scope)].get("spec")
            metrics.extend(json.loads(json.dumps((template_spec or {}).get("metrics"))))
            dry_run.extend(json.loads(json.dumps((template_spec or {}).get("dryRun") or [])))
        queries = {m.name: m.query for m in run.metrics}
        results = [run.results[m.name] for m in run.metrics if m.name in run.results]
        status: K8sObject = {"phase": str(run.phase), "startedAt": clock.at(run.started_at)}
        if run.message:
            status["message"] = run.message
        if results:
            status["metricResults"] = [_metric_result(r, queries[r.name], clock) for r in results]
            live = [r for r in results if not r.dry_run]
            dry = [r for r in results if r.dry_run]
            status["runSummary"] = _run_summary(live)
            if dry:
                status["dryRunSummary"] = _run_summary(dry)
        if run.finished_at is not None:
            status["completedAt"] = clock.at(run.finished_at)
        spec: K8sObject = {
            "metrics": metrics,
            "args": [{"name": k, "value": v} for k, v in args.items()],
        }
        if dry_run:
            spec["dryRun"] = dry_run
        if run.terminate_requested:
            spec["terminate"] = True
        return {
            "apiVersion": API_VERSION,
            "kind": "AnalysisRun",
            "metadata": {
                "name": run.name,
                "namespace": self.manifests.namespace,
                "labels": {
                    "rollout-type": "Background" if kind == "background" else "Step",
                    "rollouts-pod-template-hash": self.context.canary_hash,
                    **({} if kind == "background" else {"step-index": str(step_index)}),
                },
                "annotations": {REVISION_ANNOTATION: CANARY_REVISION},
                "creationTimestamp": clock.at(run.started_at),
            },
            "spec": spec,
            "status": status,
        }

    def _abort_message(self, machine: RolloutMachine) -> str:
        outcome = machine.outcome
        assert outcome is not None
        if outcome.decided_by == "background analysis":
            detail = "Background analysis phase error/failed"
        elif outcome.decided_by == "progress deadline":
            return outcome.message
        else:
            detail = "Step-based analysis phase error/failed"
        return f"{detail}: {outcome.message}" if outcome.message else detail

    def _phase(self, machine: RolloutMachine, clock: Clock, now: float) -> K8sObject:
        """phase, message, pauseConditions, abort, conditions: `CalculateRolloutPhase`."""
        outcome = machine.outcome
        step = (
            machine.plan.steps[machine.step_index]
            if machine.step_index < len(machine.plan.steps)
            else None
        )
        at = clock.at(outcome.at if outcome else now)
        if outcome is not None and outcome.verdict is Verdict.ABORTED:
            message = f"Rollout aborted update to revision {CANARY_REVISION}: " + (
                self._abort_message(machine)
            )
            return {
                "phase": "Degraded",
                "message": f"RolloutAborted: {message}",
                "abort": True,
                "abortedAt": at,
                "conditions": [_condition("Progressing", "False", "RolloutAborted", message, at)],
            }
        if outcome is not None and outcome.verdict is Verdict.DEGRADED:
            return {
                "phase": "Degraded",
                "message": f"ProgressDeadlineExceeded: {outcome.message}",
                "conditions": [
                    _condition(
                        "Progressing", "False", "ProgressDeadlineExceeded", outcome.message, at
                    )
                ],
            }
        reason = None
        if outcome is not None and outcome.verdict is Verdict.PAUSED_INCONCLUSIVE:
            reason = "InconclusiveAnalysisRun"
        elif (isinstance(step, Pause) and outcome is None) or (
            outcome is not None and outcome.verdict is Verdict.PAUSED
        ):
            reason = "CanaryPauseStep"
            at = clock.at(machine.step_started_at)
        if reason is not None:
            return {
                "phase": "Paused",
                "message": reason,
                "controllerPause": True,
                "pauseConditions": [{"reason": reason, "startTime": at}],
                "conditions": [
                    _condition("Progressing", "Unknown", "RolloutPaused", "Rollout is paused", at)
                ],
            }
        if outcome is not None and outcome.verdict is Verdict.PROMOTED:
            return {
                "phase": "Healthy",
                "conditions": [
                    _condition(
                        "Progressing",
                        "True",
                        "NewReplicaSetAvailable",
                        "Rollout has completed rollout",
                        at,
                    )
                ],
            }
        return {
            "phase": "Progressing",
            "message": "waiting for all steps to complete",
            "conditions": [
                _condition(
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    f'ReplicaSet "{self.manifests.name}-{self.context.canary_hash}" '
                    "is progressing.",
                    clock.at(machine.progress_since),
                )
            ],
        }

    def rollout(self, machine: RolloutMachine, clock: Clock, now: float) -> K8sObject:
        canary = (self.manifests.rollout.get("spec") or {}).get("strategy", {}).get("canary", {})
        promoted = machine.outcome is not None and machine.outcome.verdict is Verdict.PROMOTED
        aborted = machine.outcome is not None and machine.outcome.verdict is Verdict.ABORTED
        # Fully promoted, the new ReplicaSet is stable and the canary's desired weight is 0
        # again (rollout/trafficrouting.go reconcileTrafficRouting, IsFullyPromoted).
        weight = 0 if promoted else machine.traffic_weight
        weights: K8sObject = {
            "canary": {"weight": weight, "podTemplateHash": self.context.canary_hash},
            "stable": {
                "weight": 100 - weight,
                "podTemplateHash": self.context.canary_hash
                if promoted
                else self.context.stable_hash,
            },
        }
        for role in ("canary", "stable"):
            service = canary.get(f"{role}Service")
            if service:
                weights[role]["serviceName"] = service
        canary_status: K8sObject = {"weights": weights}
        latest: dict[str, tuple[AnalysisRun, str]] = {}
        for label, run in machine.runs:
            latest["background" if label == "background" else "step"] = (run, label)
        for kind, key in (
            ("step", "currentStepAnalysisRunStatus"),
            ("background", "currentBackgroundAnalysisRunStatus"),
        ):
            if kind in latest:
                run, _ = latest[kind]
                entry: K8sObject = {"name": run.name, "status": str(run.phase)}
                if run.message:
                    entry["message"] = run.message
                canary_status[key] = entry
        status: K8sObject = {
            "currentPodHash": self.context.canary_hash,
            "stableRS": self.context.canary_hash if promoted else self.context.stable_hash,
            # An abort sends the step back to 0 (rollout/canary.go syncRolloutStatusCanary).
            "currentStepIndex": 0 if aborted else machine.step_index,
            "canary": canary_status,
            "observedGeneration": "2",
            **self._phase(machine, clock, now),
        }
        obj = json.loads(json.dumps(self.manifests.rollout))
        metadata = obj.setdefault("metadata", {})
        metadata.setdefault("namespace", self.manifests.namespace)
        metadata["generation"] = 2
        metadata.setdefault("annotations", {})[REVISION_ANNOTATION] = CANARY_REVISION
        obj["status"] = status
        return dict(obj)

    def replica_sets(self) -> list[K8sObject]:
        """The two ReplicaSets (stable: revision 1, canary: revision 2) with their images."""
        template = (self.manifests.rollout.get("spec") or {}).get("template") or {}
        out: list[K8sObject] = []
        for hash_, revision in (
            (self.context.stable_hash, STABLE_REVISION),
            (self.context.canary_hash, CANARY_REVISION),
        ):
            pod = json.loads(json.dumps(template))
            labels = {**(pod.get("metadata") or {}).get("labels", {})}
            labels["rollouts-pod-template-hash"] = hash_
            pod.setdefault("metadata", {})["labels"] = labels
            out.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": f"{self.manifests.name}-{hash_}",
                        "namespace": self.manifests.namespace,
                        "labels": labels,
                        "annotations": {REVISION_ANNOTATION: revision},
                    },
                    "spec": {"selector": {"matchLabels": labels}, "template": pod},
                }
            )
        return out

    def objects(self, machine: RolloutMachine, now: float, scale: float) -> list[K8sObject]:
        clock = Clock(self.origin, machine.started_at, scale)
        runs = [
            self.analysis_run(label, run, _step_of(label), clock) for label, run in machine.runs
        ]
        return [self.rollout(machine, clock, now), *self.replica_sets(), *runs]

    # ---- the edge ----------------------------------------------------------------------

    def update(self, machine: RolloutMachine, now: float, scale: float) -> None:
        """Write the objects when the machine's state changed (cheap to call every tick)."""
        if self.directory is None:
            return
        key = repr(
            (
                machine.step_index,
                machine.traffic_weight,
                machine.outcome,
                [
                    (r.name, r.phase, sum(len(x.measurements) for x in r.results.values()))
                    for _, r in machine.runs
                ],
            )
        )
        if key == self._last:
            return
        self._last = key
        write_objects(self.directory, self.objects(machine, now, scale), self._written)


def _step_of(label: str) -> int:
    return int(label.split()[-1]) if label.startswith("step ") else -1


def _condition(type_: str, status: str, reason: str, message: str, at: str) -> K8sObject:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": at,
        "lastUpdateTime": at,
    }


def file_name(obj: K8sObject) -> str:
    return f"{str(obj['kind']).lower()}-{obj['metadata']['name']}.yaml"


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: the lab loop stays light


def write_objects(
    directory: Path, objects: Sequence[K8sObject], written: dict[str, str] | None = None
) -> None:
    """One YAML file per object, each replaced atomically (a reader never sees half a file);
    with `written` (file name -> last text), an unchanged object is not written again."""
    directory.mkdir(parents=True, exist_ok=True)
    for obj in objects:
        name = file_name(obj)
        text = yaml.dump(obj, Dumper=_DUMPER, sort_keys=False)
        if written is not None:
            if written.get(name) == text:
                continue
            written[name] = text
        path = directory / name
        tmp = path.with_suffix(".yaml.tmp")
        tmp.write_text(text)
        tmp.replace(path)
