"""Limits a hostile client meets: the edge is stricter than the pod, probes stand apart, shutdown
is bounded. docs/decisions/0040-deadline-budget.md states each relation; this checks them.

The pod's side comes from the service itself: its granian command line
(`paystream_auth.granian_command.PRODUCTION`, the image's ENTRYPOINT) and its settings parsed from
the container's rendered environment by `paystream_auth.config.load_settings`, exactly as the pod
parses them.

- every Service a mesh route sends traffic to has a DestinationRule whose connection pool caps
  connections at most at one pod's capacity (`--backpressure` x workers), queues a bounded
  number of requests, and closes idle connections before the pod would (its keep-alive idle is
  granian's header read timeout);
- every route rule has a request timeout, longer on `/v1/authorize` than the processor deadline
  (the service's own 504 problem must arrive before the mesh's bare one);
- the service's probes use its probe listener, never granian's port;
- granian's worker kill timeout covers the drain, the longest body and the processor deadline,
  and preStop plus that timeout fits in the grace period; the container keeps the image's
  command (or this check would be reading the wrong one).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from paystream_auth.config import ConfigError, Settings, load_settings
from paystream_auth.granian_command import PRODUCTION

from paystream_ops.validate.checks import TargetContext
from paystream_ops.validate.checks.images import split_image
from paystream_ops.validate.checks.pods import container_env
from paystream_ops.validate.checks.routes import AUTHORIZE_PATH, path_matches
from paystream_ops.validate.checks.workloads import WORKLOAD_KINDS
from paystream_ops.validate.model import K8sObject, Problem, as_dict, as_list, dig

NAME = "limits"
POOL = "spec.trafficPolicy.connectionPool"
# granian's main process: stop the killed workers, clean up, exit.
EXIT_MARGIN_SECONDS = 1
FAULT_SETTINGS = frozenset({"PAYSTREAM_FAULTS", "PAYSTREAM_FAULTS_FILE"})
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def seconds(text: object) -> float | None:
    """A Gateway API or Istio duration (`3s`, `500ms`, `1h30m`) in seconds; None if not one."""
    value = str(text).strip()
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def check(ctx: TargetContext) -> Iterator[Problem]:
    pods: list[tuple[dict[str, Any], Settings]] = []
    for obj, where, container in _service_containers(ctx):
        # The fault profile is a mounted file (not here) and no limit depends on it.
        env = {k: v for k, v in container_env(ctx, container).items() if k not in FAULT_SETTINGS}
        try:
            settings = load_settings(env)
        except ConfigError as exc:
            yield ctx.problem(obj, f"{where}.env", f"the service would not start: {exc}", NAME)
            continue
        pods.append((container, settings))
        yield from _shutdown(ctx, obj, where, container, settings)
        yield from _probes(ctx, obj, where, container, settings)
    for route in ctx.rendered.of_kind("HTTPRoute"):
        yield from _route_timeouts(ctx, route, pods[0][1] if pods else None)
    if pods:
        capacity = _capacity(pods[0][0], ctx)
        for service in sorted(_mesh_backends(ctx)):
            yield from _connection_pool(ctx, service, capacity)


def _service_containers(ctx: TargetContext) -> Iterator[tuple[K8sObject, str, dict[str, Any]]]:
    for obj in ctx.objects:
        if obj.get("kind") not in WORKLOAD_KINDS:
            continue
        for i, container in enumerate(as_list(dig(obj, "spec", "template", "spec", "containers"))):
            container = as_dict(container)
            if split_image(str(container.get("image", "")))[0] == ctx.settings.service_image:
                yield obj, f"spec.template.spec.containers[{i}]", container


def _capacity(container: dict[str, Any], ctx: TargetContext) -> int:
    """Connections one pod holds: granian's backpressure per worker times its workers."""
    workers = container_env(ctx, container).get("GRANIAN_WORKERS", "1")
    return PRODUCTION.backpressure * (int(workers) if workers.isdigit() else 1)


def _shutdown(
    ctx: TargetContext,
    obj: K8sObject,
    where: str,
    container: dict[str, Any],
    settings: Settings,
) -> Iterator[Problem]:
    if container.get("command") or container.get("args"):
        yield ctx.problem(
            obj,
            f"{where}.command",
            "overrides the image's granian command line: its limits would go unchecked "
            "(change paystream_auth.granian_command instead)",
            NAME,
        )
    kill = PRODUCTION.workers_kill_timeout_seconds
    in_flight = (
        settings.drain_seconds + settings.body_timeout_seconds + settings.processor_deadline_seconds
    )
    if kill < in_flight:
        yield ctx.problem(
            obj,
            f"{where}.env",
            f"granian --workers-kill-timeout {kill} s is shorter than the drain "
            f"{settings.drain_seconds:g} s + the body deadline "
            f"{settings.body_timeout_seconds:g} s + the processor deadline "
            f"{settings.processor_deadline_seconds:g} s = {in_flight:g} s: requests accepted "
            "during the drain would be killed",
            NAME,
        )
    spec = as_dict(dig(obj, "spec", "template", "spec"))
    grace = spec.get("terminationGracePeriodSeconds", 30)
    sleep = dig(container, "lifecycle", "preStop", "sleep", "seconds")
    pre_stop = sleep if isinstance(sleep, int) else 0
    needed = pre_stop + kill + EXIT_MARGIN_SECONDS
    if isinstance(grace, int) and needed > grace:
        yield ctx.problem(
            obj,
            "spec.template.spec.terminationGracePeriodSeconds",
            f"{grace} s is shorter than preStop {pre_stop} s + granian --workers-kill-timeout "
            f"{kill} s + {EXIT_MARGIN_SECONDS} s = {needed} s: the kubelet's SIGKILL would come "
            "before granian's own bound",
            NAME,
        )


