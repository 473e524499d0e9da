"""Make a commit on a new branch without touching the user's checkout, and publish it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from paystream_ops.errors import UserError
from paystream_ops.gitops import NothingToDo
from paystream_ops.gitops.git import Git, worktree


def commit_on_new_branch(
    git: Git, base: str, branch: str, make_commit: Callable[[Git, Path], str]
) -> str:
    """Run `make_commit` in a throw-away worktree at `base`, then point `branch` at its commit."""
    if git.branch_exists(branch):
        raise NothingToDo(f"branch {branch!r} already exists; delete it or pass --branch")
    with worktree(git, base) as path:
        commit = make_commit(Git(path), path)
    git.run("branch", branch, commit)
    return commit


def publish_branch(git: Git, remote: str, branch: str) -> None:
    """Push a new branch; an existing remote branch means the pull request is already open."""
    if git.remote_branch_exists(remote, branch):
        raise NothingToDo(f"{remote} already has branch {branch!r} (an open pull request?)")
    result = git.push(remote, f"refs/heads/{branch}", branch)
    if not result.ok:
        raise UserError(f"git push {remote} {branch}: {result.reason()}")
