"""No silent pause: every Rollout tells the on-call and the revert workflow what happens to it.

Argo Rollouts (self-service notifications) reads `argo-rollouts-notification-configmap` in the
Rollout's namespace. For each required subscription
(`notifications.argoproj.io/subscribe.<trigger>.<service>`) the check follows the chain the
controller follows: the trigger exists, every template it sends exists and holds a
`webhook.<service>` section (without one, notifications-engine's webhook service sends a bare
GET with an empty body), and the service is configured. See
docs/decisions/0049-rollout-notifications-and-stuck-pause-alert.md.
"""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from paystream_ops.validate.checks import TargetContext
from paystream_ops.validate.model import K8sObject, Problem, annotations_of, as_dict, as_list

NAME = "notifications"
CONFIGMAP = "argo-rollouts-notification-configmap"
SUBSCRIBE = "notifications.argoproj.io/subscribe."
# service -> the triggers every Rollout must subscribe it to, in every environment.
REQUIRED: dict[str, tuple[str, ...]] = {
    # The on-call system (PagerDuty): a pause, an analysis that cannot decide, the outcome.
    "pagerduty": (
        "on-rollout-paused",
        "on-analysis-run-inconclusive",
        "on-analysis-run-error",
        "on-rollout-completed",
        "on-rollout-aborted",
    ),
    # The repository_dispatches that open the revert pull request and record the evidence.
    "github": ("on-rollout-aborted", "on-rollout-completed"),
}


def check(ctx: TargetContext) -> Iterator[Problem]:
    for rollout in ctx.rendered.of_kind("Rollout"):
        yield from _rollout(ctx, rollout)


def _rollout(ctx: TargetContext, rollout: K8sObject) -> Iterator[Problem]:
    annotations = annotations_of(rollout)
    config = ctx.rendered.find("ConfigMap", CONFIGMAP)
    data = {str(k): str(v) for k, v in as_dict((config or {}).get("data")).items()}
    for service, triggers in REQUIRED.items():
        for trigger in triggers:
            key = f"{SUBSCRIBE}{trigger}.{service}"
            if key not in annotations:
                yield ctx.problem(
                    rollout,
                    f"metadata.annotations[{key}]",
                    f"missing: nobody hears {trigger} (required for {service})",
                    NAME,
                )
                continue
            if config is None:
                yield ctx.problem(
                    rollout, f"metadata.annotations[{key}]", f"no ConfigMap {CONFIGMAP}", NAME
                )
                return
            yield from _chain(ctx, config, data, trigger, service)


def _chain(
    ctx: TargetContext, config: K8sObject, data: dict[str, str], trigger: str, service: str
) -> Iterator[Problem]:
    if f"service.webhook.{service}" not in data:
        yield ctx.problem(config, f"data.service.webhook.{service}", "missing", NAME)
    conditions = _yaml(data.get(f"trigger.{trigger}"))
    if not conditions:
        yield ctx.problem(
            config, f"data.trigger.{trigger}", "missing or empty: the event sends nothing", NAME
        )
        return
    for condition in as_list(conditions):
        for template in as_list(as_dict(condition).get("send")):
            if f"template.{template}" not in data:
                yield ctx.problem(
                    config, f"data.trigger.{trigger}", f"sends missing template {template}", NAME
                )
                continue
            spec = _yaml(data[f"template.{template}"])
            if spec is None:
                yield ctx.problem(config, f"data.template.{template}", "does not parse", NAME)
            elif not as_dict(as_dict(as_dict(spec).get("webhook")).get(service)).get("body"):
                yield ctx.problem(
                    config,
                    f"data.template.{template}.webhook.{service}.body",
                    f"missing: {service} would send a bare GET for {trigger}",
                    NAME,
                )


def _yaml(text: str | None) -> object:
    if text is None:
        return None
    try:
        # libyaml: every target reads the same templates again.
        return yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return None
