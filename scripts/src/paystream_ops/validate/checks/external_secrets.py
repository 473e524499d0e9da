"""External Secrets: the one validator of the wiring from Vault to the files the pods read.

Every target:
- every ExternalSecret names a store that exists and refreshes on a set interval;
- every ExternalSecret target is mounted by a pod (or is one of the few Secrets a controller
  reads, listed in ``CONTROLLER_SECRETS``), and every key a pod reads is one it writes;
- secrets are never mounted with subPath (a rotated value would never reach the pod);
- a target reads only its own environment: auth mount ``kubernetes-<env>``, role
  ``external-secrets-<env>``, keys ``<env>/...``.

An environment's overlay (``overlays/<env>``) that runs the auth-service is also held to
``vault.contract``, the names `vault bootstrap` creates: the ClusterSecretStore's KV mount, auth
mount, role and identity; each ExternalSecret's store, refresh, target, key (resolved the way ESO
resolves it into a Vault API path) and property; and the one projected volume that turns the
Secrets into the files the service reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from paystream_ops.paths import ENVIRONMENTS
from paystream_ops.validate.checks import TargetContext, env_of, labelled_env
from paystream_ops.validate.checks.workloads import WORKLOAD_KINDS
from paystream_ops.validate.model import (
    K8sObject,
    Problem,
    as_dict,
    as_list,
    dig,
    name_of,
    namespace_of,
    obj_id,
)
from paystream_ops.vault import contract

NAME = "secrets"
ESO_API_VERSION = "external-secrets.io/v1"
# Secrets read by a controller rather than mounted by a pod: name -> the reader.
CONTROLLER_SECRETS = {
    "argo-rollouts-notification-secret": "the Argo Rollouts controller (self-service "
    "notifications)",
    "alertmanager-receivers": "Alertmanager (kube-prometheus-stack alertmanagerSpec.secrets)",
    "idempotency-store-users": "the Valkey chart's pods (auth.usersExistingSecret of "
    "apps/<env>/idempotency-store.yaml; checked by platform-charts)",
}
# Anything but the latest version's raw value would stop rotations from reaching the pod.
LATEST_RAW_VALUE: dict[str, tuple[object, ...]] = {
    "version": (None,),
    "metadataPolicy": (None, "None"),
    "decodingStrategy": (None, "None"),
    "conversionStrategy": (None, "Default"),
}


def eso_vault_api_path(store_path: str | None, version: str, key: str) -> str:
    """The Vault API path ESO's Vault provider reads for `remoteRef.key`.

    Mirrors `buildPath` in external-secrets providers/v1/vault/client_get.go: with a store
    `path` (the KV mount), a key that already starts with the mount is stripped of it (and of
    `data/` on v2), then `<mount>/data/<key>` is built for v2 and `<mount>/<key>` for v1.
    """
    out = key
    if store_path is not None:
        cut = store_path + "/"
        if out.startswith(cut):
            out = out[len(cut) :]
            if out.startswith("data/") and version == "v2":
                out = out[len("data/") :]
        parts = store_path.split("/") + (["data"] if version == "v2" else []) + out.split("/")
        return "/".join(parts)
    if "/data/" not in out and version == "v2":
        head, *rest = out.split("/")
        return "/".join([head, "data", *rest])
    return out


def check(ctx: TargetContext) -> Iterator[Problem]:
    workloads = [o for o in ctx.objects if o.get("kind") in WORKLOAD_KINDS]
    mounted: dict[str, set[str]] = {}
    for workload in workloads:
        for secret, keys in _mounted_secret_keys(workload).items():
            mounted.setdefault(secret, set()).update(keys)
        yield from _no_subpath(ctx, workload)
    externals = list(ctx.rendered.of_kind("ExternalSecret"))
    for es in externals:
        yield from _external_secret(ctx, es, mounted)
    held_to_contract: set[str] = set()
    if ctx.env in ENVIRONMENTS and _service_workloads(ctx.objects):
        yield from _vault_contract(ctx, ctx.env)
        held_to_contract = _contract_objects(ctx.objects)
    yield from _environment(ctx, externals, held_to_contract)


# --- Every target --------------------------------------------------------------------------


def _mounted_secret_keys(workload: K8sObject) -> dict[str, set[str]]:
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
    targets (it is cluster-scoped, in an Application of its own: overlays/<env>/namespace). A
    target outside overlays/ (a fixture) goes by its objects' environment label."""
    found = ctx.rendered.find(kind, name)
    env = ctx.env or labelled_env(ctx.objects)
    if found is not None or kind != "ClusterSecretStore" or env is None:
        return found
    for target_name, rendered in ctx.all_targets.items():
        if env_of(target_name) == env and (store := rendered.find(kind, name)) is not None:
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


