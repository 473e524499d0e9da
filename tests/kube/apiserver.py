"""A small Kubernetes API server on loopback for the `kubernetes` client to talk to: discovery,
list/get, server-side apply (with dry run and field-manager conflicts) and RBAC from a
ClusterRole's rules; errors are metav1.Status objects as the real server sends them
(k8s.io/apimachinery/pkg/api/errors: NewUnauthorized, NewForbidden, NewNotFound, NewConflict).
It stores what it is given: the objects come from the lab's writer and the rendered
repository, checked against the pinned CRDs by the tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

Obj = dict[str, Any]

# group/version -> [(plural, kind, namespaced)]
BUILTIN: dict[str, list[tuple[str, str, bool]]] = {
    "v1": [
        ("namespaces", "Namespace", False),
        ("configmaps", "ConfigMap", True),
        ("services", "Service", True),
        ("serviceaccounts", "ServiceAccount", True),
        ("secrets", "Secret", True),
    ],
    "apps/v1": [
        ("deployments", "Deployment", True),
        ("statefulsets", "StatefulSet", True),
        ("replicasets", "ReplicaSet", True),
    ],
    "apiextensions.k8s.io/v1": [("customresourcedefinitions", "CustomResourceDefinition", False)],
    "rbac.authorization.k8s.io/v1": [
        ("clusterroles", "ClusterRole", False),
        ("clusterrolebindings", "ClusterRoleBinding", False),
    ],
}


def status(code: int, reason: str, message: str, details: Obj | None = None) -> Obj:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details or {},
        "code": code,
    }


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class User:
    name: str
    rules: list[Obj] | None  # a ClusterRole's rules; None: everything allowed


@dataclass
class ApiServer:
    users: dict[str, User] = field(default_factory=dict)  # bearer token -> user
    objects: dict[tuple[str, str, str | None, str], Obj] = field(default_factory=dict)
    owners: dict[tuple[str, str, str | None, str], dict[str, str]] = field(default_factory=dict)
    resources: dict[str, list[tuple[str, str, bool]]] = field(
        default_factory=lambda: {k: list(v) for k, v in BUILTIN.items()}
    )
    requests: list[Recorded] = field(default_factory=list)
    version: int = 1

    # ---- set-up ----------------------------------------------------------------------

    def serve_crd(self, crd: Obj) -> None:
        spec = crd["spec"]
        for version in spec["versions"]:
            gv = f"{spec['group']}/{version['name']}"
            entry = (spec["names"]["plural"], spec["names"]["kind"], spec["scope"] == "Namespaced")
            if entry not in self.resources.setdefault(gv, []):
                self.resources[gv].append(entry)

    def add(self, obj: Obj) -> None:
        obj = json.loads(json.dumps(obj))
        found = self._find(obj["apiVersion"], obj["kind"])
        assert found is not None, f"not served: {obj['apiVersion']} {obj['kind']}"
        plural, namespaced = found
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(self._bump())
        key = (
            obj["apiVersion"],
            plural,
            meta.get("namespace") if namespaced else None,
            meta["name"],
        )
        self.objects[key] = obj

    def _bump(self) -> int:
        self.version += 1
        return self.version

    def _find(self, api_version: str, kind: str) -> tuple[str, bool] | None:
        for plural, k, namespaced in self.resources.get(api_version, []):
            if k == kind:
                return plural, namespaced
        return None

    # ---- requests --------------------------------------------------------------------

    def allowed(self, user: User, verb: str, group: str, plural: str) -> bool:
        if user.rules is None:
            return True
        return any(
            (group in r.get("apiGroups", []) or "*" in r.get("apiGroups", []))
            and (plural in r.get("resources", []) or "*" in r.get("resources", []))
            and (verb in r.get("verbs", []) or "*" in r.get("verbs", []))
            for r in user.rules
        )

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Obj]:
        url = urlparse(raw_path)
        query = parse_qs(url.query)
        payload = json.loads(body) if body else None
        self.requests.append(Recorded(method, url.path, query, headers, payload))
        token = headers.get("authorization", "").removeprefix("Bearer ").strip()
        user = self.users.get(token)
        if user is None:
            return 401, status(401, "Unauthorized", "Unauthorized")
        parts = [p for p in url.path.split("/") if p]
        if parts[:1] == ["api"]:
            gv, rest = "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            gv, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            return 404, status(404, "NotFound", "the server could not find the requested resource")
        group = gv.split("/")[0] if "/" in gv else ""
        if not rest:
            if gv not in self.resources:
                return 404, status(
                    404, "NotFound", "the server could not find the requested resource"
                )
            return 200, {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": gv,
                "resources": [
                    {
                        "name": p,
                        "singularName": "",
                        "namespaced": n,
                        "kind": k,
                        "verbs": ["get", "list", "patch"],
                    }
                    for p, k, n in self.resources[gv]
                ],
            }
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        plural, name = rest[0], (rest[1] if len(rest) > 1 else None)
        kinds = {p: (k, n) for p, k, n in self.resources.get(gv, [])}
        if plural not in kinds:
            return 404, status(404, "NotFound", "the server could not find the requested resource")
        kind, _ = kinds[plural]
        verb = {"GET": "get" if name else "list", "PATCH": "patch"}.get(method, method.lower())
        if not self.allowed(user, verb, group, plural):
            where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
            resource = f"{plural}.{group}" if group else plural
            return 403, status(
                403,
                "Forbidden",
                f"{resource}{f' {json.dumps(name)}' if name else ''} is forbidden: "
                f'User "{user.name}" cannot {verb} resource "{plural}" '
                f'in API group "{group}"{where}',
                {"name": name or "", "group": group, "kind": plural},
            )
        if method == "GET" and name is None:
            selector = dict(
                kv.split("=", 1)
                for kv in (query.get("labelSelector", [""])[0].split(","))
                if "=" in kv
            )
            items = [
                o
                for (av, p, ns, _), o in sorted(self.objects.items(), key=lambda i: str(i[0]))
                if av == gv
                and p == plural
                and (namespace is None or ns == namespace)
                and all(
                    ((o.get("metadata") or {}).get("labels") or {}).get(k) == v
                    for k, v in selector.items()
                )
            ]
            return 200, {
                "apiVersion": gv,
                "kind": f"{kind}List",
                "metadata": {"resourceVersion": str(self.version)},
                "items": items,
            }
        key = (gv, plural, namespace, str(name))
        if method == "GET":
            if key not in self.objects:
                resource = f"{plural}.{group}" if group else plural
                return 404, status(
                    404,
                    "NotFound",
                    f'{resource} "{name}" not found',
                    {"name": name, "group": group, "kind": plural},
                )
            return 200, self.objects[key]
        if method == "PATCH":
            return self.apply(key, kind, headers, query, payload)
        return 405, status(405, "MethodNotAllowed", f"{method} is not supported")

    def apply(
        self,
        key: tuple[str, str, str | None, str],
        kind: str,
        headers: dict[str, str],
        query: dict[str, list[str]],
        payload: Any,
    ) -> tuple[int, Obj]:
        if headers.get("content-type") != "application/apply-patch+yaml":
            return 415, status(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format: {headers.get('content-type')}",
            )
        manager = query.get("fieldManager", [""])[0]
        if not manager:
            return 400, status(
                400,
                "BadRequest",
                "PATCH is not allowed: fieldManager is required for apply requests",
            )
        force = query.get("force", ["false"])[0] == "true"
        dry_run = query.get("dryRun", [""])[0] == "All"
        current = self.objects.get(key)
        owners = self.owners.get(key, {})
        conflicts = []
        for top in ("data", "spec"):
            for field_name, value in (payload.get(top) or {}).items():
                path = f".{top}.{field_name}"
                owner = owners.get(path)
                old = ((current or {}).get(top) or {}).get(field_name)
                if owner and owner != manager and old != value and not force:
                    conflicts.append((path, owner))
        if conflicts:
            return 409, status(
                409,
                "Conflict",
                f"Apply failed with {len(conflicts)} conflict{'s' if len(conflicts) > 1 else ''}: "
                + "; ".join(f'conflict with "{o}" using v1: {p}' for p, o in conflicts),
                {
                    "causes": [
                        {
                            "reason": "FieldManagerConflict",
                            "message": f'conflict with "{o}" using v1',
                            "field": p,
                        }
                        for p, o in conflicts
                    ]
                },
            )
        merged = merge(json.loads(json.dumps(current)) if current else {}, payload)
        if current is None or {k: v for k, v in merged.items() if k != "metadata"} != {
            k: v for k, v in current.items() if k != "metadata"
        }:
            merged["metadata"]["resourceVersion"] = str(self.version + 1)
        if dry_run:
            return 200 if current else 201, merged
        if kind == "CustomResourceDefinition":
            merged["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
            self.serve_crd(merged)
        if kind in ("Deployment", "StatefulSet"):
            replicas = (merged.get("spec") or {}).get("replicas", 1)
            merged["status"] = {"observedGeneration": 1, "readyReplicas": replicas}
            merged["metadata"]["generation"] = 1
        if merged["metadata"]["resourceVersion"] != (current or {}).get("metadata", {}).get(
            "resourceVersion"
        ):
            self._bump()
        self.objects[key] = merged
        for top in ("data", "spec"):
            for field_name in payload.get(top) or {}:
                self.owners.setdefault(key, {})[f".{top}.{field_name}"] = manager
        return 200 if current else 201, merged


def merge(current: Obj, patch: Obj) -> Obj:
    """Maps merge key by key (as apply merges `map` fields); anything else is replaced."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            merge(current[key], value)
        else:
            current[key] = json.loads(json.dumps(value))
    return current


def handler_for(server: ApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            code, payload = server.handle(self.command, self.path, headers, body)
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    return Handler


class Running:
    def __init__(self, api: ApiServer) -> None:
        self.api = api
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(api))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def kubeconfig(url: str, users: dict[str, str], current: str | None) -> str:
    """A kubeconfig with one context per (context name -> token), all on this server."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "loopback", "cluster": {"server": url}}],
            "users": [{"name": n, "user": {"token": t}} for n, t in users.items()],
            "contexts": [{"name": n, "context": {"cluster": "loopback", "user": n}} for n in users],
            **({"current-context": current} if current else {}),
        }
    )


def served(api: ApiServer) -> Iterator[Running]:
    with Running(api) as running:
        yield running
