"""What the delivery commands ask: is an environment's service frozen at an instant, read from
the cluster folder of a given commit (in a throw-away worktree: the user's checkout is never
touched)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from paystream_ops.errors import UserError
from paystream_ops.freeze.cluster import Cluster, app_name, load_cluster, service_application
from paystream_ops.freeze.status import AppFreeze, app_freeze
from paystream_ops.gitops.git import Git, worktree

# Exit code of a promotion refused by a change freeze: not a failure (2), not "nothing to do"
# (3); the workflow reports it and, on a schedule, stays green.
FROZEN_EXIT_CODE = 4


class Frozen(UserError):
    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=FROZEN_EXIT_CODE)


def check_reason(reason: str) -> str:
    """A break-glass reason: one line people can read in the pull request and the log."""
    text = reason.strip()
    if len(text) < 10 or "\n" in text or len(text) > 500:
        raise UserError("--break-glass: give one line of 10 to 500 characters saying why")
    return text


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


def until(freeze: AppFreeze) -> str:
    """`until 2026-12-01 05:00 UTC (...)`, or nothing when no window is current."""
    if freeze.current is None:
        return ""
    names = "; ".join(w.description or w.label for w in freeze.current.windows)
    return f" until {freeze.current.end:%Y-%m-%d %H:%M} UTC ({names})"
