"""Synthetic load: never in prod, never deciding, and enough of it to decide.

- Prod must not contain the synthetic-load generator (any object named or labelled
  `synthetic-load`, or a Job metric running its image): test cards against prod's route would
  be noise in the customer figures.
- A Job metric must be dry-run (in its template's or the Rollout's `dryRun`): Argo Rollouts
  takes a Job's status as the measurement, so a generator that did not start or crashed would
  otherwise fail the run (abort) or, completing, count as success. Dry-run, it never decides and
  the Prometheus metrics' min-requests guard turns missing load into Inconclusive.
- Where it runs, the Rollout's background analysis starts it, its ConfigMap parses
  (paystream_loadgen.settings) and its rate gives every network the first step analysis'
  min-requests canary requests by that analysis' first measurement, at that step's weight,
  counting only what Prometheus can have scraped by then: the Job's start-up allowance and one
  scrape interval (the PodMonitor's) come off the analysis' initial delay.
see docs/synthetic-load.md
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from paystream_loadgen.settings import SettingsError, parse_settings, required_rate_per_second

from paystream_ops.errors import UserError
from paystream_ops.lab.durations import parse_go_duration
from paystream_ops.validate.checks import TargetContext
from paystream_ops.validate.checks.analysis import fill_args
from paystream_ops.validate.checks.rollout import analysis_uses, declared_args
from paystream_ops.validate.model import (
    K8sObject,
    Problem,
    as_dict,
    as_list,
    dig,
    labels_of,
    name_of,
)

NAME = "synthetic-load"
COMPONENT = "synthetic-load"
IMAGE = "ghcr.io/paystream/synthetic-load"
FORBIDDEN_ENVS = frozenset({"prod"})
# Job created, pod scheduled, cached image started: the load begins this much after the run.
STARTUP_ALLOWANCE_SECONDS = 5.0
# Prometheus Operator's default when a PodMonitor endpoint sets no interval.
DEFAULT_SCRAPE_SECONDS = 30.0
_TEMPLATE_KINDS = ("AnalysisTemplate", "ClusterAnalysisTemplate")
_MIN_COUNT_ARG = re.compile(r"^min-.*requests$")


def loaded_seconds_at_first_measurement(initial_delay: float, scrape_seconds: float) -> float:
    """Seconds of synthetic load the first measurement can count, at worst."""
    return initial_delay - STARTUP_ALLOWANCE_SECONDS - scrape_seconds


def scrape_seconds(ctx: TargetContext) -> float:
    """The slowest scrape interval of the rendered PodMonitors (the freshest data is this old)."""
    intervals = [
        parse_go_duration(str(as_dict(e).get("interval") or "30s"), "interval")
        for monitor in ctx.rendered.of_kind("PodMonitor")
        for e in as_list(dig(monitor, "spec", "podMetricsEndpoints"))
    ]
    return max(intervals, default=DEFAULT_SCRAPE_SECONDS)


def _job_images(metric: dict[str, object]) -> list[str]:
    spec = as_dict(dig(metric, "provider", "job", "spec", "template", "spec"))
    return [str(as_dict(c).get("image", "")) for c in as_list(spec.get("containers"))]


def _is_generator(obj: K8sObject) -> bool:
    if name_of(obj) == COMPONENT or labels_of(obj).get("app.kubernetes.io/name") == COMPONENT:
        return True
    return any(
        image.split("@")[0].split(":")[0] == IMAGE
        for metric in as_list(dig(obj, "spec", "metrics"))
        for image in _job_images(as_dict(metric))
    )


def check(ctx: TargetContext) -> Iterator[Problem]:
    found = [obj for obj in ctx.objects if _is_generator(obj)]
    if ctx.env in FORBIDDEN_ENVS:
        for obj in found:
            yield ctx.problem(
                obj, "metadata.name", f"synthetic load must not run in {ctx.env}", NAME
            )
    yield from _job_metrics_are_dry_run(ctx)
    templates = [
        t
        for t in ctx.rendered.of_kind(*_TEMPLATE_KINDS)
        if any(_job_images(as_dict(m)) for m in as_list(dig(t, "spec", "metrics")))
        and _is_generator(t)
    ]
    for rollout in ctx.rendered.of_kind("Rollout"):
        for template in templates:
            yield from _sufficient(ctx, rollout, template)


def _dry_run_patterns(obj: K8sObject) -> list[str]:
    return [str(as_dict(d).get("metricName", "")) for d in as_list(dig(obj, "spec", "dryRun"))]


def _job_metrics_are_dry_run(ctx: TargetContext) -> Iterator[Problem]:
    rollout_patterns: dict[str, list[str]] = {}
    for rollout in ctx.rendered.of_kind("Rollout"):
        canary = as_dict(dig(rollout, "spec", "strategy", "canary"))
        uses = [as_dict(canary.get("analysis"))] + [
            as_dict(as_dict(s).get("analysis")) for s in as_list(canary.get("steps"))
        ]
        for use in uses:
            patterns = [str(as_dict(d).get("metricName", "")) for d in as_list(use.get("dryRun"))]
            for ref in as_list(use.get("templates")):
                name = str(as_dict(ref).get("templateName", ""))
                rollout_patterns.setdefault(name, []).extend(patterns)
    for template in ctx.rendered.of_kind(*_TEMPLATE_KINDS):
        patterns = _dry_run_patterns(template)
        for i, metric in enumerate(as_list(dig(template, "spec", "metrics"))):
            metric = as_dict(metric)
            if "job" not in as_dict(metric.get("provider")):
                continue
            name = str(metric.get("name", ""))
            outside = rollout_patterns.get(name_of(template))
            # Dry-run in the template itself, or in every Rollout analysis that uses it.
            if any(re.fullmatch(p, name) for p in patterns) or (
                outside and any(re.fullmatch(p, name) for p in outside)
            ):
                continue
            yield ctx.problem(
                template,
                f"spec.metrics[{metric.get('name', i)}]",
                "a Job metric must be dry-run: a generator that fails would abort the rollout "
                "and one that completes would pass it",
                NAME,
            )


def _config_map(ctx: TargetContext, template: K8sObject) -> tuple[str, dict[str, str] | None]:
    for metric in as_list(dig(template, "spec", "metrics")):
        spec = as_dict(dig(as_dict(metric), "provider", "job", "spec", "template", "spec"))
        for container in as_list(spec.get("containers")):
            for source in as_list(as_dict(container).get("envFrom")):
                ref = str(as_dict(as_dict(source).get("configMapRef")).get("name", ""))
                if ref:
                    found = ctx.rendered.find("ConfigMap", ref)
                    data = as_dict(dig(found, "data")) if found is not None else None
                    return ref, ({str(k): str(v) for k, v in data.items()} if data else None)
    return "", None


def _sufficient(ctx: TargetContext, rollout: K8sObject, template: K8sObject) -> Iterator[Problem]:
    name = name_of(template)
    uses = list(analysis_uses(rollout))
    background = [u for u in uses if u.where == "spec.strategy.canary.analysis"]
    if not any(name in (t for t, _ in u.templates) for u in background):
        yield ctx.problem(
            rollout,
            "spec.strategy.canary.analysis.templates",
            f"AnalysisTemplate {name} is rendered but the background analysis does not run it "
            "(nothing would start the load)",
            NAME,
        )
        return
    ref, data = _config_map(ctx, template)
    if data is None:
        yield ctx.problem(
            template, "envFrom.configMapRef", f"ConfigMap {ref or '?'} not rendered", NAME
        )
        return
    try:
        settings = parse_settings(data)
    except SettingsError as exc:
        yield ctx.problem(template, f"ConfigMap/{ref}", str(exc), NAME)
        return
    first = _first_step_analysis(ctx, rollout)
    if first is None:
        return
    weight, min_requests, first_measurement = first
    scrape = scrape_seconds(ctx)
    loaded = loaded_seconds_at_first_measurement(first_measurement, scrape)
    if loaded <= 0:
        yield ctx.problem(
            rollout,
            "spec.strategy.canary.steps",
            f"the first step analysis measures {first_measurement:g}s after it starts: no "
            f"synthetic load can be scraped by then ({STARTUP_ALLOWANCE_SECONDS:g}s to start, "
            f"{scrape:g}s scrape interval)",
            NAME,
        )
        return
    need = required_rate_per_second(min_requests, loaded, weight, settings.card_mix)
    if settings.rate_per_second < need:
        yield ctx.problem(
            template,
            f"ConfigMap/{ref}.data.PAYSTREAM_LOADGEN_RATE_PER_SECOND",
            f"{settings.rate_per_second:g}/s gives the smallest network fewer than "
            f"{min_requests:g} canary requests by the first measurement "
            f"({first_measurement:g}s at {weight:g}%, less {STARTUP_ALLOWANCE_SECONDS:g}s to "
            f"start and a {scrape:g}s scrape): needs {need:.0f}/s",
            NAME,
        )


def _first_step_analysis(
    ctx: TargetContext, rollout: K8sObject
) -> tuple[float, float, float] | None:
    """(weight %, min requests, seconds to first measurement) of the first step analysis."""
    weight = 0.0
    for i, step in enumerate(as_list(dig(rollout, "spec", "strategy", "canary", "steps"))):
        step = as_dict(step)
        if isinstance(step.get("setWeight"), int):
            weight = float(step["setWeight"])
        if not step.get("analysis") or weight <= 0:
            continue
        where = f"spec.strategy.canary.steps[{i}].analysis"
        use = next(u for u in analysis_uses(rollout) if u.where == where)
        values: dict[str, str] = {}
        delays: list[float] = []
        for template_name, _ in use.templates:
            template = ctx.rendered.find("AnalysisTemplate", template_name)
            if template is None:
                continue
            for arg, spec in declared_args(template).items():
                if "value" in spec:
                    values.setdefault(arg, str(spec["value"]))
            for arg, spec in use.args.items():
                if "value" in spec:
                    values[arg] = str(spec["value"])
            for metric in as_list(dig(template, "spec", "metrics")):
                delay = fill_args(str(as_dict(metric).get("initialDelay") or "0s"), values)
                try:
                    delays.append(parse_go_duration(delay, "initialDelay"))
                except UserError:
                    continue
        minimums = [float(v) for k, v in values.items() if _MIN_COUNT_ARG.match(k)]
        if not minimums or not delays:
            return None
        return weight, max(minimums), min(delays)
    return None


__all__ = ["NAME", "check"]
