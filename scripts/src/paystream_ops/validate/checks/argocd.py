"""Argo CD: Applications, their project, their waves, and what they deploy.

Per Application: a sync wave; the dedicated project (not ``default``) allowing its sources,
destination and every cluster-scoped kind its path renders; charts and external Git sources
pinned to exact versions; this repository's paths existing. Across the cluster's Applications:
the Application health check in argocd-cm (without it waves do not wait), the service after
the platform, and the HTTPRoute weights the plugin moves ignored (with
RespectIgnoreDifferences). What the platform charts' values must set is ``platform_charts``.
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
        # The platform is the charts outside the service's namespace; a chart inside it (the
        # idempotency store) belongs to the service and follows its secret store (decision 0101).
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
