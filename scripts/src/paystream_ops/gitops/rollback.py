"""`rollback ENV [--to COMMIT]`: `git revert` of the last live image change of ENV, so Argo CD
syncs the previous image and Argo Rollouts fast-tracks it (rollbackWindow)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from paystream_ops.errors import UserError
from paystream_ops.freeze.gate import cluster_at, service_freeze
from paystream_ops.freeze.status import AppFreeze
from paystream_ops.gitops import NothingToDo, overlay_file
from paystream_ops.gitops.branches import commit_on_new_branch, publish_branch
from paystream_ops.gitops.bump import check_env
from paystream_ops.gitops.git import Git
from paystream_ops.gitops.history import ImageChange, image_changes, live_changes
from paystream_ops.gitops.imageref import ImageRef, parse_image_ref
from paystream_ops.gitops.messages import revert_message


@dataclass(frozen=True)
class RollbackResult:
    env: str
    reverted: ImageChange
    commit: str
    branch: str | None
    pushed: bool
    message: str
    # The change freeze at the time of the rollback, when it could be read (advice only).
    freeze: AppFreeze | None = None

    @property
    def title(self) -> str:
        return self.message.splitlines()[0]


def choose_change(
    changes: list[ImageChange], env: str, to: str | None, expect: ImageRef | None
) -> ImageChange:
    """Pure: the change to revert. The newest live one, or `to` if it is live."""
    live = live_changes(changes)
    rel = overlay_file(env)
    if to is not None:
        matches = [c for c in changes if c.commit.startswith(to)]
        if not matches:
            raise UserError(f"--to {to}: not a commit that changed the image in {rel}")
        chosen = matches[-1]
        if chosen not in live:
            raise NothingToDo(f"--to {to}: that image change was already reverted")
    else:
        if not live:
            raise NothingToDo(f"{rel}: no image change in the history to revert")
        chosen = live[-1]
    if expect is not None and (chosen.new is None or not chosen.new.same_build(expect)):
        raise NothingToDo(
            f"{rel}: the change to revert ({chosen.commit[:12]}) set {chosen.new}, "
            f"not {expect}; Git has moved on, nothing reverted"
        )
    return chosen


def freeze_advice(git: Git, rev: str, env: str, now: float | None) -> AppFreeze | None:
    """The freeze, for the note that a manual sync is needed; a rollback is never refused, so
    anything that keeps the freeze from being read only drops the note."""
    at = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    try:
        return service_freeze(cluster_at(git, rev, env), at)
    except Exception:  # a broken AppProject must not stand between the on-call and a revert
        return None


def _revert(git: Git, change: ImageChange, message: str, env: str) -> str:
    args = ["revert", "--no-commit"]
    if change.is_merge:
        args += ["-m", "1"]
    result = git.run(*args, change.commit, check=False)
    if not result.ok:
        git.run("revert", "--abort", check=False)
        raise UserError(
            f"{overlay_file(env)}: cannot revert {change.commit[:12]} cleanly "
            f"({result.reason()}); revert the later changes first"
        )
    git.run("commit", "--quiet", "--file=-", input_text=message)
    return git.out("rev-parse", "HEAD")


def rollback(
    repo: Path,
    env: str,
    *,
    to: str | None = None,
    expect_image: str | None = None,
    reason: str | None = None,
    failed_metrics: str | None = None,
    branch: str | None = None,
    push: bool = False,
    remote: str = "origin",
    now: float | None = None,
) -> RollbackResult:
    check_env(env)
    expect = parse_image_ref(expect_image, where="--expect-image") if expect_image else None
    git = Git(Git(repo).toplevel())
    head = git.rev("HEAD")
    change = choose_change(image_changes(git, env, head), env, to, expect)
    message = revert_message(env, change.commit, change.new, change.old, reason, failed_metrics)
    if branch is None:
        if push:
            raise UserError("--push needs --branch: a rollback goes to review as a pull request")
        dirty = git.dirty_tracked()
        if dirty:
            raise UserError(f"uncommitted changes in {', '.join(dirty[:3])}; commit them first")
        commit = _revert(git, change, message, env)
        freeze = freeze_advice(git, commit, env, now)
        return RollbackResult(env, change, commit, None, False, message, freeze)
    commit = commit_on_new_branch(git, head, branch, lambda g, _: _revert(g, change, message, env))
    if push:
        publish_branch(git, remote, branch)
    return RollbackResult(
        env, change, commit, branch, push, message, freeze_advice(git, commit, env, now)
    )