def _port_number(container: dict[str, Any], port: object) -> object:
    for declared in as_list(container.get("ports")):
        declared = as_dict(declared)
        if declared.get("name") == port:
            return declared.get("containerPort")
    return port


def _probes(
    ctx: TargetContext,
    obj: K8sObject,
    where: str,
    container: dict[str, Any],
    settings: Settings,
) -> Iterator[Problem]:
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        port = dig(container, probe, "httpGet", "port")
        if port is None:
            continue
        number = _port_number(container, port)
        if number != settings.probe_port:
            yield ctx.problem(
                obj,
                f"{where}.{probe}.httpGet.port",
                f"{port} is not the probe listener (PAYSTREAM_PROBE_PORT {settings.probe_port}): "
                "probes on granian's port queue behind held connections and a held pod is "
                "restarted",
                NAME,
            )


def _route_timeouts(
    ctx: TargetContext, route: K8sObject, settings: Settings | None
) -> Iterator[Problem]:
    for i, rule in enumerate(as_list(dig(route, "spec", "rules"))):
        rule = as_dict(rule)
        where = f"spec.rules[{i}].timeouts.request"
        timeout = dig(rule, "timeouts", "request")
        if timeout is None:
            yield ctx.problem(route, where, "not set: the mesh default is unbounded", NAME)
            continue
        value = seconds(timeout)
        matches = [as_dict(m) for m in as_list(rule.get("matches"))] or [{}]
        authorize = any(path_matches(m, AUTHORIZE_PATH) for m in matches)
        if authorize and settings is not None and value is not None:
            deadline = settings.processor_deadline_seconds
            if value <= deadline:
                yield ctx.problem(
                    route,
                    where,
                    f"{timeout} is not longer than the service's processor deadline "
                    f"{deadline:g} s: callers would get the mesh's bare 504 instead of the "
                    "service's problem",
                    NAME,
                )


def _mesh_backends(ctx: TargetContext) -> set[str]:
    """Services that routes send traffic to and that are not themselves a route's parent."""
    parents = {
        str(as_dict(ref).get("name"))
        for route in ctx.rendered.of_kind("HTTPRoute")
        for ref in as_list(dig(route, "spec", "parentRefs"))
        if as_dict(ref).get("kind") == "Service"
    }
    backends = {
        str(as_dict(ref).get("name"))
        for route in ctx.rendered.of_kind("HTTPRoute")
        for rule in as_list(dig(route, "spec", "rules"))
        for ref in as_list(as_dict(rule).get("backendRefs"))
        if as_dict(ref).get("kind", "Service") == "Service"
    }
    return backends - parents


def _destination_rule(ctx: TargetContext, service: str) -> K8sObject | None:
    for rule in ctx.rendered.of_kind("DestinationRule"):
        host = str(dig(rule, "spec", "host"))
        if host == service or host.startswith(f"{service}."):
            return rule
    return None


def _connection_pool(ctx: TargetContext, service: str, capacity: int) -> Iterator[Problem]:
    found = ctx.rendered.find("Service", service)
    if found is None:  # the routes check reports a backend that does not exist
        return
    rule = _destination_rule(ctx, service)
    if rule is None:
        yield ctx.problem(
            found,
            "metadata.name",
            "no DestinationRule for this route backend: the waypoint would open as many "
            "connections to its pods as clients ask for (set trafficPolicy.connectionPool)",
            NAME,
        )
        return
    pool = as_dict(dig(rule, "spec", "trafficPolicy", "connectionPool"))
    tcp, http = as_dict(pool.get("tcp")), as_dict(pool.get("http"))
    connections = tcp.get("maxConnections")
    if not isinstance(connections, int):
        yield ctx.problem(rule, f"{POOL}.tcp.maxConnections", "not set (unlimited)", NAME)
    elif connections > capacity:
        yield ctx.problem(
            rule,
            f"{POOL}.tcp.maxConnections",
            f"{connections} exceeds one pod's {capacity} connections (granian --backpressure "
            f"{PRODUCTION.backpressure} per worker): a flood would queue at the pod instead of "
            "failing fast at the waypoint",
            NAME,
        )
    if not isinstance(http.get("http1MaxPendingRequests"), int):
        yield ctx.problem(
            rule, f"{POOL}.http.http1MaxPendingRequests", "not set (unbounded queue)", NAME
        )
    idle = seconds(http.get("idleTimeout")) if http.get("idleTimeout") is not None else None
    pod_idle = PRODUCTION.header_read_timeout_ms / 1000
    if idle is None:
        yield ctx.problem(
            rule,
            f"{POOL}.http.idleTimeout",
            f"not set (Envoy keeps idle connections 1 h; the pod closes them after {pod_idle:g} s, "
            "possibly under a request)",
            NAME,
        )
    elif idle >= pod_idle:
        yield ctx.problem(
            rule,
            f"{POOL}.http.idleTimeout",
            f"{http.get('idleTimeout')} is not shorter than the pod's keep-alive idle "
            f"{pod_idle:g} s (granian --http1-header-read-timeout): the pod may close a "
            "connection as the waypoint sends a request on it (the mesh never retries)",
            NAME,
        )