def _environment(
    ctx: TargetContext, externals: list[K8sObject], held_to_contract: set[str]
) -> Iterator[Problem]:
    """Stores and keys of another environment; objects the contract pins exactly are left to it
    (it knows how ESO resolves a key that starts with the KV mount)."""
    envs: list[tuple[str, K8sObject, str]] = []
    for store in ctx.rendered.of_kind("ClusterSecretStore", "SecretStore"):
        if obj_id(store) in held_to_contract:
            continue
        auth = as_dict(dig(store, "spec", "provider", "vault", "auth", "kubernetes"))
        for field, prefix in (("mountPath", "kubernetes-"), ("role", "external-secrets-")):
            value = str(auth.get(field, ""))
            if value:
                env = value.removeprefix(prefix) if value.startswith(prefix) else value
                envs.append((f"spec.provider.vault.auth.kubernetes.{field}", store, env))
    for es in externals:
        if obj_id(es) in held_to_contract:
            continue
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


# --- An environment's overlay against what `vault bootstrap` creates -----------------------


def _named(objects: Sequence[K8sObject], kind: str, name: str) -> list[K8sObject]:
    return [o for o in objects if o.get("kind") == kind and name_of(o) == name]


def _service_workloads(objects: Sequence[K8sObject]) -> list[K8sObject]:
    return [
        o
        for o in objects
        if o.get("kind") in ("Rollout", "Deployment") and name_of(o) == contract.SERVICE
    ]


def _contract_objects(objects: Sequence[K8sObject]) -> set[str]:
    names = {("ClusterSecretStore", contract.CLUSTER_SECRET_STORE)} | {
        ("ExternalSecret", contract.external_secret_name(n)) for n in contract.SECRET_NAMES
    }
    return {obj_id(o) for o in objects if (o.get("kind"), name_of(o)) in names}


def _vault_contract(ctx: TargetContext, env: str) -> Iterator[Problem]:
    # The store is cluster-scoped and has an Application of its own (overlays/<env>/namespace).
    found_store = _find_store(ctx, "ClusterSecretStore", contract.CLUSTER_SECRET_STORE)
    stores = _named(ctx.objects, "ClusterSecretStore", contract.CLUSTER_SECRET_STORE) or (
        [found_store] if found_store is not None else []
    )
    store_path: str | None = None
    if len(stores) == 1:
        yield from _contract_store(ctx, stores[0], env)
        path = dig(stores[0], "spec", "provider", "vault", "path")
        store_path = str(path) if path is not None else None
    else:
        yield _missing(ctx, "ClusterSecretStore", contract.CLUSTER_SECRET_STORE, len(stores))
    namespaces: set[str] = set()
    for name in contract.SECRET_NAMES:
        es_name = contract.external_secret_name(name)
        found = _named(ctx.objects, "ExternalSecret", es_name)
        if len(found) == 1:
            yield from _contract_external_secret(ctx, found[0], env, name, store_path)
        else:
            yield _missing(ctx, "ExternalSecret", es_name, len(found))
        namespaces.update(namespace_of(es) for es in found)
    if len(namespaces) > 1:
        yield Problem(
            ctx.name, "", "", f"ExternalSecrets: in several namespaces {sorted(namespaces)}", NAME
        )
    namespace = next(iter(namespaces)) if len(namespaces) == 1 else None
    yield from _pod_files(ctx, namespace)


def _missing(ctx: TargetContext, kind: str, name: str, found: int) -> Problem:
    return Problem(ctx.name, f"{kind}/{name}", "", f"expected exactly one, found {found}", NAME)


def _contract_store(ctx: TargetContext, store: K8sObject, env: str) -> Iterator[Problem]:
    def problem(field: str, message: str) -> Problem:
        return ctx.problem(store, field, message, NAME)

    if store.get("apiVersion") != ESO_API_VERSION:
        yield problem("apiVersion", f"{store.get('apiVersion')!r}; expected {ESO_API_VERSION}")
    vault = dig(store, "spec", "provider", "vault")
    if not isinstance(vault, dict):
        yield problem("spec.provider.vault", "missing")
        return
    actual = {"path": vault.get("path"), "version": vault.get("version", "v2")}
    for field, want in (("path", contract.KV_MOUNT), ("version", "v2")):
        if actual[field] != want:
            yield problem(f"spec.provider.vault.{field}", f"{actual[field]!r}; expected {want!r}")
    if not vault.get("server"):
        yield problem("spec.provider.vault.server", "missing")
    auth = as_dict(vault.get("auth"))
    others = sorted(key for key in auth if key != "kubernetes")
    if others:
        yield problem(
            "spec.provider.vault.auth",
            f"{', '.join(others)} set; only kubernetes (the role bootstrap creates) is expected",
        )
    kube = auth.get("kubernetes")
    if not isinstance(kube, dict):
        yield problem("spec.provider.vault.auth.kubernetes", "missing")
        return
    yield from _contract_store_login(ctx, store, kube, env)


