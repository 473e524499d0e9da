"""The I/O edge: a cluster folder rendered, its AppProjects and Applications, and which
Application deploys an environment's overlay."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paystream_ops.errors import UserError
from paystream_ops.freeze.syncwindows import AppRef, SyncWindow, matching, project_windows
from paystream_ops.render import render

K8sObject = dict[str, Any]


@dataclass(frozen=True)
class Cluster:
    """The Argo CD objects of one rendered `clusters/<env>` folder."""

    env: str
    path: str
    projects: dict[str, K8sObject]
    applications: tuple[K8sObject, ...]

    @classmethod
    def from_objects(cls, env: str, path: str, objects: list[K8sObject]) -> Cluster:
        projects = {_name(o): o for o in objects if o.get("kind") == "AppProject"}
        apps = tuple(o for o in objects if o.get("kind") == "Application")
        return cls(env, path, projects, apps)

    def project_of(self, app: K8sObject) -> K8sObject | None:
        return self.projects.get(str((app.get("spec") or {}).get("project", "default")))

    def windows_for(self, app: K8sObject) -> list[SyncWindow]:
        """The sync windows of the app's project that match it (`SyncWindows.Matches`)."""
        project = self.project_of(app)
        return matching(project_windows(project), AppRef.from_object(app)) if project else []

    def deploying(self, path: str) -> list[K8sObject]:
        """The Applications whose source (any of `sources`) is this repository path."""
        wanted = path.strip("/")
        return [a for a in self.applications if wanted in source_paths(a)]


def _name(obj: K8sObject) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def app_name(app: K8sObject) -> str:
    return _name(app)


def source_paths(app: K8sObject) -> set[str]:
    spec = app.get("spec") or {}
    sources = ([spec["source"]] if isinstance(spec.get("source"), dict) else []) + [
        s for s in spec.get("sources") or [] if isinstance(s, dict)
    ]
    return {str(s["path"]).strip("/") for s in sources if s.get("path")}


def load_cluster(tree: Path, env: str) -> Cluster:
    """Render `clusters/<env>` of a checkout with the pinned kubectl."""
    rel = f"clusters/{env}"
    folder = tree / rel
    if not (folder / "kustomization.yaml").is_file():
        raise UserError(f"{rel}: no kustomization.yaml, so no AppProject to read sync windows from")
    return Cluster.from_objects(env, rel, render(folder))


def service_application(cluster: Cluster) -> K8sObject:
    """The Application that deploys `overlays/<env>`: the one a promotion changes."""
    overlay = f"overlays/{cluster.env}"
    apps = cluster.deploying(overlay)
    if not apps:
        raise UserError(f"{cluster.path}: no Application deploys {overlay}")
    return apps[0]
