"""Gateway API routes: parents and backends exist, defaults are explicit, ingress stays narrow.

- parentRefs name a Gateway (and listener) or Service that exists; backendRefs a Service port;
- every field the CRD defaults is written out: the API server would add it and Argo CD would
  report the route OutOfSync forever (and fight the plugin over it);
- POST /v1/authorize has an explicit timeout (no retries: the standard channel has no retry
  field, see the istiod check in ``argocd``);
- a route attached to an ingress Gateway never routes /admin or /metrics;
- in a namespace enrolled in a waypoint, every Service is a targetRef of an AuthorizationPolicy
  (the waypoint applies only the policies bound to the Service a request is addressed to, so
  an unbound `-stable`/`-canary` Service would be open to the whole mesh).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from paystream_ops.validate.checks import TargetContext
from paystream_ops.validate.model import (
    K8sObject,
    Problem,
    as_dict,
    as_list,
    dig,
    group_of,
    labels_of,
    name_of,
    namespace_of,
)

NAME = "routes"
GATEWAY_GROUP = "gateway.networking.k8s.io"
AUTHORIZE_PATH = "/v1/authorize"
PRIVATE_PATHS = ("/admin/faults", "/metrics")
WAYPOINT_CLASS = "istio-waypoint"


def check(ctx: TargetContext) -> Iterator[Problem]:
    for obj in ctx.objects:
        if group_of(obj) == GATEWAY_GROUP:
            yield from _explicit_defaults(ctx, obj)
    for route in ctx.rendered.of_kind("HTTPRoute"):
        yield from _parents(ctx, route)
        yield from _backends(ctx, route)
        yield from _authorize_timeouts(ctx, route)
        if _is_ingress(ctx, route):
            yield from _ingress_paths(ctx, route)
    yield from _services_behind_waypoint_have_policy(ctx)


def _services_behind_waypoint_have_policy(ctx: TargetContext) -> Iterator[Problem]:
    # Namespaces are cluster-wide, and the service's has an Application of its own.
    enrolled = {
        name_of(ns)
        for rendered in (ctx.rendered, *ctx.all_targets.values())
        for ns in rendered.of_kind("Namespace")
        if labels_of(ns).get("istio.io/use-waypoint")
    }
    bound = {
        (namespace_of(policy), str(as_dict(ref).get("name")))
        for policy in ctx.rendered.of_kind("AuthorizationPolicy")
        for ref in as_list(dig(policy, "spec", "targetRefs"))
        if as_dict(ref).get("kind") == "Service"
    }
    for service in ctx.rendered.of_kind("Service"):
        key = (namespace_of(service), name_of(service))
        if key[0] in enrolled and key not in bound:
            yield ctx.problem(
                service,
                "metadata.name",
                "behind the waypoint but no AuthorizationPolicy targets it: any workload in "
                "the mesh may call it",
                NAME,
            )


def _explicit_defaults(ctx: TargetContext, obj: K8sObject) -> Iterator[Problem]:
    crds = ctx.settings.crds
    crd = crds.get(GATEWAY_GROUP, str(obj.get("kind"))) if crds else None
    version = str(obj.get("apiVersion", "")).rsplit("/", 1)[-1]
    if crd is None or version not in crd.versions:
        return
    spec_schema = as_dict(dig(crd.versions[version].schema, "properties", "spec"))
    for where, default in _missing_defaults(spec_schema, obj.get("spec"), "spec"):
        yield ctx.problem(
            obj,
            where,
            f"not set: the API server defaults it to {default!r} and "
            "Argo CD would show a permanent diff; write it explicitly",
            NAME,
        )


def _missing_defaults(
    schema: Mapping[str, Any], value: Any, path: str
) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for prop, sub in as_dict(schema.get("properties")).items():
            if prop in value:
                yield from _missing_defaults(sub, value[prop], f"{path}.{prop}")
            elif "default" in sub:
                yield f"{path}.{prop}", sub["default"]
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            yield from _missing_defaults(schema["items"], item, f"{path}[{i}]")


def _parents(ctx: TargetContext, route: K8sObject) -> Iterator[Problem]:
    for i, ref in enumerate(as_list(dig(route, "spec", "parentRefs"))):
        ref = as_dict(ref)
        kind, name = str(ref.get("kind", "Gateway")), str(ref.get("name"))
        target = ctx.rendered.find(kind, name)
        if target is None:
            yield ctx.problem(route, f"spec.parentRefs[{i}]", f"{kind} {name} does not exist", NAME)
        elif kind == "Gateway" and ref.get("sectionName"):
            listeners = {
                str(as_dict(listener).get("name"))
                for listener in as_list(dig(target, "spec", "listeners"))
            }
            if ref["sectionName"] not in listeners:
                yield ctx.problem(
                    route,
                    f"spec.parentRefs[{i}].sectionName",
                    f"Gateway {name} has no listener {ref['sectionName']!r}",
                    NAME,
                )


def _backends(ctx: TargetContext, route: K8sObject) -> Iterator[Problem]:
    for i, rule in enumerate(as_list(dig(route, "spec", "rules"))):
        for j, ref in enumerate(as_list(as_dict(rule).get("backendRefs"))):
            ref = as_dict(ref)
            if ref.get("kind", "Service") != "Service":
                continue
            where = f"spec.rules[{i}].backendRefs[{j}]"
            service = ctx.rendered.find("Service", str(ref.get("name")))
            if service is None:
                yield ctx.problem(route, where, f"Service {ref.get('name')} does not exist", NAME)
                continue
            ports = {as_dict(p).get("port") for p in as_list(dig(service, "spec", "ports"))}
            if ref.get("port") not in ports:
                yield ctx.problem(
                    route,
                    f"{where}.port",
                    f"Service {ref.get('name')} has no "
                    f"port {ref.get('port')} (it has {sorted(map(str, ports))})",
                    NAME,
                )


def _matches(rule: dict[str, Any]) -> list[dict[str, Any]]:
    matches = as_list(rule.get("matches"))
    return [as_dict(m) for m in matches] or [{"path": {"type": "PathPrefix", "value": "/"}}]


def path_matches(match: dict[str, Any], path: str) -> bool:
    spec = as_dict(match.get("path")) or {"type": "PathPrefix", "value": "/"}
    kind, value = str(spec.get("type", "PathPrefix")), str(spec.get("value", "/"))
    if kind == "Exact":
        return path == value
    if kind == "RegularExpression":
        return re.fullmatch(value, path) is not None
    prefix = value.rstrip("/")
    return path == prefix or path.startswith(prefix + "/") or prefix == ""


def _authorize_timeouts(ctx: TargetContext, route: K8sObject) -> Iterator[Problem]:
    for i, rule in enumerate(as_list(dig(route, "spec", "rules"))):
        rule = as_dict(rule)
        if any(path_matches(m, AUTHORIZE_PATH) for m in _matches(rule)) and not dig(
            rule, "timeouts", "request"
        ):
            yield ctx.problem(
                route,
                f"spec.rules[{i}].timeouts.request",
                f"not set on a rule that routes {AUTHORIZE_PATH}: the mesh default is unbounded",
                NAME,
            )


def _is_ingress(ctx: TargetContext, route: K8sObject) -> bool:
    for ref in as_list(dig(route, "spec", "parentRefs")):
        ref = as_dict(ref)
        if ref.get("kind", "Gateway") == "Gateway":
            gateway = ctx.rendered.find("Gateway", str(ref.get("name")))
            if gateway is None or dig(gateway, "spec", "gatewayClassName") != WAYPOINT_CLASS:
                return True
    return False


def _ingress_paths(ctx: TargetContext, route: K8sObject) -> Iterator[Problem]:
    for i, rule in enumerate(as_list(dig(route, "spec", "rules"))):
        for j, match in enumerate(_matches(as_dict(rule))):
            for private in PRIVATE_PATHS:
                if path_matches(match, private):
                    yield ctx.problem(
                        route,
                        f"spec.rules[{i}].matches[{j}]",
                        f"routes {private} from the ingress gateway: never expose "
                        "/admin or /metrics outside the mesh",
                        NAME,
                    )