def _contract_store_login(
    ctx: TargetContext, store: K8sObject, kube: dict[str, object], env: str
) -> Iterator[Problem]:
    field = "spec.provider.vault.auth.kubernetes"
    mount = kube.get("mountPath", "kubernetes")
    if mount != contract.auth_mount(env):
        yield ctx.problem(
            store, f"{field}.mountPath", f"{mount!r}; expected {contract.auth_mount(env)!r}", NAME
        )
    if kube.get("role") != contract.role_name(env):
        yield ctx.problem(
            store,
            f"{field}.role",
            f"{kube.get('role')!r}; expected {contract.role_name(env)!r}",
            NAME,
        )
    if kube.get("secretRef") is not None:
        yield ctx.problem(
            store,
            f"{field}.secretRef",
            f"set; the role is bound to the ServiceAccount "
            f"{contract.ESO_NAMESPACE}/{contract.ESO_SERVICE_ACCOUNT}, not a stored token",
            NAME,
        )
    account = kube.get("serviceAccountRef")
    if account is not None:
        # Without a namespace, a ClusterSecretStore uses the ExternalSecret's namespace, and
        # Vault's role (bound to external-secrets/external-secrets) would refuse the login.
        got = (as_dict(account).get("namespace"), as_dict(account).get("name"))
        want = (contract.ESO_NAMESPACE, contract.ESO_SERVICE_ACCOUNT)
        if got != want:
            yield ctx.problem(
                store,
                f"{field}.serviceAccountRef",
                f"{got[0]}/{got[1]}; expected {want[0]}/{want[1]} (or none: ESO's own service "
                "account)",
                NAME,
            )


def _contract_external_secret(
    ctx: TargetContext, es: K8sObject, env: str, name: str, store_path: str | None
) -> Iterator[Problem]:
    def problem(field: str, message: str) -> Problem:
        return ctx.problem(es, field, message, NAME)

    es_name = contract.external_secret_name(name)
    spec = as_dict(es.get("spec"))
    if es.get("apiVersion") != ESO_API_VERSION:
        yield problem("apiVersion", f"{es.get('apiVersion')!r}; expected {ESO_API_VERSION}")
    ref = as_dict(spec.get("secretStoreRef"))
    if (ref.get("kind"), ref.get("name")) != ("ClusterSecretStore", contract.CLUSTER_SECRET_STORE):
        yield problem(
            "spec.secretStoreRef",
            f"{ref.get('kind')}/{ref.get('name')}; expected "
            f"ClusterSecretStore/{contract.CLUSTER_SECRET_STORE}",
        )
    refresh = spec.get("refreshInterval")
    if refresh and refresh != contract.EXTERNAL_SECRET_REFRESH:
        yield problem(
            "spec.refreshInterval",
            f"{refresh!r}; expected {contract.EXTERNAL_SECRET_REFRESH!r} (the rotation latency "
            "bound depends on it)",
        )
    yield from _contract_target(ctx, es, es_name)
    if spec.get("dataFrom"):
        yield problem("spec.dataFrom", "set; expected only spec.data")
    data = as_list(spec.get("data"))
    if len(data) != 1:
        yield problem("spec.data", f"{len(data)} entries; expected exactly 1")
        return
    yield from _contract_remote_ref(ctx, es, env, name, store_path)


def _contract_target(ctx: TargetContext, es: K8sObject, es_name: str) -> Iterator[Problem]:
    target = as_dict(dig(es, "spec", "target"))
    if target.get("name", es_name) != es_name:
        yield ctx.problem(
            es, "spec.target.name", f"{target.get('name')!r}; expected {es_name!r}", NAME
        )
    if target.get("deletionPolicy", "Retain") != "Retain":
        yield ctx.problem(
            es,
            "spec.target.deletionPolicy",
            f"{target.get('deletionPolicy')!r}; expected Retain (a secret deleted in Vault must "
            "not delete the pod's last good value)",
            NAME,
        )
    if target.get("creationPolicy", "Owner") != "Owner":
        yield ctx.problem(
            es,
            "spec.target.creationPolicy",
            f"{target.get('creationPolicy')!r}; expected Owner",
            NAME,
        )


