"""Pod lifecycle: three separate probes and a drain that fits in the grace period.

Liveness must not be readiness (a card-network outage turns readiness off; it must not restart
pods), a startup probe protects slow starts from liveness, and the preStop sleep (endpoint
propagation) plus the service's own drain must end before the kubelet's SIGKILL.
"""

from __future__ import annotations

from collections.abc import Iterator

from paystream_ops.validate.checks import TargetContext
from paystream_ops.validate.checks.workloads import WORKLOAD_KINDS
from paystream_ops.validate.model import K8sObject, Problem, as_dict, as_list, dig

NAME = "pods"
DEFAULT_GRACE_SECONDS = 30
# The longest request: the processor deadline (2 s) plus queueing, after SIGTERM.
IN_FLIGHT_SECONDS = 3
# The service keeps serving this long after SIGTERM (its default when the variable is unset).
DRAIN_VARIABLE = "PAYSTREAM_DRAIN_SECONDS"
DEFAULT_DRAIN_SECONDS = 5.0


def check(ctx: TargetContext) -> Iterator[Problem]:
    for obj in ctx.objects:
        if obj.get("kind") in WORKLOAD_KINDS:
            yield from _workload(ctx, obj)


def _probe_target(probe: object) -> str | None:
    probe = as_dict(probe)
    if "httpGet" in probe:
        return f"http {dig(probe, 'httpGet', 'port')} {dig(probe, 'httpGet', 'path')}"
    for kind in ("tcpSocket", "grpc", "exec"):
        if kind in probe:
            return f"{kind} {probe[kind]}"
    return None


def container_env(ctx: TargetContext, container: dict[str, object]) -> dict[str, str]:
    """The literal environment a container gets: env values and envFrom ConfigMaps."""
    env: dict[str, str] = {}
    for source in as_list(container.get("envFrom")):
        name = dig(source, "configMapRef", "name")
        configmap = ctx.rendered.find("ConfigMap", str(name)) if name else None
        env.update({str(k): str(v) for k, v in as_dict(dig(configmap, "data")).items()})
    for item in as_list(container.get("env")):
        item = as_dict(item)
        if "value" in item:
            env[str(item.get("name"))] = str(item["value"])
    return env


def _drain_seconds(env: dict[str, str]) -> float:
    try:
        return float(env.get(DRAIN_VARIABLE, DEFAULT_DRAIN_SECONDS))
    except ValueError:
        return DEFAULT_DRAIN_SECONDS


def _workload(ctx: TargetContext, obj: K8sObject) -> Iterator[Problem]:
    spec = as_dict(dig(obj, "spec", "template", "spec"))
    grace = spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
    for i, container in enumerate(as_list(spec.get("containers"))):
        container = as_dict(container)
        where = f"spec.template.spec.containers[{i}]"
        probes = {k: container.get(k) for k in ("livenessProbe", "readinessProbe", "startupProbe")}
        for name, probe in probes.items():
            if not probe:
                yield ctx.problem(obj, f"{where}.{name}", "missing", NAME)
        live, ready = (
            _probe_target(probes["livenessProbe"]),
            _probe_target(probes["readinessProbe"]),
        )
        if live is not None and live == ready:
            yield ctx.problem(
                obj,
                f"{where}.livenessProbe",
                f"checks the same endpoint as "
                f"readiness ({live}): a downstream outage would restart pods",
                NAME,
            )
        sleep = dig(container, "lifecycle", "preStop", "sleep", "seconds")
        if not dig(container, "lifecycle", "preStop"):
            yield ctx.problem(
                obj,
                f"{where}.lifecycle.preStop",
                "missing: the pod would stop before the mesh stops sending it requests",
                NAME,
            )
            continue
        drain = _drain_seconds(container_env(ctx, container))
        needed = (sleep if isinstance(sleep, int) else 0) + drain + IN_FLIGHT_SECONDS
        if isinstance(grace, int) and needed > grace:
            yield ctx.problem(
                obj,
                "spec.template.spec.terminationGracePeriodSeconds",
                f"{grace} s is shorter than the shutdown: preStop {sleep or 0} s + "
                f"{DRAIN_VARIABLE} {drain:g} s + in-flight {IN_FLIGHT_SECONDS} s = {needed:g} s "
                "(SIGKILL would cut requests)",
                NAME,
            )
