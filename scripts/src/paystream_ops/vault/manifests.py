"""Do the rendered External Secrets objects point at exactly what bootstrap creates? (pure)

Checks one rendered overlay against `contract`: the ClusterSecretStore's KV mount, Kubernetes
auth mount, role and identity; each ExternalSecret's store, refresh, target, key and property
(resolved the way ESO resolves them into a Vault API path); and the pod's projected volume that
turns the Secrets into the files the service reads. Returns one line per problem, naming the
object and field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from paystream_ops.render import K8sObject, object_key
from paystream_ops.vault import contract

ESO_API_VERSION = "external-secrets.io/v1"
POD_KINDS = ("Rollout", "Deployment")


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


def _get(obj: Mapping[str, Any] | None, *path: str) -> Any:
    node: Any = obj
    for step in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(step)
    return node


def _find(objects: Sequence[K8sObject], kind: str, name: str) -> list[K8sObject]:
    return [o for o in objects if o.get("kind") == kind and _get(o, "metadata", "name") == name]


def check_store(objects: Sequence[K8sObject], env: str) -> list[str]:
    name = contract.CLUSTER_SECRET_STORE
    found = _find(objects, "ClusterSecretStore", name)
    if len(found) != 1:
        return [f"ClusterSecretStore/{name}: expected exactly one, found {len(found)}"]
    store = found[0]
    where = f"ClusterSecretStore/{name}"
    problems: list[str] = []
    if store.get("apiVersion") != ESO_API_VERSION:
        problems.append(
            f"{where}: apiVersion {store.get('apiVersion')!r}; expected {ESO_API_VERSION}"
        )
    vault = _get(store, "spec", "provider", "vault")
    if not isinstance(vault, Mapping):
        return [*problems, f"{where}: spec.provider.vault: missing"]
    expected: dict[str, Any] = {
        "path": contract.KV_MOUNT,
        "version": "v2",
    }
    actual = {"path": vault.get("path"), "version": vault.get("version", "v2")}
    for field, want in expected.items():
        if actual[field] != want:
            problems.append(
                f"{where}: spec.provider.vault.{field}: {actual[field]!r}; expected {want!r}"
            )
    if not vault.get("server"):
        problems.append(f"{where}: spec.provider.vault.server: missing")
    auth = vault.get("auth") or {}
    others = sorted(key for key in auth if key != "kubernetes")
    if others:
        problems.append(
            f"{where}: spec.provider.vault.auth: {', '.join(others)} set; only kubernetes "
            "(the role bootstrap creates) is expected"
        )
    kube = auth.get("kubernetes")
    if not isinstance(kube, Mapping):
        return [*problems, f"{where}: spec.provider.vault.auth.kubernetes: missing"]
    field = "spec.provider.vault.auth.kubernetes"
    if kube.get("mountPath", "kubernetes") != contract.auth_mount(env):
        problems.append(
            f"{where}: {field}.mountPath: {kube.get('mountPath', 'kubernetes')!r}; expected "
            f"{contract.auth_mount(env)!r}"
        )
    if kube.get("role") != contract.role_name(env):
        problems.append(
            f"{where}: {field}.role: {kube.get('role')!r}; expected {contract.role_name(env)!r}"
        )
    if kube.get("secretRef") is not None:
        problems.append(
            f"{where}: {field}.secretRef: set; the role is bound to the ServiceAccount "
            f"{contract.ESO_NAMESPACE}/{contract.ESO_SERVICE_ACCOUNT}, not a stored token"
        )
    account = kube.get("serviceAccountRef")
    if account is not None:
        # Without a namespace, a ClusterSecretStore uses the ExternalSecret's namespace, and
        # Vault's role (bound to external-secrets/external-secrets) would refuse the login.
        got = (account.get("namespace"), account.get("name"))
        want = (contract.ESO_NAMESPACE, contract.ESO_SERVICE_ACCOUNT)
        if got != want:
            problems.append(
                f"{where}: {field}.serviceAccountRef: {got[0]}/{got[1]}; expected "
                f"{want[0]}/{want[1]} (or none: ESO's own service account)"
            )
    return problems


def check_external_secret(
    objects: Sequence[K8sObject], env: str, name: str, store_path: str | None
) -> list[str]:
    es_name = contract.external_secret_name(name)
    found = _find(objects, "ExternalSecret", es_name)
    if len(found) != 1:
        return [f"ExternalSecret/{es_name}: expected exactly one, found {len(found)}"]
    es = found[0]
    where = object_key(es)
    spec = es.get("spec") or {}
    problems: list[str] = []
    if es.get("apiVersion") != ESO_API_VERSION:
        problems.append(f"{where}: apiVersion {es.get('apiVersion')!r}; expected {ESO_API_VERSION}")
    ref = spec.get("secretStoreRef") or {}
    if (ref.get("kind"), ref.get("name")) != ("ClusterSecretStore", contract.CLUSTER_SECRET_STORE):
        problems.append(
            f"{where}: spec.secretStoreRef: {ref.get('kind')}/{ref.get('name')}; expected "
            f"ClusterSecretStore/{contract.CLUSTER_SECRET_STORE}"
        )
    if spec.get("refreshInterval") != contract.EXTERNAL_SECRET_REFRESH:
        problems.append(
            f"{where}: spec.refreshInterval: {spec.get('refreshInterval')!r}; expected "
            f"{contract.EXTERNAL_SECRET_REFRESH!r} (the rotation latency bound depends on it)"
        )
    target = spec.get("target") or {}
    if target.get("name", es_name) != es_name:
        problems.append(f"{where}: spec.target.name: {target.get('name')!r}; expected {es_name!r}")
    if target.get("deletionPolicy", "Retain") != "Retain":
        problems.append(
            f"{where}: spec.target.deletionPolicy: {target.get('deletionPolicy')!r}; expected "
            "Retain (a secret deleted in Vault must not delete the pod's last good value)"
        )
    if target.get("creationPolicy", "Owner") != "Owner":
        problems.append(f"{where}: spec.target.creationPolicy: {target.get('creationPolicy')!r}")
    if spec.get("dataFrom"):
        problems.append(f"{where}: spec.dataFrom: set; expected only spec.data")
    data = spec.get("data") or []
    if len(data) != 1:
        return [*problems, f"{where}: spec.data: {len(data)} entries; expected exactly 1"]
    entry = data[0]
    remote = entry.get("remoteRef") or {}
    if entry.get("secretKey") != name:
        problems.append(
            f"{where}: spec.data[0].secretKey: {entry.get('secretKey')!r}; expected {name!r}"
        )
    if store_path is not None:
        key = str(remote.get("key", ""))
        resolved = eso_vault_api_path(store_path, "v2", key)
        if resolved != contract.kv_data_api_path(env, name):
            problems.append(
                f"{where}: spec.data[0].remoteRef.key: {key!r} reads {resolved!r}; bootstrap "
                f"writes {contract.kv_data_api_path(env, name)!r}"
            )
    if remote.get("property") != contract.SECRET_PROPERTY:
        problems.append(
            f"{where}: spec.data[0].remoteRef.property: {remote.get('property')!r}; expected "
            f"{contract.SECRET_PROPERTY!r}"
        )
    # Anything but the latest version's raw value would stop rotations from reaching the pod.
    allowed: dict[str, tuple[object, ...]] = {
        "version": (None,),
        "metadataPolicy": (None, "None"),
        "decodingStrategy": (None, "None"),
        "conversionStrategy": (None, "Default"),
    }
    for option, ok in allowed.items():
        if remote.get(option) not in ok:
            problems.append(
                f"{where}: spec.data[0].remoteRef.{option}: {remote.get(option)!r}; rotation "
                "needs the latest version's value as is"
            )
    return problems


def check_pod_files(objects: Sequence[K8sObject], namespace: str | None) -> list[str]:
    """The Secrets reach the container as files in one projected volume, never via subPath."""
    pods = [
        o
        for o in objects
        if o.get("kind") in POD_KINDS and _get(o, "metadata", "name") == contract.SERVICE
    ]
    if len(pods) != 1:
        return [f"Rollout/{contract.SERVICE}: expected exactly one workload, found {len(pods)}"]
    workload = pods[0]
    where = object_key(workload)
    problems: list[str] = []
    if namespace is not None and _get(workload, "metadata", "namespace") != namespace:
        problems.append(
            f"{where}: metadata.namespace: {_get(workload, 'metadata', 'namespace')!r}; the "
            f"ExternalSecrets create their Secrets in {namespace!r}"
        )
    pod = _get(workload, "spec", "template", "spec") or {}
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    wanted = {contract.external_secret_name(n): n for n in contract.SECRET_NAMES}
    carrying = [
        v
        for v in volumes.values()
        if any(
            _get(src, "secret", "name") in wanted for src in _get(v, "projected", "sources") or []
        )
    ]
    if len(carrying) != 1:
        return [
            *problems,
            f"{where}: spec.template.spec.volumes: the secrets must come through exactly one "
            f"projected volume; found {len(carrying)}",
        ]
    volume = carrying[0]
    seen: dict[str, str] = {}
    for index, src in enumerate(_get(volume, "projected", "sources") or []):
        secret = src.get("secret")
        if not isinstance(secret, Mapping) or secret.get("name") not in wanted:
            continue
        key = wanted[str(secret["name"])]
        field = f"volumes[{volume.get('name')}].projected.sources[{index}].secret"
        if secret.get("optional"):
            problems.append(
                f"{where}: {field}.optional: true; a deleted Secret would then remove the file"
            )
        items = secret.get("items")
        if items is None:
            seen[key] = key
        else:
            for item in items:
                if item.get("key") == key:
                    seen[key] = str(item.get("path"))
    for key in contract.SECRET_NAMES:
        if seen.get(key) != key:
            problems.append(
                f"{where}: volume {volume.get('name')!r}: Secret "
                f"{contract.external_secret_name(key)} key {key!r} must land in the file "
                f"{key!r}; found {seen.get(key)!r}"
            )
    mounted = False
    for container in pod.get("containers") or []:
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") != volume.get("name"):
                continue
            mounted = True
            if mount.get("subPath") or mount.get("subPathExpr"):
                problems.append(
                    f"{where}: containers[{container.get('name')}].volumeMounts"
                    f"[{mount.get('name')}].subPath: set; a subPath mount never receives updates"
                )
            if mount.get("mountPath") != contract.POD_SECRETS_DIR:
                problems.append(
                    f"{where}: containers[{container.get('name')}].volumeMounts"
                    f"[{mount.get('name')}].mountPath: {mount.get('mountPath')!r}; expected "
                    f"{contract.POD_SECRETS_DIR!r}"
                )
        for env in container.get("env") or []:
            ref = _get(env, "valueFrom", "secretKeyRef", "name")
            if ref in wanted:
                problems.append(
                    f"{where}: containers[{container.get('name')}].env[{env.get('name')}]: "
                    f"reads {ref} as an environment variable, which never updates"
                )
    if not mounted:
        problems.append(f"{where}: volume {volume.get('name')!r} is not mounted in any container")
    return problems


def check_secret_manifests(objects: Sequence[K8sObject], env: str) -> list[str]:
    contract.check_env(env)
    problems = check_store(objects, env)
    store = _find(objects, "ClusterSecretStore", contract.CLUSTER_SECRET_STORE)
    store_path = _get(store[0], "spec", "provider", "vault", "path") if len(store) == 1 else None
    namespaces: set[str] = set()
    for name in contract.SECRET_NAMES:
        problems += check_external_secret(objects, env, name, store_path)
        for es in _find(objects, "ExternalSecret", contract.external_secret_name(name)):
            namespaces.add(str(_get(es, "metadata", "namespace")))
    namespace = next(iter(namespaces)) if len(namespaces) == 1 else None
    if len(namespaces) > 1:
        problems.append(
            f"ExternalSecrets: in several namespaces {sorted(namespaces)}; expected one"
        )
    problems += check_pod_files(objects, namespace)
    return problems
