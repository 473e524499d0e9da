"""Platform chart values: what the Helm values of the cluster's platform Applications must set.

- the argo-rollouts chart configures every traffic-router plugin the Rollouts use, from an https
  release URL pinned to a version, with its sha256 (the controller will not start otherwise);
- istiod's mesh-wide default HTTP retry policy is off: the mesh must never retry a payment;
- the idempotency store (the valkey chart): AUTH on, its password from a Secret that an
  ExternalSecret of the same Application writes (none in Git), a replica on persistent volumes,
  a disruption budget, a memory limit, no eviction, and the service's store URL naming it; its
  NetworkPolicy admits only the service, the store itself and Prometheus
  (docs/decisions/0101-valkey-primary-and-replica-for-the-idempotency-store.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import yaml

from paystream_ops.validate.checks import TargetContext
from paystream_ops.validate.checks.argocd import local_render, sources
from paystream_ops.validate.checks.rollout import plugin_names
from paystream_ops.validate.model import K8sObject, Problem, as_dict, as_list, dig, name_of

NAME = "platform-charts"
PLUGIN_URL = re.compile(r"^https://.+/releases/download/v\d+\.\d+\.\d+[^/]*/[^/]+$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


STORE_CHART = "valkey"
STORE_NAME = "idempotency-store"
STORE_URL_KEY = "PAYSTREAM_IDEMPOTENCY_STORE_URL"
# Who may reach the store's pods: the service, the store's own pods (replication), Prometheus.
STORE_PEERS = frozenset({"auth-service", STORE_NAME})


def check(ctx: TargetContext) -> Iterator[Problem]:
    yield from _store_network_policy(ctx)
    apps = list(ctx.rendered.of_kind("Application"))
    if not apps:
        return
    yield from _plugins(ctx, apps)
    yield from _retries(ctx, apps)
    yield from _store(ctx, apps)


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


def _store(ctx: TargetContext, apps: list[K8sObject]) -> Iterator[Problem]:
    found = _chart_app(apps, STORE_CHART)
    if found is None:
        return
    app, values = found
    index = next(i for i, src in enumerate(sources(app)) if src.get("chart") == STORE_CHART)
    spec = as_dict(app.get("spec"))
    where = ("spec.source" if "source" in spec else f"spec.sources[{index}]") + ".helm.valuesObject"
    rendered = [r for src in sources(app) if (r := local_render(ctx, src)) is not None]
    written = {
        str(dig(es, "spec", "target", "name") or name_of(es))
        for r in rendered
        for es in r.of_kind("ExternalSecret")
    }
    required = {
        "auth.enabled": (
            dig(values, "auth", "enabled") is True,
            "must be true: without AUTH "
            "any pod that reaches the store could forge or erase idempotency answers",
        ),
        "auth.usersExistingSecret": (
            dig(values, "auth", "usersExistingSecret") in written,
            "must name the Secret an ExternalSecret of this Application writes "
            "(the password comes from Vault)",
        ),
        "replica.persistence.size": (
            dig(values, "replica", "enabled") is True
            and bool(dig(values, "replica", "persistence", "size")),
            "a replica on persistent volumes is required: a store that loses its data lets "
            "every retry authorize again",
        ),
        "podDisruptionBudget.enabled": (
            dig(values, "podDisruptionBudget", "enabled") is True,
            "must be true: a drain could stop primary and replica together",
        ),
        "resources.limits.memory": (
            bool(dig(values, "resources", "limits", "memory")),
            "must be set (with maxmemory below it)",
        ),
        "valkeyConfig": (
            "maxmemory-policy noeviction" in str(values.get("valkeyConfig", "")),
            "must set `maxmemory-policy noeviction`: an evicted answer is a second authorization",
        ),
    }
    for field, (ok, message) in required.items():
        if not ok:
            yield ctx.problem(app, f"{where}.{field}", message, NAME)
    for user, entry in as_dict(dig(values, "auth", "aclUsers")).items():
        if "password" in as_dict(entry):
            yield ctx.problem(
                app, f"{where}.auth.aclUsers.{user}.password", "a password in Git", NAME
            )
    yield from _store_url(ctx, apps, app, values)


def _store_url(
    ctx: TargetContext, apps: list[K8sObject], store: K8sObject, values: dict[str, Any]
) -> Iterator[Problem]:
    """The service's configured store URL names this store's Service, in the same namespace."""
    host = str(values.get("fullnameOverride") or "")
    namespace = dig(store, "spec", "destination", "namespace")
    for app in apps:
        if dig(app, "spec", "destination", "namespace") != namespace:
            continue
        for src in sources(app):
            rendered = local_render(ctx, src)
            if rendered is None:
                continue
            for config in rendered.of_kind("ConfigMap"):
                url = as_dict(config.get("data")).get(STORE_URL_KEY)
                if url is None:
                    continue
                if urlsplit(str(url)).hostname != host:
                    yield ctx.problem(
                        app,
                        f"ConfigMap {name_of(config)}: data.{STORE_URL_KEY}",
                        f"{url!r} does not name the store's Service {host!r} "
                        f"(Application {name_of(store)})",
                        NAME,
                    )


def _store_network_policy(ctx: TargetContext) -> Iterator[Problem]:
    for policy in ctx.objects:
        if policy.get("kind") != "NetworkPolicy":
            continue
        selected = dig(policy, "spec", "podSelector", "matchLabels", "app.kubernetes.io/name")
        if selected != STORE_NAME:
            continue
        for i, rule in enumerate(as_list(dig(policy, "spec", "ingress"))):
            peers = as_list(as_dict(rule).get("from"))
            if not peers:
                yield ctx.problem(
                    policy, f"spec.ingress[{i}].from", "empty: admits every source", NAME
                )
            for j, peer in enumerate(peers):
                if not _store_peer(as_dict(peer)):
                    yield ctx.problem(
                        policy,
                        f"spec.ingress[{i}].from[{j}]",
                        "admits more than the auth service, the store itself and Prometheus",
                        NAME,
                    )


def _store_peer(peer: dict[str, Any]) -> bool:
    labels = as_dict(dig(peer, "podSelector", "matchLabels"))
    if set(peer) == {"podSelector"}:
        return labels.get("app.kubernetes.io/name") in STORE_PEERS
    namespace = dig(peer, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name")
    return (
        set(peer) == {"podSelector", "namespaceSelector"}
        and namespace == "monitoring"
        and labels.get("app.kubernetes.io/name") == "prometheus"
    )
