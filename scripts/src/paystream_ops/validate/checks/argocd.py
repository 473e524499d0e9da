"""Argo CD: Applications, their project, their waves, and what they deploy.

Per Application: a sync wave; the dedicated project (not ``default``) allowing its sources,
destination and every cluster-scoped kind its path renders; charts and external Git sources
pinned to exact versions; this repository's paths existing. Across the cluster's Applications:
the Application health check in argocd-cm (without it waves do not wait), the service after
the platform and after the charts in its own namespace (the idempotency store), every
ExternalSecret after its (Cluster)SecretStore, and the HTTPRoute weights the plugin moves ignored
(with RespectIgnoreDifferences). What the platform charts' values must set is ``platform_charts``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from typing import Any

from paystream_ops.validate.checks import TargetContext
from paystream_ops.validate.checks.rollout import GATEWAY_PLUGIN
from paystream_ops.validate.model import (
    K8sObject,
    Problem,
    Rendered,
    annotations_of,
    as_dict,
    as_list,
    dig,
    group_of,
    name_of,
    namespace_of,
)

NAME = "argocd"
WAVE = "argocd.argoproj.io/sync-wave"
HEALTH_KEY = "resource.customizations.health.argoproj.io_Application"
WEIGHT_PATHS = (".spec.rules[].backendRefs[].weight", ".spec.rules[]?.backendRefs[]?.weight")
EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
CLUSTER_SCOPED_CORE = frozenset(
    {
        ("", "Namespace"),
        ("", "PersistentVolume"),
        ("", "Node"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("storage.k8s.io", "StorageClass"),
        ("apiregistration.k8s.io", "APIService"),
    }
)


def sources(app: K8sObject) -> list[dict[str, Any]]:
    spec = as_dict(app.get("spec"))
    return [
        as_dict(s)
        for s in ([spec["source"]] if "source" in spec else []) + as_list(spec.get("sources"))
    ]


def wave(app: K8sObject) -> int | None:
    raw = annotations_of(app).get(WAVE)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def check(ctx: TargetContext) -> Iterator[Problem]:
    yield from _namespace_first(ctx)
    apps = list(ctx.rendered.of_kind("Application"))
    if not apps:
        return
    for app in apps:
        yield from _application(ctx, app)
    yield from _health_check(ctx, apps)
    yield from _waves(ctx, apps)
    yield from _stores_first(ctx, apps)


def local_render(ctx: TargetContext, source: dict[str, Any]) -> Rendered | None:
    if source.get("repoURL") != ctx.settings.gitops_repo_url or not source.get("path"):
        return None
    return ctx.all_targets.get(str(source["path"]).strip("/"))


def _namespace_first(ctx: TargetContext) -> Iterator[Problem]:
    """A Namespace a target creates must sync no later than anything inside it: Argo CD orders
    by wave before kind, so an object in an earlier wave is applied into a missing namespace."""
    for namespace in ctx.rendered.of_kind("Namespace"):
        own = wave(namespace) or 0
        for obj in ctx.objects:
            if namespace_of(obj) == name_of(namespace) and (wave(obj) or 0) < own:
                yield ctx.problem(
                    obj,
                    f"metadata.annotations[{WAVE}]",
                    f"wave {wave(obj) or 0} syncs before its Namespace {name_of(namespace)} "
                    f"(wave {own}): Argo CD would apply it into a namespace that does not exist",
                    NAME,
                )


def _application(ctx: TargetContext, app: K8sObject) -> Iterator[Problem]:
    if wave(app) is None:
        yield ctx.problem(
            app,
            f"metadata.annotations[{WAVE}]",
            "missing or not an integer: every Application states its place in the order",
            NAME,
        )
    project_name = str(dig(app, "spec", "project") or "default")
    project = ctx.rendered.find("AppProject", project_name)
    if project_name == "default":
        yield ctx.problem(app, "spec.project", "uses `default`: use the dedicated AppProject", NAME)
    elif project is None:
        yield ctx.problem(app, "spec.project", f"AppProject {project_name} does not exist", NAME)
    for i, source in enumerate(sources(app)):
        yield from _source(ctx, app, project, i, source)
    if project is not None:
        yield from _destination(ctx, app, project)


def _source(
    ctx: TargetContext, app: K8sObject, project: K8sObject | None, i: int, source: dict[str, Any]
) -> Iterator[Problem]:
    where = "spec.source" if "source" in as_dict(app.get("spec")) else f"spec.sources[{i}]"
    repo, revision = str(source.get("repoURL", "")), str(source.get("targetRevision", ""))
    if project is not None:
        allowed = [str(r) for r in as_list(dig(project, "spec", "sourceRepos"))]
        if not any(fnmatch.fnmatchcase(repo, pattern) for pattern in allowed):
            yield ctx.problem(
                app,
                f"{where}.repoURL",
                f"{repo} is not in AppProject {name_of(project)}'s sourceRepos",
                NAME,
            )
    if source.get("chart"):
        if not EXACT_VERSION.match(revision):
            yield ctx.problem(
                app,
                f"{where}.targetRevision",
                f"chart version {revision!r} is not an exact version",
                NAME,
            )
    elif repo == ctx.settings.gitops_repo_url:
        path = str(source.get("path", "")).strip("/")
        if not (ctx.settings.root / path / "kustomization.yaml").is_file():
            yield ctx.problem(
                app, f"{where}.path", f"{path!r} has no kustomization.yaml in this repository", NAME
            )
    elif not (EXACT_VERSION.match(revision) or COMMIT.match(revision)):
        yield ctx.problem(
            app,
            f"{where}.targetRevision",
            f"{revision!r} is not a release tag or commit: pin external Git sources",
            NAME,
        )


def _allowed(project: K8sObject, server: str, namespace: str) -> bool:
    for dest in as_list(dig(project, "spec", "destinations")):
        dest = as_dict(dest)
        if fnmatch.fnmatchcase(server, str(dest.get("server", "*"))) and fnmatch.fnmatchcase(
            namespace, str(dest.get("namespace", "*"))
        ):
            return True
    return False


def _cluster_scoped(ctx: TargetContext, obj: K8sObject) -> bool:
    key = (group_of(obj), str(obj.get("kind")))
    if key in CLUSTER_SCOPED_CORE:
        return True
    crds = ctx.settings.crds
    crd = crds.get(*key) if crds else None
    return bool(crd and crd.cluster_scoped)


def _destination(ctx: TargetContext, app: K8sObject, project: K8sObject) -> Iterator[Problem]:
    dest = as_dict(dig(app, "spec", "destination"))
    server, namespace = str(dest.get("server", "")), str(dest.get("namespace", ""))
    # An empty namespace is matched against the project's globs like any other (Argo CD's
    # isDestinationMatched): only `namespace: "*"` admits it, so an Application that omits it
    # under a project with named namespaces never syncs (InvalidSpecError).
    if not _allowed(project, server, namespace):
        shown = f"namespace {namespace}" if namespace else "an empty namespace"
        yield ctx.problem(
            app,
            "spec.destination",
            f"{server} {shown} is not a destination of AppProject {name_of(project)}",
            NAME,
        )
    whitelist = {
        (str(as_dict(w).get("group", "")), str(as_dict(w).get("kind", "")))
        for w in as_list(dig(project, "spec", "clusterResourceWhitelist"))
    }
    for source in sources(app):
        rendered = local_render(ctx, source)
        if rendered is None:
            continue
        seen: set[str] = set()
        for obj in rendered.objects:
            if _cluster_scoped(ctx, obj):
                key = (group_of(obj), str(obj.get("kind")))
                if not ({key, (key[0], "*"), ("*", "*")} & whitelist) and key[1] not in seen:
                    seen.add(key[1])
                    yield ctx.problem(
                        app,
                        "spec.destination",
                        f"deploys cluster-scoped "
                        f"{key[1]} ({key[0] or 'core'}), which AppProject "
                        f"{name_of(project)} does not whitelist",
                        NAME,
                    )
            elif namespace_of(obj) and not _allowed(project, server, namespace_of(obj)):
                yield ctx.problem(
                    app,
                    "spec.destination",
                    f"deploys {obj.get('kind')}/"
                    f"{name_of(obj)} into namespace {namespace_of(obj)}, not a "
                    f"destination of AppProject {name_of(project)}",
                    NAME,
                )
        yield from _ignored_weights(ctx, app, rendered)


def _ignored_weights(ctx: TargetContext, app: K8sObject, rendered: Rendered) -> Iterator[Problem]:
    routes: set[str] = set()
    for rollout in rendered.of_kind("Rollout"):
        config = as_dict(
            dig(rollout, "spec", "strategy", "canary", "trafficRouting", "plugins", GATEWAY_PLUGIN)
        )
        routes.update(str(as_dict(r).get("name")) for r in as_list(config.get("httpRoutes")))
    if not routes:
        return
    covered: set[str] = set()
    for entry in as_list(dig(app, "spec", "ignoreDifferences")):
        entry = as_dict(entry)
        if entry.get("group") != "gateway.networking.k8s.io" or entry.get("kind") != "HTTPRoute":
            continue
        paths = [str(p).replace(" ", "") for p in as_list(entry.get("jqPathExpressions"))]
        pointers = [str(p) for p in as_list(entry.get("jsonPointers"))]
        if any(p in WEIGHT_PATHS for p in paths) or "/spec/rules" in pointers:
            covered |= {str(entry["name"])} if entry.get("name") else routes
    for route in sorted(routes - covered):
        yield ctx.problem(
            app,
            "spec.ignoreDifferences",
            f"does not ignore HTTPRoute {route}'s "
            "backendRefs weights: Argo CD would reset the canary to 0%",
            NAME,
        )
    options = [str(o) for o in as_list(dig(app, "spec", "syncPolicy", "syncOptions"))]
    if "RespectIgnoreDifferences=true" not in options:
        yield ctx.problem(
            app,
            "spec.syncPolicy.syncOptions",
            "lacks RespectIgnoreDifferences="
            "true: a sync would still overwrite the ignored canary weights",
            NAME,
        )


def _health_check(ctx: TargetContext, apps: list[K8sObject]) -> Iterator[Problem]:
    waves = {wave(a) for a in apps if wave(a) is not None}
    if len(waves) < 2:
        return
    cm = ctx.rendered.find("ConfigMap", "argocd-cm")
    data = as_dict(cm.get("data")) if cm else {}
    legacy = str(data.get("resource.customizations", ""))
    if HEALTH_KEY not in data and "argoproj.io/Application" not in legacy:
        yield ctx.problem(
            cm,
            f"data[{HEALTH_KEY}]",
            "missing: without a health check for "
            "Applications, sync waves between child Applications do not wait",
            NAME,
        )


def _destination_namespace(app: K8sObject) -> str:
    return str(dig(app, "spec", "destination", "namespace") or "")


def _waves(ctx: TargetContext, apps: list[K8sObject]) -> Iterator[Problem]:
    charts = [a for a in apps if any(s.get("chart") for s in sources(a))]
    for app in apps:
        renders = [r for s in sources(app) if (r := local_render(ctx, s)) is not None]
        if not any(any(True for _ in r.of_kind("Rollout")) for r in renders):
            continue
        yield from _own_charts_first(ctx, app, charts)
        # The platform is the charts outside the service's namespace; a chart inside it (the
        # idempotency store) is the service's own dependency (`_own_charts_first`).
        platform_wave = max(
            (
                w
                for a in charts
                if _destination_namespace(a) != _destination_namespace(app)
                and (w := wave(a)) is not None
            ),
            default=None,
        )
        app_wave = wave(app)
        if platform_wave is not None and app_wave is not None and app_wave <= platform_wave:
            yield ctx.problem(
                app,
                f"metadata.annotations[{WAVE}]",
                f"wave {app_wave} is not after the platform (charts up to wave {platform_wave})",
                NAME,
            )


def _own_charts_first(
    ctx: TargetContext, app: K8sObject, charts: list[K8sObject]
) -> Iterator[Problem]:
    """A chart in the service's own namespace (the idempotency store) is something the service
    uses: it syncs in an earlier wave (docs/decisions/0119-*)."""
    app_wave = wave(app)
    for chart in charts:
        chart_wave = wave(chart)
        if (
            chart is app
            or _destination_namespace(chart) != _destination_namespace(app)
            or app_wave is None
            or chart_wave is None
            or chart_wave < app_wave
        ):
            continue
        yield ctx.problem(
            app,
            f"metadata.annotations[{WAVE}]",
            f"wave {app_wave} is not after {name_of(chart)} (wave {chart_wave}), which the "
            "service uses in its namespace",
            NAME,
        )


StoreKey = tuple[str, str, str]  # kind, namespace ("" for a ClusterSecretStore), name


def _store_key(kind: str, namespace: str, name: str) -> StoreKey:
    return (kind, "" if kind == "ClusterSecretStore" else namespace, name)


def _stores_first(ctx: TargetContext, apps: list[K8sObject]) -> Iterator[Problem]:
    """Every ExternalSecret reads through a (Cluster)SecretStore already there: one its own
    Application syncs in the same or an earlier wave, or one an Application of an earlier wave
    syncs (the root syncs Applications wave by wave, waiting for their health; Applications of
    one wave sync together, in no order). docs/decisions/0119-*."""
    renders = {
        id(app): [r for s in sources(app) if (r := local_render(ctx, s)) is not None]
        for app in apps
    }
    providers: dict[StoreKey, tuple[K8sObject, K8sObject]] = {}
    for app in apps:
        for rendered in renders[id(app)]:
            for store in rendered.of_kind("ClusterSecretStore", "SecretStore"):
                key = _store_key(str(store.get("kind")), namespace_of(store), name_of(store))
                providers.setdefault(key, (app, store))
            for namespace in rendered.of_kind("Namespace"):
                providers.setdefault(("Namespace", "", name_of(namespace)), (app, namespace))
    for app in apps:
        problem = _namespace_order(app, providers)
        if problem:
            yield ctx.problem(app, f"metadata.annotations[{WAVE}]", problem, NAME)
    for app in apps:
        for rendered in renders[id(app)]:
            for es in rendered.of_kind("ExternalSecret"):
                problem = _store_order(es, app, providers)
                if problem:
                    yield ctx.problem(app, f"metadata.annotations[{WAVE}]", problem, NAME)


def _namespace_order(
    app: K8sObject, providers: dict[StoreKey, tuple[K8sObject, K8sObject]]
) -> str | None:
    """An Application deploying into a Namespace another Application creates comes after it."""
    namespace = _destination_namespace(app)
    found = providers.get(("Namespace", "", namespace))
    if found is None or found[0] is app:
        return None
    app_wave, provider_wave = wave(app), wave(found[0])
    if app_wave is None or provider_wave is None or provider_wave < app_wave:
        return None
    return (
        f"deploys into namespace {namespace}, which Application {name_of(found[0])} creates at "
        f"wave {provider_wave}, not before this Application (wave {app_wave})"
    )


def _store_order(
    es: K8sObject, app: K8sObject, providers: dict[StoreKey, tuple[K8sObject, K8sObject]]
) -> str | None:
    ref = as_dict(dig(es, "spec", "secretStoreRef"))
    kind, name = str(ref.get("kind", "SecretStore")), str(ref.get("name"))
    found = providers.get(_store_key(kind, namespace_of(es), name))
    if found is None:  # a store no Application syncs: the `secrets` check's to report
        return None
    provider, store = found
    where = f"ExternalSecret {namespace_of(es)}/{name_of(es)} reads through {kind} {name}"
    if provider is app:
        es_wave, store_wave = wave(es) or 0, wave(store) or 0
        if store_wave <= es_wave:
            return None
        return f"{where}, which this Application syncs later (wave {store_wave} > {es_wave})"
    app_wave, provider_wave = wave(app), wave(provider)
    if app_wave is None or provider_wave is None or provider_wave < app_wave:
        return None
    return (
        f"{where}, which Application {name_of(provider)} syncs at wave {provider_wave}, not "
        f"before this Application (wave {app_wave}): the store would not be there yet"
    )
