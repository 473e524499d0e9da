"""The I/O edge: a cluster folder rendered, its AppProjects and Applications, and which
Application deploys an environment's overlay."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paystream_ops.errors import UserError
from paystream_ops.freeze.syncwindows import AppRef, SyncWindow, matching, project_windows
from paystream_ops.gitops.render_tree import APPLICATION_DIRS, Target, render_target

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
    """`clusters/<env>` of a checkout as Argo CD sees it: rendered (kustomize, or a plain folder
    of YAML), plus the Applications that its app-of-apps roots deploy from other folders."""
    rel = f"clusters/{env}"
    if not (tree / rel).is_dir():
        raise UserError(f"{rel}: no such folder, so no AppProject to read sync windows from")
    objects = render_target(tree, Target(rel), "HEAD")
    seen = {rel}
    pending = [o for o in objects if o.get("kind") == "Application"]
    while pending:
        for path in sorted(source_paths(pending.pop())):
            # Only app-of-apps folders hold Applications; an overlay is not worth rendering.
            if (
                path in seen
                or path.split("/")[0] not in APPLICATION_DIRS
                or not (tree / path).is_dir()
            ):
                continue
            seen.add(path)
            children = render_target(tree, Target(path), "HEAD")
            apps = [o for o in children if o.get("kind") == "Application"]
            objects += apps
            pending += apps
    return Cluster.from_objects(env, rel, objects)


def service_application(cluster: Cluster) -> K8sObject:
    """The Application that deploys `overlays/<env>`: the one a promotion changes."""
    overlay = f"overlays/{cluster.env}"
    apps = cluster.deploying(overlay)
    if not apps:
        raise UserError(f"{cluster.path}: no Application deploys {overlay}")
    return apps[0]
