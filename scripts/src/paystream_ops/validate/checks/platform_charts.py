"""Platform chart values: what the Helm values of the cluster's platform Applications must set.

- the argo-rollouts chart configures every traffic-router plugin the Rollouts use, from an https
  release URL pinned to a version, with its sha256 (the controller will not start otherwise);
- istiod's mesh-wide default HTTP retry policy is off: the mesh must never retry a payment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from paystream_ops.validate.checks import TargetContext
from paystream_ops.validate.checks.argocd import local_render, sources
from paystream_ops.validate.checks.rollout import plugin_names
from paystream_ops.validate.model import K8sObject, Problem, as_dict, as_list, dig

NAME = "platform-charts"
PLUGIN_URL = re.compile(r"^https://.+/releases/download/v\d+\.\d+\.\d+[^/]*/[^/]+$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check(ctx: TargetContext) -> Iterator[Problem]:
    apps = list(ctx.rendered.of_kind("Application"))
    if not apps:
        return
    yield from _plugins(ctx, apps)
    yield from _retries(ctx, apps)


def helm_values(source: dict[str, Any]) -> dict[str, Any]:
    helm = as_dict(source.get("helm"))
    if isinstance(helm.get("valuesObject"), dict):
        return as_dict(helm["valuesObject"])
    if isinstance(helm.get("values"), str):
        loaded = yaml.safe_load(helm["values"])
        return as_dict(loaded)
    return {}


def _chart_app(apps: list[K8sObject], chart: str) -> tuple[K8sObject, dict[str, Any]] | None:
    for app in apps:
        for source in sources(app):
            if source.get("chart") == chart:
                return app, helm_values(source)
    return None


def _plugins(ctx: TargetContext, apps: list[K8sObject]) -> Iterator[Problem]:
    used: set[str] = set()
    for app in apps:
        for source in sources(app):
            rendered = local_render(ctx, source)
            if rendered is not None:
                used |= plugin_names(rendered.objects)
    if not used:
        return
    found = _chart_app(apps, "argo-rollouts")
    if found is None:
        yield ctx.problem(
            None,
            "",
            f"Rollouts use {sorted(used)} but no Application installs the argo-rollouts chart",
            NAME,
        )
        return
    app, values = found
    configured = {
        str(as_dict(p).get("name")): as_dict(p)
        for p in as_list(dig(values, "controller", "trafficRouterPlugins"))
    }
    where = "spec.source.helm.valuesObject.controller.trafficRouterPlugins"
    for plugin in sorted(used):
        entry = configured.get(plugin)
        if entry is None:
            yield ctx.problem(
                app,
                where,
                f"does not configure {plugin!r}, which the Rollouts "
                "use: the controller cannot route their traffic",
                NAME,
            )
            continue
        if not PLUGIN_URL.match(str(entry.get("location", ""))):
            yield ctx.problem(
                app,
                f"{where}[{plugin}].location",
                "not an https release URL pinned to a version",
                NAME,
            )
        if not SHA256.match(str(entry.get("sha256", ""))):
            yield ctx.problem(
                app,
                f"{where}[{plugin}].sha256",
                "missing or not 64 hex digits: the controller would run whatever that URL serves",
                NAME,
            )


def _retries(ctx: TargetContext, apps: list[K8sObject]) -> Iterator[Problem]:
    found = _chart_app(apps, "istiod")
    if found is None:
        return
    app, values = found
    attempts = dig(values, "meshConfig", "defaultHttpRetryPolicy", "attempts")
    if attempts != 0:
        yield ctx.problem(
            app,
            "spec.source.helm.valuesObject.meshConfig.defaultHttpRetryPolicy.attempts",
            f"is {attempts!r}: the mesh would retry POST /v1/authorize "
            "and could authorize a payment twice; set 0",
            NAME,
        )
