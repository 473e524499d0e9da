"""The bootstrap plan: every command, in order, with what it applies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from paystream_ops.errors import UserError
from paystream_ops.render import K8sObject

ARGOCD_VERSION = "v3.5.1"  # the release whose CRDs the validator checks (VERSIONS.md)
ARGOCD_INSTALL_URL = (
    f"https://raw.githubusercontent.com/argoproj/argo-cd/{ARGOCD_VERSION}/manifests/install.yaml"
)
ARGOCD_NAMESPACE = "argocd"
ROOT_APPLICATION = "root"


@dataclass(frozen=True)
class Step:
    description: str
    argv: tuple[str, ...]
    stdin: str | None = None

    def shell(self) -> str:
        command = " ".join(self.argv)
        return f"{command} <<'EOF'\n{self.stdin}EOF" if self.stdin else command


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


def build_plan(env: str, objects: Sequence[K8sObject], kubectl: str, context: str) -> list[Step]:
    check_cluster_folder(env, objects)
    base = (kubectl, "--context", context)
    namespace = yaml.safe_dump(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ARGOCD_NAMESPACE}}
    )
    cluster = yaml.safe_dump_all(objects, sort_keys=False)
    return [
        Step(f"namespace {ARGOCD_NAMESPACE}", (*base, "apply", "-f", "-"), namespace),
        # Server-side: Argo CD's CRDs are larger than the last-applied annotation allows.
        Step(
            f"Argo CD {ARGOCD_VERSION} (pinned install manifest)",
            (
                *base,
                "apply",
                "--server-side",
                "--force-conflicts",
                "--namespace",
                ARGOCD_NAMESPACE,
                "--filename",
                ARGOCD_INSTALL_URL,
            ),
        ),
        Step(
            "wait for Argo CD's CRDs",
            (
                *base,
                "wait",
                "--for=condition=Established",
                "--timeout=120s",
                "crd/applications.argoproj.io",
                "crd/appprojects.argoproj.io",
            ),
        ),
        Step(
            "wait for the repo server",
            (
                *base,
                "--namespace",
                ARGOCD_NAMESPACE,
                "rollout",
                "status",
                "deployment/argocd-repo-server",
                "--timeout=300s",
            ),
        ),
        Step(
            "wait for the application controller",
            (
                *base,
                "--namespace",
                ARGOCD_NAMESPACE,
                "rollout",
                "status",
                "statefulset/argocd-application-controller",
                "--timeout=300s",
            ),
        ),
        Step(
            f"clusters/{env}: AppProject, argocd-cm, root Application and its children",
            (*base, "apply", "--server-side", "--filename", "-"),
            cluster,
        ),
    ]
