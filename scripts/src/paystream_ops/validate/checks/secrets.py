"""External Secrets produce exactly the Secrets the pods mount, from this environment's Vault.

- every ExternalSecret names a store that exists and refreshes on a set interval;
- every ExternalSecret target is mounted by a pod (or is one of the few Secrets a controller
  reads, listed in ``CONTROLLER_SECRETS``), and every key a pod reads is one the ExternalSecret
  writes;
- secrets are never mounted with subPath (a rotated value would never reach the pod);
- an overlay reads only its own environment: auth mount ``kubernetes-<env>``, role
  ``external-secrets-<env>``, keys ``<env>/...``.
"""

from __future__ import annotations

from collections.abc import Iterator

from paystream_ops.validate.checks import TargetContext, env_of
from paystream_ops.validate.checks.workloads import WORKLOAD_KINDS
from paystream_ops.validate.model import K8sObject, Problem, as_dict, as_list, dig, name_of

NAME = "secrets"
# Secrets read by a controller rather than mounted by a pod: name -> the reader.
CONTROLLER_SECRETS = {
    "argo-rollouts-notification-secret": "the Argo Rollouts controller (self-service "
    "notifications)",
    "alertmanager-receivers": "Alertmanager (kube-prometheus-stack alertmanagerSpec.secrets)",
}


def mounted_secret_keys(workload: K8sObject) -> dict[str, set[str]]:
    """Secret name -> keys the pod reads (an empty set: the whole Secret)."""
    out: dict[str, set[str]] = {}
    spec = as_dict(dig(workload, "spec", "template", "spec"))
    for volume in as_list(spec.get("volumes")):
        volume = as_dict(volume)
        sources = [as_dict(s).get("secret") for s in as_list(dig(volume, "projected", "sources"))]
        if "secret" in volume:
            sources.append(
                {
                    "name": dig(volume, "secret", "secretName"),
                    "items": dig(volume, "secret", "items"),
                }
            )
        for source in sources:
            if isinstance(source, dict) and source.get("name"):
                keys = out.setdefault(str(source["name"]), set())
                keys.update(str(as_dict(i).get("key")) for i in as_list(source.get("items")))
    for container in as_list(spec.get("containers")):
        for env in as_list(as_dict(container).get("env")):
            ref = as_dict(dig(env, "valueFrom", "secretKeyRef"))
            if ref.get("name"):
                out.setdefault(str(ref["name"]), set()).add(str(ref.get("key")))
    return out


def _secret_volumes(workload: K8sObject) -> set[str]:
    names = set()
    for volume in as_list(dig(workload, "spec", "template", "spec", "volumes")):
        volume = as_dict(volume)
        projected = as_list(dig(volume, "projected", "sources"))
        if "secret" in volume or any("secret" in as_dict(s) for s in projected):
            names.add(str(volume.get("name")))
    return names


def check(ctx: TargetContext) -> Iterator[Problem]:
    workloads = [o for o in ctx.objects if o.get("kind") in WORKLOAD_KINDS]
    mounted: dict[str, set[str]] = {}
    for workload in workloads:
        for secret, keys in mounted_secret_keys(workload).items():
            mounted.setdefault(secret, set()).update(keys)
        yield from _no_subpath(ctx, workload)
    externals = list(ctx.rendered.of_kind("ExternalSecret"))
    for es in externals:
        yield from _external_secret(ctx, es, mounted)
    yield from _environment(ctx, externals)


def _no_subpath(ctx: TargetContext, workload: K8sObject) -> Iterator[Problem]:
    secret_volumes = _secret_volumes(workload)
    for i, container in enumerate(as_list(dig(workload, "spec", "template", "spec", "containers"))):
        for j, mount in enumerate(as_list(as_dict(container).get("volumeMounts"))):
            mount = as_dict(mount)
            if mount.get("name") in secret_volumes and (
                mount.get("subPath") or mount.get("subPathExpr")
            ):
                yield ctx.problem(
                    workload,
                    f"spec.template.spec.containers[{i}].volumeMounts[{j}].subPath",
                    "a secret mounted with subPath never sees a rotation: mount the whole volume",
                    NAME,
                )


def _find_store(ctx: TargetContext, kind: str, name: str) -> K8sObject | None:
    """A SecretStore in this target; a ClusterSecretStore anywhere in the same environment's
    targets (it is cluster-scoped: overlays/<env>/alertmanager uses the one overlays/<env>
    installs)."""
    found = ctx.rendered.find(kind, name)
    if found is not None or kind != "ClusterSecretStore" or ctx.env is None:
        return found
    for target_name, rendered in ctx.all_targets.items():
        if env_of(target_name) == ctx.env and (store := rendered.find(kind, name)) is not None:
            return store
    return None


def _external_secret(
    ctx: TargetContext, es: K8sObject, mounted: dict[str, set[str]]
) -> Iterator[Problem]:
    store = as_dict(dig(es, "spec", "secretStoreRef"))
    kind, store_name = str(store.get("kind", "SecretStore")), str(store.get("name"))
    if _find_store(ctx, kind, store_name) is None:
        yield ctx.problem(es, "spec.secretStoreRef", f"{kind} {store_name} does not exist", NAME)
    if not dig(es, "spec", "refreshInterval"):
        yield ctx.problem(
            es,
            "spec.refreshInterval",
            "not set: the default (1h) delays every rotation by up to an hour",
            NAME,
        )
    target = str(dig(es, "spec", "target", "name") or name_of(es))
    if target in CONTROLLER_SECRETS:
        return
    if target not in mounted:
        yield ctx.problem(
            es,
            "spec.target.name",
            f"Secret {target} is not mounted by any pod (a renamed Secret or volume?)",
            NAME,
        )
        return
    written = {str(as_dict(d).get("secretKey")) for d in as_list(dig(es, "spec", "data"))}
    for key in sorted(k for k in mounted[target] if k not in written):
        yield ctx.problem(
            es,
            "spec.data",
            f"pods read key {key!r} of Secret {target}, which "
            f"this ExternalSecret does not write (it writes {sorted(written)})",
            NAME,
        )


def _environment(ctx: TargetContext, externals: list[K8sObject]) -> Iterator[Problem]:
    envs: list[tuple[str, K8sObject, str]] = []
    for store in ctx.rendered.of_kind("ClusterSecretStore", "SecretStore"):
        auth = as_dict(dig(store, "spec", "provider", "vault", "auth", "kubernetes"))
        for field, prefix in (("mountPath", "kubernetes-"), ("role", "external-secrets-")):
            value = str(auth.get(field, ""))
            if value:
                env = value.removeprefix(prefix) if value.startswith(prefix) else value
                envs.append((f"spec.provider.vault.auth.kubernetes.{field}", store, env))
    for es in externals:
        for i, item in enumerate(as_list(dig(es, "spec", "data"))):
            key = str(dig(item, "remoteRef", "key") or "")
            envs.append((f"spec.data[{i}].remoteRef.key", es, key.split("/", 1)[0]))
        for i, item in enumerate(as_list(dig(es, "spec", "dataFrom"))):
            key = str(dig(item, "extract", "key") or "")
            envs.append((f"spec.dataFrom[{i}].extract.key", es, key.split("/", 1)[0]))
    expected = ctx.env
    if expected is None and envs:
        # No overlay name to go by: the store decides, everything else must agree with it.
        expected = envs[0][2]
    for where, obj, env in envs:
        if env != expected:
            yield ctx.problem(
                obj,
                where,
                f"reads Vault environment {env!r}, but this target is {expected!r}",
                NAME,
            )
