"""A Rollout's references resolve, and every AnalysisRun it would create gets all its args.

Argument merging follows Argo Rollouts: a template arg without ``value``/``valueFrom`` must be
passed by the Rollout, an arg the Rollout passes must be declared by a template, and every
``{{args.NAME}}`` a metric uses must be declared. The merged counts and limits are checked too:
a step analysis that tolerates as many inconclusive measurements as it takes would end
Successful having seen no data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from paystream_ops.errors import UserError
from paystream_ops.judge.figures import FIGURES_TEMPLATE_NAME
from paystream_ops.judge.template import TEMPLATE_NAME
from paystream_ops.lab.durations import parse_prometheus_duration
from paystream_ops.validate.checks import TargetContext
from paystream_ops.validate.model import (
    K8sObject,
    Problem,
    as_dict,
    as_list,
    dig,
    name_of,
    namespace_of,
)

NAME = "rollout-refs"
BACKGROUND = "spec.strategy.canary.analysis"
GATEWAY_PLUGIN = "argoproj-labs/gatewayAPI"
ARG_TAG = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}")


@dataclass(frozen=True)
class AnalysisUse:
    """One place a Rollout starts AnalysisRuns: the background analysis or a step."""

    where: str
    templates: tuple[tuple[str, bool], ...]  # (name, cluster scope)
    args: dict[str, dict[str, object]]


def analysis_uses(rollout: K8sObject) -> Iterator[AnalysisUse]:
    canary = as_dict(dig(rollout, "spec", "strategy", "canary"))
    background = as_dict(canary.get("analysis"))
    if background:
        yield _use(BACKGROUND, background)
    for i, step in enumerate(as_list(canary.get("steps"))):
        analysis = as_dict(as_dict(step).get("analysis"))
        if analysis:
            yield _use(f"spec.strategy.canary.steps[{i}].analysis", analysis)


def _use(where: str, analysis: dict[str, object]) -> AnalysisUse:
    templates = tuple(
        (str(as_dict(t).get("templateName", "")), bool(as_dict(t).get("clusterScope")))
        for t in as_list(analysis.get("templates"))
    )
    args = {str(as_dict(a).get("name")): as_dict(a) for a in as_list(analysis.get("args"))}
    return AnalysisUse(where, templates, args)


def declared_args(template: K8sObject) -> dict[str, dict[str, object]]:
    return {str(as_dict(a).get("name")): as_dict(a) for a in as_list(dig(template, "spec", "args"))}


def used_args(template: K8sObject) -> set[str]:
    return set(ARG_TAG.findall(repr(dig(template, "spec", "metrics"))))


def check(ctx: TargetContext) -> Iterator[Problem]:
    for template in ctx.rendered.of_kind("AnalysisTemplate", "ClusterAnalysisTemplate"):
        declared = declared_args(template)
        for arg in sorted(used_args(template) - set(declared)):
            yield ctx.problem(
                template,
                "spec.metrics",
                f"uses {{{{args.{arg}}}}}, which spec.args does not "
                "declare (Argo Rollouts fails the AnalysisRun)",
                NAME,
            )
    for rollout in ctx.rendered.of_kind("Rollout"):
        yield from _services(ctx, rollout)
        yield from _traffic_routing(ctx, rollout)
        yield from _safety(ctx, rollout)
        for use in analysis_uses(rollout):
            yield from _analysis(ctx, rollout, use)
        yield from _figures_placement(ctx, rollout)
        yield from _looks_apart(ctx, rollout)


def _figures_placement(ctx: TargetContext, rollout: K8sObject) -> Iterator[Problem]:
    """The figures run beside the verdict in the last step analysis and nowhere else: the
    evidence reads them there, and every other run would pay their queries for nothing.
    see docs/decisions/0122-canary-figures-beside-the-verdict.md"""
    uses = list(analysis_uses(rollout))
    steps = [u for u in uses if u.where.startswith("spec.strategy.canary.steps")]
    last = steps[-1] if steps else None
    for use in uses:
        has = FIGURES_TEMPLATE_NAME in (name for name, _ in use.templates)
        if has and use is not last:
            yield ctx.problem(
                rollout,
                f"{use.where}.templates",
                f"{FIGURES_TEMPLATE_NAME} belongs to the last step analysis only (the evidence "
                "reads it there; anywhere else its queries are paid for nothing)",
                NAME,
            )
    present = ctx.rendered.find("AnalysisTemplate", FIGURES_TEMPLATE_NAME) is not None
    if present and last is not None and FIGURES_TEMPLATE_NAME not in dict(last.templates):
        yield ctx.problem(
            rollout,
            f"{last.where}.templates",
            f"the last step analysis does not run {FIGURES_TEMPLATE_NAME}: the staging evidence "
            "would have no figures",
            NAME,
        )


def _looks_apart(ctx: TargetContext, rollout: K8sObject) -> Iterator[Problem]:
    """The background analysis looks between a step analysis' first two looks: at the same
    moments it would make the same comparison twice, after them it would look late.
    see docs/decisions/0138-background-analysis-looks-between-the-steps-looks.md"""
    template = ctx.rendered.find("AnalysisTemplate", TEMPLATE_NAME)
    if template is None:
        return
    declared = declared_args(template)
    uses = [u for u in analysis_uses(rollout) if TEMPLATE_NAME in dict(u.templates)]
    background = next((u for u in uses if u.where == BACKGROUND), None)
    first = _first_look(declared, background) if background else None
    if first is None:
        return
    background_delay, _ = first
    for use in uses:
        step = _first_look(declared, use) if use is not background else None
        if step is None:
            continue
        delay, interval = step
        if not delay < background_delay < delay + interval:
            yield ctx.problem(
                rollout,
                f"{BACKGROUND}.args[initial-delay]",
                f"{background_delay:g}s is not between the first two looks of {use.where} "
                f"({delay:g}s and {delay + interval:g}s): the background analysis would repeat its "
                "comparisons or look late (decisions/0138)",
                NAME,
            )


def _values(declared: dict[str, dict[str, object]], use: AnalysisUse) -> dict[str, object]:
    """Each arg's value in the AnalysisRun: the template's default unless the Rollout passes one."""
    values = {n: a.get("value") for n, a in declared.items()}
    values.update({n: a.get("value") for n, a in use.args.items() if "value" in a})
    return values


def _first_look(
    declared: dict[str, dict[str, object]], use: AnalysisUse
) -> tuple[float, float] | None:
    """(initial delay, interval) in seconds of a use of the deciding template; None if unset."""
    values = _values(declared, use)
    try:
        return (
            parse_prometheus_duration(str(values.get("initial-delay")), use.where),
            parse_prometheus_duration(str(values.get("interval")), use.where),
        )
    except UserError:
        return None  # the analysis check reports a duration that does not parse


def _services(ctx: TargetContext, rollout: K8sObject) -> Iterator[Problem]:
    for field in ("canaryService", "stableService"):
        name = dig(rollout, "spec", "strategy", "canary", field)
        if name and ctx.rendered.find("Service", str(name)) is None:
            yield ctx.problem(
                rollout, f"spec.strategy.canary.{field}", f"Service {name} does not exist", NAME
            )


def _traffic_routing(ctx: TargetContext, rollout: K8sObject) -> Iterator[Problem]:
    canary = as_dict(dig(rollout, "spec", "strategy", "canary"))
    plugins = as_dict(dig(canary, "trafficRouting", "plugins"))
    config = as_dict(plugins.get(GATEWAY_PLUGIN))
    if not config:
        return
    where = f"spec.strategy.canary.trafficRouting.plugins.{GATEWAY_PLUGIN}"
    namespace = namespace_of(rollout)
    if not config.get("namespace"):
        yield ctx.problem(
            rollout,
            f"{where}.namespace",
            "missing: the plugin does not default it and cannot find the routes",
            NAME,
        )
    elif namespace and config.get("namespace") != namespace:
        yield ctx.problem(
            rollout,
            f"{where}.namespace",
            f"{config.get('namespace')!r} is not the Rollout's namespace {namespace!r}",
            NAME,
        )
    routes = [str(as_dict(r).get("name")) for r in as_list(config.get("httpRoutes"))]
    if config.get("httpRoute"):
        routes.append(str(config["httpRoute"]))
    wanted = {str(canary.get("canaryService")), str(canary.get("stableService"))}
    for i, route_name in enumerate(routes):
        route = ctx.rendered.find("HTTPRoute", route_name)
        if route is None:
            yield ctx.problem(
                rollout, f"{where}.httpRoutes[{i}]", f"HTTPRoute {route_name} does not exist", NAME
            )
            continue
        rules = as_list(dig(route, "spec", "rules"))
        if not any(
            wanted <= {str(as_dict(b).get("name")) for b in as_list(as_dict(r).get("backendRefs"))}
            for r in rules
        ):
            yield ctx.problem(
                rollout,
                f"{where}.httpRoutes[{i}]",
                f"HTTPRoute {route_name} has no rule with both {' and '.join(sorted(wanted))} as "
                "backends: the plugin cannot shift weight",
                NAME,
            )


def _safety(ctx: TargetContext, rollout: K8sObject) -> Iterator[Problem]:
    spec = as_dict(rollout.get("spec"))
    canary = as_dict(dig(spec, "strategy", "canary"))
    if not canary:
        return
    if spec.get("progressDeadlineAbort") is not True:
        yield ctx.problem(
            rollout,
            "spec.progressDeadlineAbort",
            "must be true: otherwise a "
            "canary that never becomes ready waits forever (default false)",
            NAME,
        )
    for field, role in (("canaryMetadata", "canary"), ("stableMetadata", "stable")):
        if dig(canary, field, "labels", "role") != role:
            yield ctx.problem(
                rollout,
                f"spec.strategy.canary.{field}.labels.role",
                f"must be {role!r}: the analysis and alerts select on it",
                NAME,
            )


def _analysis(ctx: TargetContext, rollout: K8sObject, use: AnalysisUse) -> Iterator[Problem]:
    merged: dict[str, dict[str, object]] = {}
    for i, (name, cluster_scope) in enumerate(use.templates):
        kind = "ClusterAnalysisTemplate" if cluster_scope else "AnalysisTemplate"
        template = ctx.rendered.find(kind, name)
        if template is None:
            yield ctx.problem(
                rollout,
                f"{use.where}.templates[{i}].templateName",
                f"{kind} {name} does not exist",
                NAME,
            )
            return
        for arg_name, arg in declared_args(template).items():
            before = merged.setdefault(arg_name, arg)
            if "value" in before and "value" in arg and before["value"] != arg["value"]:
                # utils/analysis/helpers.go flattenArgs: the AnalysisRun is never created.
                yield ctx.problem(
                    rollout,
                    f"{use.where}.templates[{i}]",
                    f"{kind} {name} gives arg {arg_name!r} the value {arg['value']!r}, another "
                    f"template {before['value']!r} (Argo refuses to merge them)",
                    NAME,
                )
    for arg_name in sorted(set(use.args) - set(merged)):
        yield ctx.problem(
            rollout, f"{use.where}.args[{arg_name}]", "no template declares this arg", NAME
        )
    for arg_name, arg in sorted(merged.items()):
        if arg_name in use.args or "value" in arg or "valueFrom" in arg:
            continue
        yield ctx.problem(
            rollout,
            f"{use.where}.args",
            f"missing arg {arg_name!r}: the template requires it",
            NAME,
        )
    yield from _limits(ctx, rollout, use, _values(merged, use))


def _limits(
    ctx: TargetContext, rollout: K8sObject, use: AnalysisUse, values: dict[str, object]
) -> Iterator[Problem]:
    for template_name, cluster_scope in use.templates:
        kind = "ClusterAnalysisTemplate" if cluster_scope else "AnalysisTemplate"
        template = ctx.rendered.find(kind, template_name)
        for metric in as_list(dig(template, "spec", "metrics")):
            metric = as_dict(metric)
            count = _resolve_int(metric.get("count"), values)
            inconclusive = _resolve_int(metric.get("inconclusiveLimit"), values) or 0
            failures = _resolve_int(metric.get("failureLimit"), values) or 0
            if not count:
                continue
            label = f"{use.where} ({template_name}/{metric.get('name')})"
            if inconclusive >= count:
                yield ctx.problem(
                    rollout,
                    label,
                    f"inconclusiveLimit {inconclusive} >= count {count}: a run "
                    "that never sees enough data would end Successful",
                    NAME,
                )
            if failures >= count:
                yield ctx.problem(
                    rollout,
                    label,
                    f"failureLimit {failures} >= count {count}: the metric can never fail the run",
                    NAME,
                )


def _resolve_int(raw: object, values: dict[str, object]) -> int | None:
    if raw is None:
        return None
    text = ARG_TAG.sub(lambda m: str(values.get(m.group(1), "")), str(raw))
    try:
        return int(text)
    except ValueError:
        return None


def plugin_names(objects: list[K8sObject]) -> set[str]:
    """Traffic-router plugin names the Rollouts in these objects use."""
    names: set[str] = set()
    for obj in objects:
        if obj.get("kind") == "Rollout":
            names.update(
                as_dict(dig(obj, "spec", "strategy", "canary", "trafficRouting", "plugins")).keys()
            )
    return names


__all__ = ["NAME", "analysis_uses", "check", "name_of", "plugin_names"]
