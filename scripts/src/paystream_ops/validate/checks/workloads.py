"""Pods and what points at them: Service/PDB selectors, HPA targets, config the pods mount.

Workloads are Rollouts, Deployments, StatefulSets and DaemonSets; their pod template labels are
what Services and budgets must select (Argo Rollouts only ever adds labels to the template's).
"""

from __future__ import annotations

from collections.abc import Iterator

from paystream_ops.validate.checks import TargetContext
from paystream_ops.validate.model import (
    K8sObject,
    Problem,
    as_dict,
    as_list,
    dig,
    name_of,
)

NAME = "workloads"
WORKLOAD_KINDS = ("Rollout", "Deployment", "StatefulSet", "DaemonSet")


def pod_templates(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, dict[str, str]]]:
    """(workload, pod template labels) for every workload."""
    for obj in objects:
        if obj.get("kind") in WORKLOAD_KINDS:
            labels = as_dict(dig(obj, "spec", "template", "metadata", "labels"))
            yield obj, {str(k): str(v) for k, v in labels.items()}


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def match_labels(selector: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in as_dict(dig(selector, "matchLabels")).items()}


def container_ports(workload: K8sObject) -> dict[str, int]:
    ports: dict[str, int] = {}
    for container in as_list(dig(workload, "spec", "template", "spec", "containers")):
        for port in as_list(as_dict(container).get("ports")):
            if isinstance(port, dict) and port.get("name"):
                ports[str(port["name"])] = int(port.get("containerPort", 0))
    return ports


def check(ctx: TargetContext) -> Iterator[Problem]:
    templates = list(pod_templates(ctx.objects))
    yield from _services(ctx, templates)
    yield from _budgets(ctx, templates)
    yield from _autoscalers(ctx)
    yield from _pod_references(ctx, templates)


def _services(
    ctx: TargetContext, templates: list[tuple[K8sObject, dict[str, str]]]
) -> Iterator[Problem]:
    for svc in ctx.rendered.of_kind("Service"):
        selector = {str(k): str(v) for k, v in as_dict(dig(svc, "spec", "selector")).items()}
        if not selector:
            continue  # selector-less Services are managed by someone else on purpose
        matches = [w for w, labels in templates if selects(selector, labels)]
        if not matches:
            yield ctx.problem(
                svc,
                "spec.selector",
                f"selects no pods: no workload template has labels {_fmt(selector)}",
                NAME,
            )
            continue
        for port in as_list(dig(svc, "spec", "ports")):
            target = as_dict(port).get("targetPort")
            if isinstance(target, str) and not any(target in container_ports(w) for w in matches):
                yield ctx.problem(
                    svc,
                    f"spec.ports[{port.get('name', '?')}].targetPort",
                    f"names port {target!r}, which no selected container declares",
                    NAME,
                )


def _budgets(
    ctx: TargetContext, templates: list[tuple[K8sObject, dict[str, str]]]
) -> Iterator[Problem]:
    for pdb in ctx.rendered.of_kind("PodDisruptionBudget"):
        selector = match_labels(dig(pdb, "spec", "selector"))
        if not any(selects(selector, labels) for _, labels in templates):
            yield ctx.problem(pdb, "spec.selector", f"selects no pods ({_fmt(selector)})", NAME)


def _autoscalers(ctx: TargetContext) -> Iterator[Problem]:
    for hpa in ctx.rendered.of_kind("HorizontalPodAutoscaler"):
        ref = as_dict(dig(hpa, "spec", "scaleTargetRef"))
        kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
        target = ctx.rendered.find(kind, name)
        if target is None:
            yield ctx.problem(hpa, "spec.scaleTargetRef", f"{kind}/{name} does not exist", NAME)
        elif kind == "Rollout" and ref.get("apiVersion") != target.get("apiVersion"):
            yield ctx.problem(
                hpa,
                "spec.scaleTargetRef.apiVersion",
                f"{ref.get('apiVersion')!r} does not match the Rollout's "
                f"{target.get('apiVersion')!r}",
                NAME,
            )


def _secret_sources(ctx: TargetContext) -> set[str]:
    """Secrets that will exist: rendered ones and those External Secrets create."""
    names = {name_of(s) for s in ctx.rendered.of_kind("Secret")}
    for es in ctx.rendered.of_kind("ExternalSecret"):
        names.add(str(dig(es, "spec", "target", "name") or name_of(es)))
    return names


def _pod_references(
    ctx: TargetContext, templates: list[tuple[K8sObject, dict[str, str]]]
) -> Iterator[Problem]:
    configmaps = {name_of(c) for c in ctx.rendered.of_kind("ConfigMap")}
    secrets = _secret_sources(ctx)
    accounts = {name_of(a) for a in ctx.rendered.of_kind("ServiceAccount")}
    for workload, _ in templates:
        spec = as_dict(dig(workload, "spec", "template", "spec"))
        account = spec.get("serviceAccountName")
        if account and account not in accounts:
            yield ctx.problem(
                workload,
                "spec.template.spec.serviceAccountName",
                f"ServiceAccount {account} does not exist",
                NAME,
            )
        for where, kind, name in _referenced_config(spec):
            known = configmaps if kind == "ConfigMap" else secrets
            if name not in known:
                hint = (
                    " (a generated ConfigMap's hash-suffixed name did not reach the Rollout? "
                    "list rollout-transform.yaml under `configurations:`)"
                    if kind == "ConfigMap" and workload.get("kind") == "Rollout"
                    else ""
                )
                source = "" if kind == "ConfigMap" else " and no ExternalSecret creates it"
                yield ctx.problem(
                    workload,
                    f"spec.template.spec.{where}",
                    f"{kind} {name} does not exist{source}{hint}",
                    NAME,
                )


def _referenced_config(spec: dict[str, object]) -> Iterator[tuple[str, str, str]]:
    for i, volume in enumerate(as_list(spec.get("volumes"))):
        volume = as_dict(volume)
        if "configMap" in volume:
            yield f"volumes[{i}].configMap.name", "ConfigMap", str(dig(volume, "configMap", "name"))
        if "secret" in volume:
            yield (
                f"volumes[{i}].secret.secretName",
                "Secret",
                str(dig(volume, "secret", "secretName")),
            )
        for j, source in enumerate(as_list(dig(volume, "projected", "sources"))):
            source = as_dict(source)
            for kind, key in (("ConfigMap", "configMap"), ("Secret", "secret")):
                if key in source:
                    yield (
                        f"volumes[{i}].projected.sources[{j}].{key}.name",
                        kind,
                        str(dig(source, key, "name")),
                    )
    for c_index, container in enumerate(as_list(spec.get("containers"))):
        container = as_dict(container)
        for k, env_from in enumerate(as_list(container.get("envFrom"))):
            env_from = as_dict(env_from)
            if "configMapRef" in env_from:
                yield (
                    f"containers[{c_index}].envFrom[{k}].configMapRef.name",
                    "ConfigMap",
                    str(dig(env_from, "configMapRef", "name")),
                )
            if "secretRef" in env_from:
                yield (
                    f"containers[{c_index}].envFrom[{k}].secretRef.name",
                    "Secret",
                    str(dig(env_from, "secretRef", "name")),
                )
        for k, env in enumerate(as_list(container.get("env"))):
            ref = dig(env, "valueFrom")
            for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                name = dig(ref, key, "name")
                if name:
                    yield f"containers[{c_index}].env[{k}].valueFrom.{key}.name", kind, str(name)


def _fmt(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "(none)"
