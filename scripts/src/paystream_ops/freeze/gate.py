"""What the delivery commands ask: is an environment's service frozen at an instant, read from
the cluster folder of a given commit (in a throw-away worktree: the user's checkout is never
touched)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from paystream_ops.freeze.cluster import Cluster, app_name, load_cluster, service_application
from paystream_ops.freeze.status import AppFreeze, app_freeze
from paystream_ops.gitops.git import Git, worktree


def cluster_at(git: Git, rev: str, env: str) -> Cluster:
    with worktree(git, rev) as tree:
        return load_cluster(tree, env)


def service_freeze(cluster: Cluster, at: datetime) -> AppFreeze:
    app = service_application(cluster)
    return app_freeze(app_name(app), cluster.windows_for(app), at)


def all_freezes(cluster: Cluster, at: datetime) -> list[AppFreeze]:
    return [app_freeze(app_name(a), cluster.windows_for(a), at) for a in cluster.applications]


def freeze_in_tree(tree: Path, env: str, at: datetime) -> AppFreeze:
    return service_freeze(load_cluster(tree, env), at)


def manual_sync_command(freeze: AppFreeze) -> str:
    return f"argocd app sync {freeze.app}"
