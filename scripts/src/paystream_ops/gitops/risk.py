"""Pure: which rendered changes a reviewer must not miss. Each rule maps (kind, field path) to a
risk category; the diff puts every hit at the top of the pull-request comment."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from paystream_ops.gitops.objdiff import FieldChange, ObjectChange, PathT


class Category(StrEnum):
    IMAGE = "image"
    CANARY = "canary steps/weights"
    ANALYSIS = "analysis thresholds/windows"
    RBAC = "RBAC"
    NETWORK_POLICY = "NetworkPolicy"
    AUTHORIZATION_POLICY = "AuthorizationPolicy"
    SECRETS = "secret paths"
    SYNC_POLICY = "Argo CD sync policy"


@dataclass(frozen=True)
class Risk:
    category: Category
    target: str
    object_id: str
    where: str
    detail: str


POD_SPEC: dict[str, PathT] = {
    "Rollout": ("spec", "template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
AUTHZ_KINDS = frozenset({"AuthorizationPolicy", "PeerAuthentication"})
SECRET_KINDS = frozenset(
    {"ExternalSecret", "ClusterExternalSecret", "SecretStore", "ClusterSecretStore", "PushSecret"}
)
ANALYSIS_KINDS = frozenset({"AnalysisTemplate", "ClusterAnalysisTemplate"})
ARGOCD_KINDS = frozenset({"Application", "ApplicationSet", "AppProject"})
SYNC_ANNOTATIONS = frozenset(
    {"argocd.argoproj.io/sync-options", "argocd.argoproj.io/compare-options"}
)
CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})
SECRET_KEYS = frozenset({"secret", "secretName", "secretKeyRef", "secretRef"})
ROLLOUT_SAFETY = frozenset(
    {"strategy", "rollbackWindow", "progressDeadlineSeconds", "progressDeadlineAbort"}
)
APPPROJECT_RBAC = frozenset(
    {
        "roles",
        "sourceRepos",
        "destinations",
        "clusterResourceWhitelist",
        "clusterResourceBlacklist",
        "namespaceResourceWhitelist",
        "namespaceResourceBlacklist",
        "sourceNamespaces",
    }
)


def render_path(path: PathT) -> str:
    out = ""
    for part in path:
        out += part if part.startswith("[") else (f".{part}" if out else part)
    return out or "(object)"


def short(value: Any, limit: int = 70) -> str:
    if value is None:
        return "(absent)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short_digest(value: Any) -> Any:
    """`name:tag@sha256:<12 hex>`: the digest prefix is enough to tell builds apart."""
    if isinstance(value, str) and "@sha256:" in value:
        name, digest = value.split("@sha256:", 1)
        return f"{name}@sha256:{digest[:12]}"
    return value


def _mentions_secret(value: Any) -> bool:
    return "secret" in json.dumps(value, default=str).lower()


def _pod_spec_category(rest: PathT, change: FieldChange) -> Category | None:
    if not rest:
        return None
    if rest[0] in CONTAINER_LISTS and rest[-1] == "image":
        return Category.IMAGE
    if rest[0] in CONTAINER_LISTS and len(rest) == 2:
        # A whole container added or removed: its image is new or gone.
        return Category.IMAGE
    if rest[0] in ("serviceAccountName", "serviceAccount", "automountServiceAccountToken"):
        return Category.RBAC
    if any(part in SECRET_KEYS for part in rest) or "projected" in rest:
        return Category.SECRETS
    if rest[0] == "volumes" and (_mentions_secret(change.old) or _mentions_secret(change.new)):
        return Category.SECRETS
    if "volumeMounts" in rest and (_mentions_secret(change.old) or _mentions_secret(change.new)):
        return Category.SECRETS
    if "env" in rest and any("SECRET" in part.upper() for part in rest if part.startswith("[")):
        return Category.SECRETS
    return None


def _analysis_steps(steps: Any) -> list[Any]:
    if not isinstance(steps, list):
        return []
    return [s.get("analysis") for s in steps if isinstance(s, dict) and "analysis" in s]


def categories_for(kind: str, change: FieldChange) -> list[Category]:
    """The risk categories one field change belongs to (usually zero or one)."""
    path = change.path
    if len(path) >= 3 and path[:2] == ("metadata", "annotations") and path[2] in SYNC_ANNOTATIONS:
        return [Category.SYNC_POLICY]
    prefix = POD_SPEC.get(kind)
    if prefix is not None and path[: len(prefix)] == prefix:
        found = _pod_spec_category(path[len(prefix) :], change)
        if found is not None:
            return [found]
    if kind == "Rollout" and len(path) >= 2 and path[0] == "spec" and path[1] in ROLLOUT_SAFETY:
        if any(part.startswith("analys") for part in path):
            return [Category.ANALYSIS]
        if path[-1] == "steps" and _analysis_steps(change.old) != _analysis_steps(change.new):
            return [Category.CANARY, Category.ANALYSIS]
        return [Category.CANARY]
    if kind in ANALYSIS_KINDS and path[:1] == ("spec",):
        return [Category.ANALYSIS]
    if kind == "HTTPRoute" and "backendRefs" in path:
        return [Category.CANARY]
    if kind in RBAC_KINDS and path[:1] != ("metadata",):
        return [Category.RBAC]
    if kind.endswith("NetworkPolicy") and path[:1] == ("spec",):
        return [Category.NETWORK_POLICY]
    if kind in AUTHZ_KINDS and path[:1] == ("spec",):
        return [Category.AUTHORIZATION_POLICY]
    if kind in SECRET_KINDS and path[:1] == ("spec",):
        return [Category.SECRETS]
    if kind == "Secret" and path[:1] in (("data",), ("stringData",), ("type",)):
        return [Category.SECRETS]
    if kind == "AppProject" and len(path) >= 2 and path[0] == "spec":
        if path[1] == "syncWindows":
            return [Category.SYNC_POLICY]
        if path[1] in APPPROJECT_RBAC:
            return [Category.RBAC]
    if kind in ("Application", "ApplicationSet") and path[:1] == ("spec",):
        if any(p in ("syncPolicy", "ignoreDifferences") for p in path):
            return [Category.SYNC_POLICY]
        source_field = path[-1] in ("repoURL", "targetRevision", "path", "chart")
        in_source = path[1:2] in (("source",), ("sources",))
        if kind == "Application" and in_source and (source_field or len(path) <= 3):
            return [Category.SYNC_POLICY]
    return []


def _whole_object_category(kind: str) -> Category | None:
    if kind in RBAC_KINDS:
        return Category.RBAC
    if kind.endswith("NetworkPolicy"):
        return Category.NETWORK_POLICY
    if kind in AUTHZ_KINDS:
        return Category.AUTHORIZATION_POLICY
    if kind in SECRET_KINDS or kind == "Secret":
        return Category.SECRETS
    if kind in ANALYSIS_KINDS:
        return Category.ANALYSIS
    if kind in ARGOCD_KINDS:
        return Category.SYNC_POLICY
    if kind in ("Rollout", "HTTPRoute"):
        return Category.CANARY
    return None


def classify(change: ObjectChange) -> list[Risk]:
    """Every risk in one object's change, in field order."""
    if change.status != "changed":
        category = _whole_object_category(change.kind)
        if category is None:
            return []
        return [Risk(category, change.target, change.object_id, change.status, change.kind)]
    risks: list[Risk] = []
    for field in change.fields:
        for category in categories_for(change.kind, field):
            old, new = field.old, field.new
            if category is Category.IMAGE:
                old, new = _short_digest(old), _short_digest(new)
            detail = f"{short(old, 90)} → {short(new, 90)}"
            risks.append(
                Risk(category, change.target, change.object_id, render_path(field.path), detail)
            )
    return risks
