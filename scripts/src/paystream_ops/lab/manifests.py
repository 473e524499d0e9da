"""What the lab reads from the rendered overlay: the Rollout's plan and its analysis, resolved.

Argument resolution follows argo-rollouts `utils/analysis/factory.go`
(`BuildArgumentsForRolloutAnalysisRun`: `value`, `valueFrom.podTemplateHashValue: Latest|Stable`,
`valueFrom.fieldRef`), `utils/analysis/helpers.go` (`FlattenTemplates`, `MergeArgs`: only args a
template declares are used, a declared arg left without a value is an error, two templates giving
one arg different values is an error) and `utils/template/template.go` (`{{args.NAME}}` anywhere
in a metric; an unknown tag is an error).

Time scaling (the lab's only departure, stated in every report): durations in the Rollout and the
templates (pause durations, `interval`, `initialDelay`, `progressDeadlineSeconds`) are divided by
the time scale, and so are args whose value is a PromQL range (`2m`) or whose name ends in
`-seconds` (a latency threshold, since the service's simulated latencies shrink by the same
factor). The `prometheus-address` arg and every provider address point at the lab's Prometheus.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from paystream_ops.errors import UserError
from paystream_ops.lab.analysis import MetricSpec
from paystream_ops.lab.durations import (
    is_prometheus_duration,
    parse_go_duration,
    parse_pause_duration,
    scale_prometheus_duration,
)
from paystream_ops.lab.expr import compile_condition
from paystream_ops.lab.rollout import (
    DEFAULT_PROGRESS_DEADLINE_SECONDS,
    AnalysisStep,
    Pause,
    RolloutPlan,
    SetWeight,
    Step,
)
from paystream_ops.render import K8sObject

ROLLOUT_KIND = "Rollout"
TEMPLATE_KINDS = ("AnalysisTemplate", "ClusterAnalysisTemplate")
PROMETHEUS_ADDRESS_ARG = "prometheus-address"
_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_UNSUPPORTED_STEPS = ("experiment", "setCanaryScale", "setHeaderRoute", "setMirrorRoute", "plugin")
_SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


# --------------------------------------------------------------------------------------------
# Plain data read from the manifests


@dataclass(frozen=True)
class TemplateRef:
    name: str
    cluster_scope: bool = False

    @property
    def kind(self) -> str:
        return "ClusterAnalysisTemplate" if self.cluster_scope else "AnalysisTemplate"


@dataclass(frozen=True)
class ArgSource:
    name: str
    value: str | None = None
    pod_template_hash: str | None = None  # Latest | Stable
    field_path: str | None = None


@dataclass(frozen=True)
class RolloutAnalysis:
    """`steps[i].analysis` or `strategy.canary.analysis`, as written in the Rollout."""

    where: str
    templates: tuple[TemplateRef, ...]
    args: tuple[ArgSource, ...]
    dry_run: tuple[str, ...] = ()

    @property
    def template_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.templates)


@dataclass(frozen=True)
class LabContext:
    """What differs between the cluster and the lab when analysis runs."""

    time_scale: float
    prometheus_address: str
    canary_hash: str
    stable_hash: str


@dataclass(frozen=True)
class ScaledArg:
    name: str
    original: str
    value: str


@dataclass
class LabManifests:
    source: str
    rollout: K8sObject
    plan: RolloutPlan
    step_analyses: dict[int, RolloutAnalysis]
    background: RolloutAnalysis | None
    templates: dict[tuple[str, bool], K8sObject]
    pod_monitor: K8sObject | None
    scaled_args: dict[str, list[ScaledArg]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.rollout["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.rollout["metadata"].get("namespace") or "default")

    def pod_labels(self, role: str) -> dict[str, str]:
        """Labels a canary or stable pod carries: the template's plus canary/stableMetadata."""
        spec = self.rollout["spec"]
        labels = {
            str(k): str(v)
            for k, v in ((spec.get("template") or {}).get("metadata") or {})
            .get("labels", {})
            .items()
        }
        key = "canaryMetadata" if role == "canary" else "stableMetadata"
        extra = ((spec.get("strategy") or {}).get("canary") or {}).get(key) or {}
        labels.update({str(k): str(v) for k, v in (extra.get("labels") or {}).items()})
        return labels

    def analyses(self) -> list[tuple[str, RolloutAnalysis]]:
        found = [(f"step {i}", a) for i, a in sorted(self.step_analyses.items())]
        if self.background is not None:
            found.append(("background", self.background))
        return found


