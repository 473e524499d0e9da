"""The bootstrap plan: every step, in order, with what it applies (pure; `apply` runs it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from paystream_ops.errors import UserError
from paystream_ops.render import K8sObject

ARGOCD_VERSION = "v3.5.1"  # the release whose CRDs the validator checks (VERSIONS.md)
ARGOCD_INSTALL_URL = (
    f"https://raw.githubusercontent.com/argoproj/argo-cd/{ARGOCD_VERSION}/manifests/install.yaml"
)
ARGOCD_NAMESPACE = "argocd"
ROOT_APPLICATION = "root"
# Server-side apply's owners of the fields bootstrap sets: one per source, so the install
# manifest's argocd-cm and clusters/ENV's never undo each other's fields on a re-run. see
# docs/decisions/0087-bootstrap-server-side-apply-field-managers.md
FIELD_MANAGER = "paystream-ops-bootstrap"
INSTALL_FIELD_MANAGER = "paystream-ops-bootstrap-argocd-install"


@dataclass(frozen=True)
class Apply:
    """Server-side apply these objects (namespaced ones without a namespace go to `namespace`)."""

    description: str
    objects: tuple[K8sObject, ...]
    namespace: str | None = None


@dataclass(frozen=True)
class ApplyManifest:
    """Fetch a release's install manifest, apply its CRDs, wait until they are Established,
    then apply the rest."""

    description: str
    url: str
    namespace: str


@dataclass(frozen=True)
class WaitReady:
    """Wait until a Deployment or StatefulSet has all its replicas ready."""

    description: str
    kind: str  # "Deployment" or "StatefulSet"
    namespace: str
    name: str
    timeout_seconds: float = 300.0


Step = Apply | ApplyManifest | WaitReady


def describe(step: Step) -> str:
    if isinstance(step, Apply):
        names = ", ".join(
            f"{o.get('kind')}/{(o.get('metadata') or {}).get('name')}" for o in step.objects
        )
        return f"{step.description}: server-side apply {names}"
    if isinstance(step, ApplyManifest):
        return f"{step.description}: server-side apply {step.url} (CRDs first, until Established)"
    return f"{step.description}: wait until {step.kind} {step.namespace}/{step.name} is ready"


def check_cluster_folder(env: str, objects: Sequence[K8sObject]) -> None:
    """The folder must hold the AppProject and a root Application that syncs this folder."""
    where = f"clusters/{env}"
    roots = [
        o
        for o in objects
        if o.get("kind") == "Application"
        and (o.get("metadata") or {}).get("name") == ROOT_APPLICATION
    ]
    if len(roots) != 1:
        raise UserError(
            f"{where}: expected one Application named {ROOT_APPLICATION!r}, found {len(roots)}"
        )
    path = ((roots[0].get("spec") or {}).get("source") or {}).get("path")
    if str(path).strip("/") != where:
        raise UserError(
            f"{where}: Application/{ROOT_APPLICATION}: spec.source.path: {path!r} "
            f"is not {where!r} (the root Application must manage its own folder)"
        )
    project = (roots[0].get("spec") or {}).get("project")
    if not any(
        o.get("kind") == "AppProject" and (o.get("metadata") or {}).get("name") == project
        for o in objects
    ):
        raise UserError(
            f"{where}: AppProject {project!r} (the root Application's project) is not in the folder"
        )


def build_plan(
    env: str, objects: Sequence[K8sObject], install_url: str = ARGOCD_INSTALL_URL
) -> list[Step]:
    check_cluster_folder(env, objects)
    namespace: K8sObject = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": ARGOCD_NAMESPACE},
    }
    return [
        Apply(f"namespace {ARGOCD_NAMESPACE}", (namespace,)),
        ApplyManifest(
            f"Argo CD {ARGOCD_VERSION} (pinned install manifest)", install_url, ARGOCD_NAMESPACE
        ),
        WaitReady("wait for the repo server", "Deployment", ARGOCD_NAMESPACE, "argocd-repo-server"),
        WaitReady(
            "wait for the application controller",
            "StatefulSet",
            ARGOCD_NAMESPACE,
            "argocd-application-controller",
        ),
        Apply(
            f"clusters/{env}: AppProject, argocd-cm, root Application and its children",
            tuple(objects),
            ARGOCD_NAMESPACE,
        ),
    ]
