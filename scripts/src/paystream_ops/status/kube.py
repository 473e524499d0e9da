"""The edge for a cluster: read the Rollout, its ReplicaSets and AnalysisRuns, Argo CD's
Applications and AppProjects through the official `kubernetes` client, with the kubeconfig
context kubectl would use. Read-only: every call is in `READS`, which the ClusterRole in
`scripts/rbac/status-reader.yaml` grants (a test checks they agree). see
docs/decisions/0085-status-reads-through-the-kubernetes-client.md

Every API error becomes one line naming the context, the verb and the resource.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from paystream_ops.errors import UserError
from paystream_ops.status.build import build_status
from paystream_ops.status.model import StatusView

ARGOCD_NAMESPACE = "argocd"
REQUEST_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Read:
    verb: str
    group: str  # "" for the core group
    version: str
    plural: str

    @property
    def resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


ROLLOUTS = Read("list", "argoproj.io", "v1alpha1", "rollouts")
ANALYSIS_RUNS = Read("list", "argoproj.io", "v1alpha1", "analysisruns")
REPLICA_SETS = Read("list", "apps", "v1", "replicasets")
APPLICATIONS = Read("list", "argoproj.io", "v1alpha1", "applications")
APP_PROJECTS = Read("list", "argoproj.io", "v1alpha1", "appprojects")
READS: tuple[Read, ...] = (ROLLOUTS, ANALYSIS_RUNS, REPLICA_SETS, APPLICATIONS, APP_PROJECTS)


def _status_message(body: Any) -> str:
    """The `message` of a metav1.Status body, else the body's first line."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return str(body or "").strip().splitlines()[0] if body else ""
    return str(data.get("message", "")) if isinstance(data, dict) else ""


def api_error(exc: Any, context: str, read: Read, namespace: str) -> UserError:
    """An ApiException as one line a person can act on."""
    status = int(getattr(exc, "status", 0) or 0)
    message = _status_message(getattr(exc, "body", None))
    where = f"kube context {context!r}"
    what = f"{read.verb} {read.resource} in namespace {namespace}"
    if status == 401:
        return UserError(
            f"{where}: the API server did not accept your credentials (401 Unauthorized); "
            "log in again (refresh the token or certificate of this context)"
        )
    if status == 403:
        return UserError(
            f"{where}: no access: cannot {what} (403 Forbidden: {message}); bind the read-only "
            "ClusterRole in scripts/rbac/status-reader.yaml"
        )
    if status == 404:
        return UserError(
            f"{where}: the API server does not serve {read.resource} (404 Not Found: {message}); "
            "is the controller that defines it installed?"
        )
    reason = getattr(exc, "reason", "") or ""
    return UserError(f"{where}: cannot {what}: {status} {reason}: {message}".rstrip(": "))


def unreachable(api: Any, context: str, exc: Exception) -> UserError:
    """The API server did not answer (connection refused, DNS, TLS, timeout)."""
    host = getattr(api.configuration, "host", "?")
    return UserError(
        f"kube context {context!r}: cannot reach the API server at {host}: {type(exc).__name__}"
    )