# --------------------------------------------------------------------------------------------
# Helpers


def pod_template_hash(text: str) -> str:
    """A hash shaped like Kubernetes' (FNV-32a, then `rand.SafeEncodeString` of its digits)."""
    value = 0x811C9DC5
    for byte in text.encode():
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE_ALPHANUMS[b % len(_SAFE_ALPHANUMS)] for b in str(value).encode())


def _mapping(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UserError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _list(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise UserError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _int_or_string(value: object, where: str) -> int | None:
    """An IntOrString limit/count: an int, or a string holding one (after arg substitution)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise UserError(f"{where}: expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value.strip())
    raise UserError(f"{where}: expected an integer, got {value!r}")


def _object_where(source: str, obj: K8sObject) -> str:
    meta = obj.get("metadata") or {}
    return f"{source}: {obj.get('kind')}/{meta.get('name', '<unnamed>')}"


# --------------------------------------------------------------------------------------------
# Reading the Rollout


def _parse_analysis(block: object, where: str) -> RolloutAnalysis:
    data = _mapping(block, where)
    templates: list[TemplateRef] = []
    for i, ref in enumerate(_list(data.get("templates"), f"{where}.templates")):
        ref_map = _mapping(ref, f"{where}.templates[{i}]")
        name = ref_map.get("templateName")
        if not isinstance(name, str) or not name:
            raise UserError(f"{where}.templates[{i}].templateName: missing")
        templates.append(TemplateRef(name, bool(ref_map.get("clusterScope", False))))
    if not templates:
        raise UserError(f"{where}.templates: an analysis needs at least one template")
    args: list[ArgSource] = []
    for i, arg in enumerate(_list(data.get("args"), f"{where}.args")):
        arg_where = f"{where}.args[{i}]"
        arg_map = _mapping(arg, arg_where)
        name = arg_map.get("name")
        if not isinstance(name, str) or not name:
            raise UserError(f"{arg_where}.name: missing")
        value_from = arg_map.get("valueFrom")
        if value_from is None:
            value = arg_map.get("value")
            if value is not None and not isinstance(value, str):
                raise UserError(f"{arg_where}.value: args are strings, got {value!r}")
            args.append(ArgSource(name, value=value))
            continue
        source = _mapping(value_from, f"{arg_where}.valueFrom")
        if "podTemplateHashValue" in source:
            which = source["podTemplateHashValue"]
            if which not in {"Latest", "Stable"}:
                raise UserError(
                    f"{arg_where}.valueFrom.podTemplateHashValue: expected Latest or Stable, "
                    f"got {which!r}"
                )
            args.append(ArgSource(name, pod_template_hash=which))
        elif "fieldRef" in source:
            path = _mapping(source["fieldRef"], f"{arg_where}.valueFrom.fieldRef").get("fieldPath")
            if not isinstance(path, str) or not path:
                raise UserError(f"{arg_where}.valueFrom.fieldRef.fieldPath: missing")
            args.append(ArgSource(name, field_path=path))
        else:
            raise UserError(
                f"{arg_where}.valueFrom: the lab resolves podTemplateHashValue and fieldRef only"
            )
    dry_run = tuple(
        str(_mapping(d, f"{where}.dryRun[{i}]").get("metricName", ""))
        for i, d in enumerate(_list(data.get("dryRun"), f"{where}.dryRun"))
    )
    return RolloutAnalysis(where, tuple(templates), tuple(args), dry_run)


def _parse_steps(
    canary: dict[str, Any], where: str, time_scale: float
) -> tuple[list[Step], dict[int, RolloutAnalysis]]:
    steps: list[Step] = []
    analyses: dict[int, RolloutAnalysis] = {}
    for index, raw in enumerate(_list(canary.get("steps"), f"{where}.steps")):
        step_where = f"{where}.steps[{index}]"
        step = _mapping(raw, step_where)
        unsupported = [k for k in step if k in _UNSUPPORTED_STEPS]
        if unsupported:
            raise UserError(f"{step_where}.{unsupported[0]}: the canary lab does not run this step")
        if "setWeight" in step:
            weight = step["setWeight"]
            if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
                raise UserError(f"{step_where}.setWeight: expected 0..100, got {weight!r}")
            steps.append(SetWeight(weight))
        elif "pause" in step:
            pause = step["pause"] or {}
            duration = _mapping(pause, f"{step_where}.pause").get("duration")
            seconds = (
                None
                if duration is None
                else parse_pause_duration(duration, f"{step_where}.pause.duration") / time_scale
            )
            steps.append(Pause(seconds))
        elif "analysis" in step:
            analysis = _parse_analysis(step["analysis"], f"{step_where}.analysis")
            analyses[index] = analysis
            steps.append(AnalysisStep(analysis.template_names))
        else:
            raise UserError(f"{step_where}: unknown step {sorted(step)}")
    if not steps:
        raise UserError(f"{where}.steps: the lab needs canary steps to execute")
    return steps, analyses


def read_manifests(objects: Sequence[K8sObject], source: str, time_scale: float) -> LabManifests:
    """Find the Rollout, its templates and the PodMonitor; build the plan (scaled by F)."""
    rollouts = [o for o in objects if o.get("kind") == ROLLOUT_KIND]
    if len(rollouts) != 1:
        raise UserError(f"{source}: expected exactly one Rollout, found {len(rollouts)}")
    rollout = rollouts[0]
    where = _object_where(source, rollout)
    spec = _mapping(rollout.get("spec"), f"{where}: spec")
    strategy = _mapping(spec.get("strategy"), f"{where}: spec.strategy")
    if "canary" not in strategy:
        raise UserError(f"{where}: spec.strategy.canary: the lab runs canary Rollouts only")
    canary = _mapping(strategy["canary"], f"{where}: spec.strategy.canary")
    steps, analyses = _parse_steps(canary, f"{where}: spec.strategy.canary", time_scale)
    background: RolloutAnalysis | None = None
    starting_step = 0
    if canary.get("analysis"):
        background = _parse_analysis(canary["analysis"], f"{where}: spec.strategy.canary.analysis")
        starting_step = (
            _int_or_string(
                canary["analysis"].get("startingStep"),
                f"{where}: spec.strategy.canary.analysis.startingStep",
            )
            or 0
        )
    deadline = spec.get("progressDeadlineSeconds", DEFAULT_PROGRESS_DEADLINE_SECONDS)
    if isinstance(deadline, bool) or not isinstance(deadline, int | float) or deadline <= 0:
        raise UserError(
            f"{where}: spec.progressDeadlineSeconds: expected seconds, got {deadline!r}"
        )
    min_ready = spec.get("minReadySeconds", 0)
    if isinstance(min_ready, bool) or not isinstance(min_ready, int) or min_ready < 0:
        raise UserError(f"{where}: spec.minReadySeconds: expected seconds, got {min_ready!r}")
    plan = RolloutPlan(
        min_ready_seconds=float(min_ready) / time_scale,
        steps=tuple(steps),
        background_templates=background.template_names if background else (),
        background_starting_step=starting_step,
        progress_deadline_seconds=float(deadline) / time_scale,
        progress_deadline_abort=bool(spec.get("progressDeadlineAbort", False)),
    )
    templates = {
        (str(o["metadata"]["name"]), o["kind"] == "ClusterAnalysisTemplate"): o
        for o in objects
        if o.get("kind") in TEMPLATE_KINDS and (o.get("metadata") or {}).get("name")
    }
    monitors = [o for o in objects if o.get("kind") == "PodMonitor"]
    manifests = LabManifests(
        source=source,
        rollout=rollout,
        plan=plan,
        step_analyses=analyses,
        background=background,
        templates=templates,
        pod_monitor=monitors[0] if monitors else None,
    )
    for _label, analysis in manifests.analyses():
        for i, ref in enumerate(analysis.templates):
            if (ref.name, ref.cluster_scope) not in templates:
                raise UserError(
                    f"{analysis.where}.templates[{i}]: {ref.kind} {ref.name!r} is not in the "
                    f"rendered {source}"
                )
    return manifests


# --------------------------------------------------------------------------------------------
# Arguments


def _field_value(rollout: K8sObject, path: str, where: str) -> str:
    meta = rollout.get("metadata") or {}
    match = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if match:
        value = (meta.get(match.group(1)) or {}).get(match.group(2))
        if value is None:
            raise UserError(f"{where}: {path} is not set on the Rollout")
        return str(value)
    node: Any = rollout
    for section in (s for s in re.split(r"[.\[\]]+", path) if s):
        if isinstance(node, list):
            if not section.isdigit() or int(section) >= len(node):
                raise UserError(f"{where}: invalid path {path} in rollout")
            node = node[int(section)]
        elif isinstance(node, dict):
            node = node.get(section)
        else:
            raise UserError(f"{where}: invalid path {path} in rollout")
    if node is None or isinstance(node, dict | list):
        raise UserError(f"{where}: path {path} in rollout must end in a primitive value")
    if path == "metadata.namespace" and not node:
        return "default"
    return str(node).lower() if isinstance(node, bool) else str(node)


def _incoming_args(
    analysis: RolloutAnalysis, rollout: K8sObject, context: LabContext
) -> dict[str, str]:
    values: dict[str, str] = {}
    for i, arg in enumerate(analysis.args):
        where = f"{analysis.where}.args[{i}]"
        if arg.pod_template_hash == "Latest":
            values[arg.name] = context.canary_hash
        elif arg.pod_template_hash == "Stable":
            values[arg.name] = context.stable_hash
        elif arg.field_path is not None:
            if arg.field_path == "metadata.namespace":
                values[arg.name] = str(
                    (rollout.get("metadata") or {}).get("namespace") or "default"
                )
            else:
                values[arg.name] = _field_value(rollout, arg.field_path, where)
        elif arg.value is not None:
            values[arg.name] = arg.value
    return values


def _template_args(
    analysis: RolloutAnalysis, templates: Mapping[tuple[str, bool], K8sObject], source: str
) -> dict[str, str | None]:
    """`flattenArgs`: the args every template declares, with their defaults."""
    merged: dict[str, str | None] = {}
    for ref in analysis.templates:
        template = templates[(ref.name, ref.cluster_scope)]
        where = _object_where(source, template)
        for i, arg in enumerate(_list((template.get("spec") or {}).get("args"), f"{where}: args")):
            arg_map = _mapping(arg, f"{where}: spec.args[{i}]")
            name = str(arg_map.get("name", ""))
            if "valueFrom" in arg_map:
                raise UserError(
                    f"{where}: spec.args[{i}].valueFrom: secret args are not supported by the lab"
                )
            value = arg_map.get("value")
            if value is not None and not isinstance(value, str):
                raise UserError(f"{where}: spec.args[{i}].value: args are strings, got {value!r}")
            previous = merged.get(name)
            if previous is not None and value is not None and previous != value:
                raise UserError(
                    f"{where}: spec.args[{i}]: argument {name!r} specified multiple times with "
                    f"different values: {previous!r}, {value!r}"
                )
            if previous is None:
                merged[name] = value
    return merged


def _scale_arg(name: str, value: str, time_scale: float, where: str) -> str:
    if name == PROMETHEUS_ADDRESS_ARG:
        return value
    if is_prometheus_duration(value):
        return scale_prometheus_duration(value, time_scale, where)
    if name.endswith(("-seconds", "_seconds")):
        try:
            seconds = float(value)
        except ValueError as exc:
            raise UserError(
                f"{where}: {name} should be a number of seconds, got {value!r}"
            ) from exc
        return f"{seconds / time_scale:g}"
    return value


_DURATION_FIELDS = ("interval", "initialDelay")


def _args_in_duration_fields(
    analysis: RolloutAnalysis, templates: Mapping[tuple[str, bool], K8sObject]
) -> set[str]:
    """Args used as a metric's interval or initialDelay: those are scaled once, as fields."""
    names: set[str] = set()
    for ref in analysis.templates:
        spec = templates[(ref.name, ref.cluster_scope)].get("spec") or {}
        for metric in spec.get("metrics") or []:
            for key in _DURATION_FIELDS:
                for tag in _TAG.findall(str(metric.get(key) or "")):
                    if tag.strip().startswith("args."):
                        names.add(tag.strip()[5:])
    return names


def resolve_args(
    analysis: RolloutAnalysis, manifests: LabManifests, context: LabContext
) -> tuple[dict[str, str], list[ScaledArg]]:
    """The final `{{args.x}}` values for one analysis (merged, checked, time-scaled)."""
    declared = _template_args(analysis, manifests.templates, manifests.source)
    incoming = _incoming_args(analysis, manifests.rollout, context)
    field_args = _args_in_duration_fields(analysis, manifests.templates)
    resolved: dict[str, str] = {}
    scaled: list[ScaledArg] = []
    for name, default in declared.items():
        value = incoming.get(name, default)
        if value is None:
            raise UserError(
                f"{analysis.where}: args.{name} was not resolved (template "
                f"{', '.join(analysis.template_names)} declares it without a default)"
            )
        if name == PROMETHEUS_ADDRESS_ARG:
            final = context.prometheus_address
        elif name in field_args:
            final = value  # scaled once, where the interval/initialDelay field is parsed
            seconds = parse_go_duration(value, f"{analysis.where}: args.{name}")
            scaled.append(ScaledArg(name, value, f"{seconds / context.time_scale:g}s"))
        else:
            final = _scale_arg(name, value, context.time_scale, f"{analysis.where}: args.{name}")
        if final != value:
            scaled.append(ScaledArg(name, value, final))
        resolved[name] = final
    return resolved, scaled


def substitute(value: Any, args: Mapping[str, str], where: str) -> Any:
    """Replace `{{args.x}}` in every string of `value`; an unknown tag is an error."""
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            tag = match.group(1).strip()
            if tag.startswith("args.") and tag[5:] in args:
                return args[tag[5:]]
            raise UserError(f"{where}: failed to resolve {{{{{match.group(1)}}}}}")

        return _TAG.sub(replace, value)
    if isinstance(value, dict):
        return {k: substitute(v, args, where) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, args, where) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# Metrics


def _duration_field(
    metric: Mapping[str, Any], key: str, where: str, time_scale: float
) -> float | None:
    raw = metric.get(key)
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        raise UserError(f"{where}.{key}: expected a duration string, got {raw!r}")
    return parse_go_duration(raw, f"{where}.{key}") / time_scale


def _metric_spec(
    raw: Mapping[str, Any],
    where: str,
    template_name: str,
    dry_run_patterns: Sequence[str],
    context: LabContext,
) -> MetricSpec:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise UserError(f"{where}.name: missing")
    provider = _mapping(raw.get("provider"), f"{where}.provider")
    if list(provider) != ["prometheus"]:
        raise UserError(
            f"{where}.provider: the lab runs Prometheus metrics only, got {sorted(provider)}"
        )
    prometheus = _mapping(provider["prometheus"], f"{where}.provider.prometheus")
    if prometheus.get("rangeQuery"):
        raise UserError(f"{where}.provider.prometheus.rangeQuery: not supported by the lab")
    query = prometheus.get("query")
    if not isinstance(query, str) or not query.strip():
        raise UserError(f"{where}.provider.prometheus.query: missing")
    count = _int_or_string(raw.get("count"), f"{where}.count")
    failure_limit = _int_or_string(raw.get("failureLimit"), f"{where}.failureLimit") or 0
    inconclusive_limit = (
        _int_or_string(raw.get("inconclusiveLimit"), f"{where}.inconclusiveLimit") or 0
    )
    error_limit = _int_or_string(raw.get("consecutiveErrorLimit"), f"{where}.consecutiveErrorLimit")
    interval = _duration_field(raw, "interval", where, context.time_scale)
    # utils/analysis ValidateMetric: Argo would put the AnalysisRun in Error at once.
    if count and count > 0 and (count < failure_limit or count < inconclusive_limit):
        raise UserError(f"{where}.count: count must be >= failureLimit and >= inconclusiveLimit")
    if count and count > 1 and interval is None:
        raise UserError(f"{where}.interval: interval must be specified when count > 1")
    if failure_limit < 0 or inconclusive_limit < 0 or (error_limit is not None and error_limit < 0):
        raise UserError(
            f"{where}: failureLimit, inconclusiveLimit and consecutiveErrorLimit must be >= 0"
        )
    success = raw.get("successCondition") or None
    failure = raw.get("failureCondition") or None
    return MetricSpec(
        name=name,
        template=template_name,
        query=query,
        address=context.prometheus_address,
        success=compile_condition(success, f"{where}.successCondition") if success else None,
        failure=compile_condition(failure, f"{where}.failureCondition") if failure else None,
        interval_seconds=interval,
        count=count,
        initial_delay_seconds=_duration_field(raw, "initialDelay", where, context.time_scale),
        failure_limit=failure_limit,
        inconclusive_limit=inconclusive_limit,
        consecutive_error_limit=4 if error_limit is None else error_limit,
        dry_run=any(re.search(p, name) for p in dry_run_patterns),
    )


def is_job_metric(raw: Mapping[str, Any]) -> bool:
    provider = raw.get("provider")
    return isinstance(provider, dict) and "job" in provider


def metric_specs(
    analysis: RolloutAnalysis, manifests: LabManifests, context: LabContext
) -> list[MetricSpec]:
    """Every metric of the analysis, args substituted, conditions compiled, durations scaled."""
    args, scaled = resolve_args(analysis, manifests, context)
    manifests.scaled_args[analysis.where] = scaled
    dry_run = list(analysis.dry_run)
    specs: list[MetricSpec] = []
    jobs: list[str] = []
    for ref in analysis.templates:
        template = manifests.templates[(ref.name, ref.cluster_scope)]
        where = _object_where(manifests.source, template)
        spec = _mapping(template.get("spec"), f"{where}: spec")
        dry_run.extend(
            str(d.get("metricName", "")) for d in _list(spec.get("dryRun"), f"{where}: dryRun")
        )
        for i, raw in enumerate(_list(spec.get("metrics"), f"{where}: spec.metrics")):
            metric_where = f"{where}: metrics[{raw.get('name', i)}]"
            if is_job_metric(raw):
                # Runs as a process beside the run (lab/synthetic.py); dry-run, it never decides.
                if not any(re.search(p, str(raw.get("name", ""))) for p in dry_run):
                    raise UserError(
                        f"{metric_where}.provider.job: the lab runs Job metrics only as dry-run "
                        "synthetic load (a deciding Job metric is refused by validate too)"
                    )
                jobs.append(str(raw.get("name", "")))
                continue
            resolved = substitute(json.loads(json.dumps(raw)), args, metric_where)
            specs.append(_metric_spec(resolved, metric_where, ref.name, dry_run, context))
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UserError(f"{analysis.where}: two metrics have the same name {duplicates[0]!r}")
    if not specs:
        raise UserError(f"{analysis.where}: the templates define no metrics")
    for pattern in dry_run:
        if not any(re.search(pattern, n) for n in [*names, *jobs]):
            raise UserError(f"{analysis.where}: dryRun metricName {pattern!r} matches no metric")
    return specs
