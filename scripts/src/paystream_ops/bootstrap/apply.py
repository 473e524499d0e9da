"""Run the bootstrap plan through the Kubernetes API: server-side apply (PATCH with
`application/apply-patch+yaml`, `fieldManager=paystream-ops-bootstrap`, `force=false`), server
dry-run (`dryRun=All`) for `--dry-run`, and a line per object saying what changed.

A conflict (a field another manager owns) stops bootstrap with that manager and field named:
it never takes fields over. see docs/decisions/0087-bootstrap-server-side-apply-field-manager.md
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from paystream_ops.bootstrap.plan import (
    FIELD_MANAGER,
    INSTALL_FIELD_MANAGER,
    Apply,
    ApplyManifest,
    Step,
    WaitReady,
)
from paystream_ops.errors import UserError
from paystream_ops.render import K8sObject
from paystream_ops.status.kube import unreachable

REQUEST_TIMEOUT_SECONDS = 30
CRD_TIMEOUT_SECONDS = 120.0
POLL_SECONDS = 2.0
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
_VOLATILE_METADATA = (
    "resourceVersion",
    "managedFields",
    "generation",
    "creationTimestamp",
    "uid",
    "selfLink",
)


@dataclass(frozen=True)
class Change:
    action: str  # created, configured, unchanged (with dry run: "would create", ...)
    kind: str
    namespace: str | None
    name: str

    def line(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"  {self.action:<15} {self.kind} {where}"


def _status(body: Any) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _comparable(obj: K8sObject | None) -> Any:
    if obj is None:
        return None
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _VOLATILE_METADATA}
    out["metadata"] = meta
    return out


def fetch_manifest(source: str) -> list[K8sObject]:
    """The install manifest from its URL (or a local file, e.g. a mirror's copy)."""
    try:
        if source.startswith(("http://", "https://")):
            import httpx

            response = httpx.get(source, timeout=60.0, follow_redirects=True)
            response.raise_for_status()
            text = response.text
        else:
            text = Path(source).read_text()
        docs = list(yaml.safe_load_all(text))
    except Exception as exc:  # httpx, OSError, YAMLError: one line naming the source
        raise UserError(f"{source}: cannot read the install manifest: {exc}") from exc
    return [d for d in docs if isinstance(d, dict) and d.get("kind")]


@dataclass
class Applier:
    api: Any  # kubernetes.client.ApiClient
    context: str
    dry_run: bool
    out: Callable[[str], None] = print
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    changes: list[Change] = field(default_factory=list)
    _discovered: dict[str, dict[str, tuple[str, bool]]] = field(default_factory=dict)

    # ---- the API -------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        query: Sequence[tuple[str, Any]] = (),
        body: Any = None,
        content_type: str = "application/json",
        missing_ok: bool = False,
    ) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            data = self.api.call_api(
                path,
                method,
                query_params=list(query),
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body,
                response_type="object",
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _preload_content=True,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
        except ApiException as exc:
            if exc.status == 404 and missing_ok:
                return None
            raise self._error(exc, method, what) from exc
        except (HTTPError, OSError) as exc:
            raise unreachable(self.api, self.context, exc) from exc
        return data if isinstance(data, dict) else {}

    def _error(self, exc: Any, method: str, what: str) -> UserError:
        status = _status(exc.body)
        message = str(status.get("message") or exc.reason or "")
        where = f"kube context {self.context!r}: {what}"
        if exc.status == 409:
            fields = [
                f"{c.get('field')} ({c.get('message')})"
                for c in (status.get("details") or {}).get("causes") or []
                if c.get("field")
            ]
            return UserError(
                f"{where}: conflict: {message}"
                + (f" [{'; '.join(fields)}]" if fields else "")
                + f"; another field manager owns these fields: bootstrap ({FIELD_MANAGER}) never "
                "forces, so change them through their owner or hand them over first"
            )
        verb = {"PATCH": "patch", "GET": "get"}.get(method, method.lower())
        if exc.status == 401:
            return UserError(
                f"kube context {self.context!r}: the API server did not accept your credentials "
                "(401 Unauthorized); log in again"
            )
        if exc.status == 403:
            return UserError(f"{where}: no access: cannot {verb} it (403 Forbidden: {message})")
        return UserError(f"{where}: {verb} failed: {exc.status} {exc.reason}: {message}")

    def resource(self, api_version: str) -> dict[str, tuple[str, bool]]:
        """Discovery: kind -> (plural, namespaced) for a group/version ({} when not served)."""
        if api_version not in self._discovered:
            path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
            data = self._call("GET", path, f"discovery {api_version}", missing_ok=True) or {}
            self._discovered[api_version] = {
                str(r["kind"]): (str(r["name"]), bool(r.get("namespaced")))
                for r in data.get("resources") or []
                if "/" not in str(r.get("name", ""))  # subresources: rollouts/status
            }
        return self._discovered[api_version]

    def _path(self, obj: K8sObject, default_namespace: str | None) -> tuple[str, str | None] | None:
        api_version = str(obj.get("apiVersion"))
        found = self.resource(api_version).get(str(obj.get("kind")))
        if found is None:
            return None
        plural, namespaced = found
        name = str((obj.get("metadata") or {}).get("name"))
        prefix = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        if not namespaced:
            return f"{prefix}/{plural}/{name}", None
        namespace = (obj.get("metadata") or {}).get("namespace") or default_namespace
        if not namespace:
            raise UserError(f"{obj.get('kind')}/{name}: namespaced, but no namespace given")
        return f"{prefix}/namespaces/{namespace}/{plural}/{name}", str(namespace)

    def apply(
        self,
        obj: K8sObject,
        default_namespace: str | None = None,
        field_manager: str = FIELD_MANAGER,
    ) -> Change:
        kind = str(obj.get("kind"))
        name = str((obj.get("metadata") or {}).get("name"))
        located = self._path(obj, default_namespace)
        would = "would " if self.dry_run else ""
        if located is None:
            if not self.dry_run:
                raise UserError(
                    f"kube context {self.context!r}: the API server does not serve "
                    f"{obj.get('apiVersion')} {kind} (is its CRD installed?)"
                )
            change = Change("would create", kind, default_namespace, name)
            self.changes.append(change)
            self.out(change.line() + "  (its CRD is not served yet: not dry-run)")
            return change
        path, namespace = located
        what = f"{kind} {namespace + '/' if namespace else ''}{name}"
        before = self._call("GET", path, what, missing_ok=True)
        body = json.loads(json.dumps(obj))
        if namespace:
            body.setdefault("metadata", {})["namespace"] = namespace
        query: list[tuple[str, Any]] = [("fieldManager", field_manager), ("force", "false")]
        if self.dry_run:
            query.append(("dryRun", "All"))
        after = self._call(
            "PATCH", path, what, query=query, body=body, content_type=APPLY_CONTENT_TYPE
        )
        if before is None:
            action = f"{would}create" if self.dry_run else "created"
        elif _comparable(before) == _comparable(after):
            action = "unchanged"
        else:
            action = f"{would}configure" if self.dry_run else "configured"
        change = Change(action, kind, namespace, name)
        self.changes.append(change)
        self.out(change.line())
        return change

    # ---- waiting -------------------------------------------------------------------

    def _wait(self, what: str, timeout: float, ready: Callable[[], bool]) -> None:
        deadline = self.clock() + timeout
        while not ready():
            if self.clock() >= deadline:
                raise UserError(
                    f"kube context {self.context!r}: {what} not ready after {timeout:g}s; "
                    "check it, then re-run (every step is idempotent)"
                )
            self.sleep(POLL_SECONDS)

    def wait_established(self, crds: Sequence[K8sObject]) -> None:
        for crd in crds:
            name = str((crd.get("metadata") or {}).get("name"))
            path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"

            def established(path: str = path, name: str = name) -> bool:
                got = self._call("GET", path, f"CustomResourceDefinition {name}", missing_ok=True)
                conditions = ((got or {}).get("status") or {}).get("conditions") or []
                return any(
                    c.get("type") == "Established" and c.get("status") == "True" for c in conditions
                )

            self._wait(f"CustomResourceDefinition {name}", CRD_TIMEOUT_SECONDS, established)
        self._discovered.clear()  # the new kinds are served now

    def wait_ready(self, step: WaitReady) -> None:
        plural = {"Deployment": "deployments", "StatefulSet": "statefulsets"}[step.kind]
        path = f"/apis/apps/v1/namespaces/{step.namespace}/{plural}/{step.name}"
        what = f"{step.kind} {step.namespace}/{step.name}"

        def ready() -> bool:
            got = self._call("GET", path, what, missing_ok=True)
            if got is None:
                return False
            spec = got.get("spec") or {}
            status = got.get("status") or {}
            wanted = int(spec.get("replicas", 1))
            observed = int(status.get("observedGeneration") or 0) >= int(
                (got.get("metadata") or {}).get("generation") or 0
            )
            return observed and int(status.get("readyReplicas") or 0) >= wanted

        self._wait(what, step.timeout_seconds, ready)

    # ---- the plan ------------------------------------------------------------------

    def run(self, plan: Sequence[Step], fetch: Callable[[str], list[K8sObject]]) -> list[Change]:
        for index, step in enumerate(plan, 1):
            self.out(f"==> {index}/{len(plan)} {step.description}")
            if isinstance(step, Apply):
                for obj in step.objects:
                    self.apply(obj, step.namespace)
            elif isinstance(step, ApplyManifest):
                objects = fetch(step.url)
                crds = [o for o in objects if o.get("kind") == "CustomResourceDefinition"]
                for crd in crds:
                    self.apply(crd, None, INSTALL_FIELD_MANAGER)
                if not self.dry_run:
                    self.wait_established(crds)
                for obj in objects:
                    if obj.get("kind") != "CustomResourceDefinition":
                        self.apply(obj, step.namespace, INSTALL_FIELD_MANAGER)
            elif self.dry_run:
                self.out("  skipped (dry run)")
            else:
                self.wait_ready(step)
        return self.changes


def summary(changes: Sequence[Change]) -> str:
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    return ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "nothing applied"