def _contract_remote_ref(
    ctx: TargetContext, es: K8sObject, env: str, name: str, store_path: str | None
) -> Iterator[Problem]:
    entry = as_dict(dig(es, "spec", "data", 0))
    remote = as_dict(entry.get("remoteRef"))
    if entry.get("secretKey") != name:
        yield ctx.problem(
            es, "spec.data[0].secretKey", f"{entry.get('secretKey')!r}; expected {name!r}", NAME
        )
    if store_path is not None:
        key = str(remote.get("key", ""))
        resolved = eso_vault_api_path(store_path, "v2", key)
        wanted = contract.kv_data_api_path(env, name)
        if resolved != wanted:
            yield ctx.problem(
                es,
                "spec.data[0].remoteRef.key",
                f"{key!r} reads {resolved!r}; bootstrap writes {wanted!r}",
                NAME,
            )
    if remote.get("property") != contract.SECRET_PROPERTY:
        yield ctx.problem(
            es,
            "spec.data[0].remoteRef.property",
            f"{remote.get('property')!r}; expected {contract.SECRET_PROPERTY!r}",
            NAME,
        )
    for option, ok in LATEST_RAW_VALUE.items():
        if remote.get(option) not in ok:
            yield ctx.problem(
                es,
                f"spec.data[0].remoteRef.{option}",
                f"{remote.get(option)!r}; rotation needs the latest version's value as is",
                NAME,
            )


def _pod_files(ctx: TargetContext, namespace: str | None) -> Iterator[Problem]:
    """The Secrets reach the container as files in one projected volume (subPath: above)."""
    pods = _service_workloads(ctx.objects)
    if len(pods) != 1:
        yield Problem(
            ctx.name,
            f"Rollout/{contract.SERVICE}",
            "",
            f"expected exactly one workload, found {len(pods)}",
            NAME,
        )
        return
    workload = pods[0]
    if namespace is not None and namespace_of(workload) != namespace:
        yield ctx.problem(
            workload,
            "metadata.namespace",
            f"{namespace_of(workload)!r}; the ExternalSecrets create their Secrets in "
            f"{namespace!r}",
            NAME,
        )
    wanted = {contract.external_secret_name(n): n for n in contract.SECRET_NAMES}
    pod = as_dict(dig(workload, "spec", "template", "spec"))
    carrying = [
        as_dict(v)
        for v in as_list(pod.get("volumes"))
        if any(dig(s, "secret", "name") in wanted for s in as_list(dig(v, "projected", "sources")))
    ]
    if len(carrying) != 1:
        yield ctx.problem(
            workload,
            "spec.template.spec.volumes",
            f"the secrets must come through exactly one projected volume; found {len(carrying)}",
            NAME,
        )
        return
    yield from _projected_files(ctx, workload, carrying[0], wanted)
    yield from _mounted_as_files(ctx, workload, pod, carrying[0], wanted)


def _projected_files(
    ctx: TargetContext, workload: K8sObject, volume: dict[str, object], wanted: dict[str, str]
) -> Iterator[Problem]:
    seen: dict[str, str] = {}
    for index, src in enumerate(as_list(dig(volume, "projected", "sources"))):
        secret = as_dict(src).get("secret")
        if not isinstance(secret, dict) or secret.get("name") not in wanted:
            continue
        key = wanted[str(secret["name"])]
        field = f"volumes[{volume.get('name')}].projected.sources[{index}].secret"
        if secret.get("optional"):
            yield ctx.problem(
                workload,
                f"{field}.optional",
                "true; a deleted Secret would then remove the file",
                NAME,
            )
        items = secret.get("items")
        if items is None:
            seen[key] = key
        for item in as_list(items):
            if as_dict(item).get("key") == key:
                seen[key] = str(as_dict(item).get("path"))
    for key in contract.SECRET_NAMES:
        if seen.get(key) != key:
            yield ctx.problem(
                workload,
                f"volumes[{volume.get('name')}]",
                f"Secret {contract.external_secret_name(key)} key {key!r} must land in the file "
                f"{key!r}; found {seen.get(key)!r}",
                NAME,
            )


def _mounted_as_files(
    ctx: TargetContext,
    workload: K8sObject,
    pod: dict[str, object],
    volume: dict[str, object],
    wanted: dict[str, str],
) -> Iterator[Problem]:
    mounted = False
    for container in as_list(pod.get("containers")):
        container = as_dict(container)
        where = f"containers[{container.get('name')}]"
        for mount in as_list(container.get("volumeMounts")):
            if as_dict(mount).get("name") != volume.get("name"):
                continue
            mounted = True
            if as_dict(mount).get("mountPath") != contract.POD_SECRETS_DIR:
                yield ctx.problem(
                    workload,
                    f"{where}.volumeMounts[{volume.get('name')}].mountPath",
                    f"{as_dict(mount).get('mountPath')!r}; expected {contract.POD_SECRETS_DIR!r}",
                    NAME,
                )
        for env in as_list(container.get("env")):
            ref = dig(env, "valueFrom", "secretKeyRef", "name")
            if ref in wanted:
                yield ctx.problem(
                    workload,
                    f"{where}.env[{as_dict(env).get('name')}]",
                    f"reads {ref} as an environment variable, which never updates",
                    NAME,
                )
    if not mounted:
        yield ctx.problem(
            workload,
            f"volumes[{volume.get('name')}]",
            "not mounted in any container",
            NAME,
        )