def api_client(context: str | None) -> tuple[Any, str]:
    """A client for the context (default: the kubeconfig's current one), as kubectl picks it."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    # KUBECONFIG read now, as kubectl does (the client reads it once, at import).
    config_file = os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())
    try:
        contexts, active = config.list_kube_config_contexts(config_file=config_file)
    except (ConfigException, OSError) as exc:
        if "current-context" in str(exc):
            raise UserError(
                f"{config_file}: no current kube context: pass --context NAME "
                "(or `kubectl config use-context NAME`)"
            ) from exc
        raise UserError(
            f"no kubeconfig: {exc} (set KUBECONFIG or create ~/.kube/config, as for kubectl)"
        ) from exc
    names = [c["name"] for c in contexts or []]
    name = context or (active or {}).get("name")
    if not name:
        raise UserError("no current kube context: pass --context NAME")
    if name not in names:
        raise UserError(
            f"kube context {name!r} is not in your kubeconfig (contexts: {', '.join(names)})"
        )
    configuration = client.Configuration()
    try:
        config.load_kube_config(
            config_file=config_file, context=name, client_configuration=configuration
        )
    except (ConfigException, OSError, ValueError) as exc:
        raise UserError(f"kube context {name!r}: cannot use it: {exc}") from exc
    configuration.retries = False  # an unreachable API server is reported at once
    return client.ApiClient(configuration), name


@dataclass
class ClusterReader:
    """Lists through the client; each call's errors named with its verb and resource."""

    api: Any
    context: str

    def _call(self, read: Read, namespace: str, fetch: Callable[[], Any]) -> list[dict[str, Any]]:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            result = fetch()
        except ApiException as exc:
            raise api_error(exc, self.context, read, namespace) from exc
        except (HTTPError, OSError) as exc:
            raise unreachable(self.api, self.context, exc) from exc
        data = result if isinstance(result, dict) else self.api.sanitize_for_serialization(result)
        return [i for i in data.get("items") or [] if isinstance(i, dict)]

    def items(
        self, read: Read, namespace: str, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        from kubernetes import client

        kwargs: dict[str, Any] = {"_request_timeout": REQUEST_TIMEOUT_SECONDS}
        if label_selector:
            kwargs["label_selector"] = label_selector
        if read.group == "apps" and read.plural == "replicasets":
            apps = client.AppsV1Api(self.api)
            return self._call(
                read, namespace, lambda: apps.list_namespaced_replica_set(namespace, **kwargs)
            )
        custom = client.CustomObjectsApi(self.api)
        return self._call(
            read,
            namespace,
            lambda: custom.list_namespaced_custom_object(
                read.group, read.version, namespace, read.plural, **kwargs
            ),
        )

    def optional(self, read: Read, namespace: str, notes: list[str]) -> list[dict[str, Any]] | None:
        """A read the view can do without: its error becomes a note instead of the exit."""
        try:
            return self.items(read, namespace)
        except UserError as exc:
            notes.append(str(exc))
            return None


def pick_rollout(
    items: list[dict[str, Any]], name: str, namespace: str, context: str
) -> dict[str, Any]:
    for item in items:
        if (item.get("metadata") or {}).get("name") == name:
            return item
    found = ", ".join(str((i.get("metadata") or {}).get("name")) for i in items)
    raise UserError(
        f"kube context {context!r}: no Rollout {name!r} in namespace {namespace}"
        + (f" (found: {found})" if found else " (the namespace has no Rollout)")
    )


def cluster_status(
    reader: ClusterReader, env: str, namespace: str, rollout_name: str, at: datetime | None = None
) -> StatusView:
    from paystream_ops.freeze.cluster import Cluster
    from paystream_ops.status.sync_window import freeze_view

    rollout = pick_rollout(
        reader.items(ROLLOUTS, namespace), rollout_name, namespace, reader.context
    )
    runs = [
        r
        for r in reader.items(ANALYSIS_RUNS, namespace)
        if any(
            ref.get("kind") == "Rollout" and ref.get("name") == rollout_name
            for ref in (r.get("metadata") or {}).get("ownerReferences") or []
        )
        or not (r.get("metadata") or {}).get("ownerReferences")
    ]
    selector = ",".join(
        f"{k}={v}"
        for k, v in sorted(
            ((rollout.get("spec") or {}).get("selector") or {}).get("matchLabels", {}).items()
        )
    )
    replica_sets = reader.items(REPLICA_SETS, namespace, selector or None)
    notes: list[str] = []
    apps = reader.optional(APPLICATIONS, ARGOCD_NAMESPACE, notes)
    projects = reader.optional(APP_PROJECTS, ARGOCD_NAMESPACE, notes)
    freeze = None
    if apps is not None and projects is not None:
        cluster = Cluster.from_objects(env, f"context {reader.context}", [*projects, *apps])
        freeze = freeze_view(cluster, at or datetime.now(UTC))
    return build_status(
        source=f"kube context {reader.context}",
        env=env,
        rollout=rollout,
        replica_sets=replica_sets,
        analysis_runs=runs,
        applications=apps,
        freeze=freeze,
        notes=notes,
    )
