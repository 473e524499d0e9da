"""Staging evidence: the completed-rollout notification (base/delivery) checked field by field,
judged (did the analysis pass?), kept as one JSON file per digest and shown in the prod pull
request. Pure: the git side is `evidence_record.py`, the Markdown `evidence_markdown.py`.
docs/decisions/0095-promotion-on-staging-evidence.md
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from paystream_ops.errors import UserError
from paystream_ops.gitops import IMAGE_NAME, NothingToDo
from paystream_ops.gitops.evidence_figures import check_figure, is_figure
from paystream_ops.gitops.imageref import ImageRef, parse_image_ref

EVENT_TYPE = "paystream-rollout-completed"
EVIDENCE_DIR = "evidence/staging"
GENERATED_BY = "paystream-ops evidence record"
TOP_LEVEL = (
    "environment",
    "namespace",
    "rollout",
    "image",
    "revision",
    "rollout_status",
    "completed_at",
    "analysis_runs",
)
_K8S_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
_METRIC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_HASH = re.compile(r"^[a-z0-9]{1,20}$")
_NUMBER = r"(?:[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|NaN|Inf))"
# What the Prometheus provider stores: a scalar, or a vector's values as `[v,v,...]` (labels are
# dropped, argo-rollouts metricproviders/prometheus/prometheus.go processResponse).
_VALUE = re.compile(rf"^(?:|{_NUMBER}|\[(?:{_NUMBER}(?:,{_NUMBER})*)?\])$")
_PHASES = frozenset({"Pending", "Running", "Successful", "Failed", "Error", "Inconclusive"})
_RUN_TYPES = frozenset({"Step", "Background", ""})
MAX_MESSAGE = 1000
MAX_RUNS = 20
MAX_METRICS = 64
MAX_ARGS = 16
# The args the completion carries: the bars and minimum counts (`max-*`, `min-*`), numbers.
_ARG_NAME = re.compile(r"^(max|min)-[a-z0-9-]{1,60}$")
_ARG_VALUE = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,9})?$")


@dataclass(frozen=True)
class MetricEvidence:
    name: str
    phase: str
    count: int
    successful: int
    failed: int
    inconclusive: int
    error: int
    value: str
    started_at: str
    finished_at: str


@dataclass(frozen=True)
class ArgEvidence:
    name: str
    value: str


@dataclass(frozen=True)
class RunEvidence:
    name: str
    type: str
    phase: str
    started_at: str
    metrics: tuple[MetricEvidence, ...]
    # The run's bars and minimum counts; a payload from before they were sent has none.
    args: tuple[ArgEvidence, ...] = ()


@dataclass(frozen=True)
class RolloutStatus:
    aborted: bool
    promote_full: bool
    step_index: int | None
    steps: int
    phase: str
    message: str
    canary_hash: str
    stable_hash: str


@dataclass(frozen=True)
class CompletedEvent:
    """`client_payload` of the `paystream-rollout-completed` dispatch, checked."""

    environment: str
    namespace: str
    rollout: str
    image: ImageRef
    revision: int
    status: RolloutStatus
    completed_at: str
    analysis_runs: tuple[RunEvidence, ...]


@dataclass(frozen=True)
class Evidence:
    """What `evidence/staging/<digest>.json` holds: the event plus where Git stood."""

    event: CompletedEvent
    staging_commit: str  # the commit that put the image in staging's overlay

    @property
    def digest(self) -> str:
        assert self.event.image.digest is not None
        return self.event.image.digest


# -- reading the payload -------------------------------------------------------------------
class _Fields:
    """Typed access to one JSON object; every error names the field."""

    def __init__(self, data: object, where: str, source: str) -> None:
        if not isinstance(data, dict):
            raise UserError(f"{source}: {where}: expected an object, got {_kind(data)}")
        self.data: dict[str, Any] = data
        self.where = where
        self.source = source

    def raw(self, key: str) -> Any:
        if key not in self.data:
            raise UserError(f"{self.source}: {self.where}.{key}: missing")
        return self.data[key]

    def fail(self, key: str, problem: str) -> UserError:
        return UserError(f"{self.source}: {self.where}.{key}: {problem}")

    def text(self, key: str, pattern: re.Pattern[str] | None = None, limit: int = 253) -> str:
        value = self.raw(key)
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {_kind(value)}")
        if len(value) > limit:
            raise self.fail(key, f"longer than {limit} characters")
        if pattern is not None and pattern.match(value) is None:
            raise self.fail(key, f"{_shown(value)} is not allowed here")
        return value

    def boolean(self, key: str) -> bool:
        value = self.raw(key)
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {_kind(value)}")
        return value

    def count(self, key: str) -> int:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(key, f"expected a count (integer >= 0), got {_shown(value)}")
        return value

    def time(self, key: str, *, optional: bool = False) -> str:
        value = self.text(key, limit=40)
        if optional and value == "":
            return value
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise self.fail(key, f"{_shown(value)} is not an RFC 3339 time") from None
        if parsed.tzinfo is None:
            raise self.fail(key, f"{_shown(value)} has no time zone")
        return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def phase(self, key: str) -> str:
        value = self.text(key, limit=20)
        if value not in _PHASES:
            raise self.fail(key, f"{_shown(value)} is not an analysis phase")
        return value

    def items(self, key: str, limit: int) -> list[Any]:
        value = self.raw(key)
        if value is None:
            return []  # Go's nil slice renders as null
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {_kind(value)}")
        if len(value) > limit:
            raise self.fail(key, f"more than {limit} entries")
        return value


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _shown(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _metric(data: object, where: str, source: str) -> MetricEvidence:
    f = _Fields(data, where, source)
    metric = MetricEvidence(
        name=f.text("name", _METRIC_NAME),
        phase=f.phase("phase"),
        count=f.count("count"),
        successful=f.count("successful"),
        failed=f.count("failed"),
        inconclusive=f.count("inconclusive"),
        error=f.count("error"),
        value=f.text("value", _VALUE, limit=400),
        started_at=f.time("started_at", optional=True),
        finished_at=f.time("finished_at", optional=True),
    )
    problem = check_figure(metric.name, metric.value)
    if problem:
        raise f.fail("value", problem)
    return metric


def _arg(data: object, where: str, source: str) -> ArgEvidence:
    f = _Fields(data, where, source)
    unexpected = sorted(set(f.data) - {"name", "value"})
    if unexpected:
        raise f.fail(unexpected[0], "unexpected field (an arg is a name and a value)")
    return ArgEvidence(f.text("name", _ARG_NAME, limit=64), f.text("value", _ARG_VALUE, limit=20))


def _args(f: _Fields, where: str) -> tuple[ArgEvidence, ...]:
    if "args" not in f.data:
        return ()
    found = tuple(
        _arg(a, f"{where}.args[{i}]", f.source) for i, a in enumerate(f.items("args", MAX_ARGS))
    )
    names = [a.name for a in found]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise f.fail("args", f"{_shown(repeated[0])} given twice")
    return found


def _run(data: object, where: str, source: str) -> RunEvidence:
    f = _Fields(data, where, source)
    run_type = f.text("type", limit=20)
    if run_type not in _RUN_TYPES:
        raise f.fail("type", f"{_shown(run_type)} is not Step or Background")
    metrics = f.items("metrics", MAX_METRICS)
    return RunEvidence(
        name=f.text("name", _K8S_NAME),
        type=run_type,
        phase=f.phase("phase"),
        started_at=f.time("started_at", optional=True),
        metrics=tuple(_metric(m, f"{where}.metrics[{i}]", source) for i, m in enumerate(metrics)),
        args=_args(f, where),
    )


def _status(data: object, where: str, source: str) -> RolloutStatus:
    f = _Fields(data, where, source)
    step = f.raw("step_index")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
        raise f.fail("step_index", f"expected a step index or null, got {_shown(step)}")
    return RolloutStatus(
        aborted=f.boolean("aborted"),
        promote_full=f.boolean("promote_full"),
        step_index=step,
        steps=f.count("steps"),
        phase=f.text("phase", limit=40),
        message=f.text("message", limit=MAX_MESSAGE),
        canary_hash=f.text("canary_hash", _HASH),
        stable_hash=f.text("stable_hash", re.compile(r"^[a-z0-9]{0,20}$")),
    )


def parse_event(payload: object, source: str = "client_payload") -> CompletedEvent:
    """Every field checked; anything missing, mistyped or unexpected is one error line."""
    f = _Fields(payload, "client_payload", source)
    unexpected = sorted(set(f.data) - set(TOP_LEVEL))
    if unexpected:
        raise f.fail(unexpected[0], "unexpected field (not in the completed-rollout contract)")
    environment = f.text("environment", re.compile(r"^(staging|prod)$"), limit=10)
    image_text = f.text("image", limit=300)
    image = parse_image_ref(image_text, where=f"{source}: client_payload.image")
    if image.name != IMAGE_NAME or image.digest is None or image_text != str(image):
        raise f.fail("image", f"{_shown(image_text)} is not {IMAGE_NAME}[:TAG]@sha256:DIGEST")
    revision_text = f.text("revision", re.compile(r"^[1-9][0-9]{0,9}$"), limit=10)
    runs = f.items("analysis_runs", MAX_RUNS)
    return CompletedEvent(
        environment=environment,
        namespace=f.text("namespace", _K8S_NAME, limit=63),
        rollout=f.text("rollout", _K8S_NAME),
        image=image,
        revision=int(revision_text),
        status=_status(f.raw("rollout_status"), "client_payload.rollout_status", source),
        completed_at=f.time("completed_at"),
        analysis_runs=tuple(
            _run(r, f"client_payload.analysis_runs[{i}]", source) for i, r in enumerate(runs)
        ),
    )


def load_event(text: str, source: str) -> CompletedEvent:
    """The payload file the workflow writes: `client_payload` as JSON (repeated keys refused)."""
    try:
        payload = json.loads(text, object_pairs_hook=_no_repeats)
    except (json.JSONDecodeError, _Repeated) as exc:
        raise UserError(f"{source}: not a JSON object ({exc})") from None
    return parse_event(payload, source)


class _Repeated(ValueError):
    pass


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Repeated(f"key {key!r} repeated")
        out[key] = value
    return out


# -- judging -------------------------------------------------------------------------------
def _metrics_in(run: RunEvidence, phases: set[str]) -> list[str]:
    """The deciding metrics in `phases`; a figure never decides (it is shown, not judged:
    docs/decisions/0123-evidence-table-from-the-last-step.md)."""
    return [
        f"{run.name}/{m.name} {m.phase}"
        for m in run.metrics
        if m.phase in phases and not is_figure(m.name)
    ]


def check_passed(event: CompletedEvent, source: str) -> None:
    """A completion is evidence only if the analysis of that revision passed by the
    controller's own verdicts (phases; a measurement failed within a metric's failureLimit is
    shown, not refused): every step done, every step run Successful, no run or metric Failed,
    Error or Inconclusive. The background run may still be Running when the event fires (the
    controller terminates it after promoting, argo-rollouts rollout/sync.go promoteStable)."""
    where = f"{source}: client_payload"
    s = event.status
    if s.aborted:
        raise UserError(f"{where}.rollout_status.aborted: true: an aborted rollout is not evidence")
    if s.phase == "Degraded":
        raise UserError(f"{where}.rollout_status.phase: Degraded: reported as completed")
    runs = event.analysis_runs
    failing = [f"{r.name} {r.phase}" for r in runs if r.phase in {"Failed", "Error"}]
    failing += [m for r in runs for m in _metrics_in(r, {"Failed", "Error"})]
    if failing:
        raise UserError(
            f"{where}.analysis_runs: {', '.join(failing[:3])}: reported as completed but the "
            "analysis did not pass"
        )
    undecided = [f"{r.name} {r.phase}" for r in runs if r.phase == "Inconclusive"]
    undecided += [m for r in runs for m in _metrics_in(r, {"Inconclusive"})]
    if undecided:
        raise NothingToDo(
            f"{where}.analysis_runs: {', '.join(undecided[:3])}: a person promoted past an "
            "analysis that could not decide; no evidence recorded"
        )
    if s.promote_full:
        raise NothingToDo(
            f"{where}.rollout_status.promote_full: true: a person promoted revision "
            f"{event.revision} in full, so the analysis did not decide; no evidence recorded"
        )
    if s.steps and s.step_index != s.steps:
        raise NothingToDo(
            f"{where}.rollout_status.step_index: {s.step_index} of {s.steps} steps: completed "
            "without running every step (rollback within the window?); no evidence recorded"
        )
    steps = [r for r in runs if r.type == "Step"]
    if not steps or any(r.phase != "Successful" for r in steps):
        raise NothingToDo(
            f"{where}.analysis_runs: no Successful step analysis for revision {event.revision}; "
            "no evidence recorded"
        )


def check_environment(event: CompletedEvent, source: str) -> None:
    if event.environment != "staging":
        raise NothingToDo(
            f"{source}: client_payload.environment: {event.environment}: only staging's "
            "completions are promotion evidence"
        )


def check_against_history(
    event: CompletedEvent,
    source: str,
    current: ImageRef,
    staging_images: Sequence[ImageRef],
    recorded: Sequence[Evidence],
) -> None:
    """The event is for what staging's overlay runs now, and newer than anything recorded."""
    where = f"{source}: client_payload"
    if not event.image.same_build(current):
        if any(event.image.same_build(old) for old in staging_images):
            raise NothingToDo(
                f"{where}.image: {event.image.short} is no longer what staging's overlay runs "
                f"({current.short}); stale event, nothing recorded"
            )
        raise UserError(
            f"{where}.image: {event.image} was never in staging's overlay (it runs "
            f"{current}); refused"
        )
    same = [
        e
        for e in recorded
        if (e.event.namespace, e.event.rollout) == (event.namespace, event.rollout)
    ]
    newest = max(same, key=lambda e: e.event.revision, default=None)
    if newest is None:
        return
    if event.revision < newest.event.revision:
        raise NothingToDo(
            f"{where}.revision: {event.revision} is older than revision "
            f"{newest.event.revision} already recorded; nothing recorded"
        )
    if event.revision == newest.event.revision:
        if newest.event.image.same_build(event.image):
            raise NothingToDo(
                f"{where}.revision: revision {event.revision} of {event.image.short} is already "
                "recorded (a replayed or duplicate event); nothing recorded"
            )
        raise UserError(
            f"{where}.revision: revision {event.revision} is recorded with "
            f"{newest.event.image.short}, not {event.image.short}; refused"
        )


# -- the evidence file ---------------------------------------------------------------------
def evidence_path(image: ImageRef) -> str:
    assert image.digest is not None
    return f"{EVIDENCE_DIR}/{image.digest.replace(':', '-')}.json"


def dump_evidence(evidence: Evidence) -> str:
    e = evidence.event
    data = {
        "generated_by": GENERATED_BY,
        "staging_commit": evidence.staging_commit,
        **{k: v for k, v in asdict(e).items() if k not in {"image", "status"}},
        "image": str(e.image),
        "rollout_status": asdict(e.status),
        "revision": str(e.revision),
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def load_evidence(text: str, source: str) -> Evidence:
    try:
        data = json.loads(text, object_pairs_hook=_no_repeats)
    except (json.JSONDecodeError, _Repeated) as exc:
        raise UserError(f"{source}: not JSON ({exc})") from None
    f = _Fields(data, "evidence", source)
    if f.text("generated_by") != GENERATED_BY:
        raise f.fail("generated_by", f"expected {GENERATED_BY!r}")
    commit = f.text("staging_commit", re.compile(r"^[0-9a-f]{40}$"))
    payload = {k: v for k, v in data.items() if k in TOP_LEVEL}
    return Evidence(parse_event(payload, source), commit)
