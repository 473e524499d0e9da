"""`push_or_take_theirs`, the push-and-retry step `bump` and `evidence record` share, on real
repositories: a bare remote and two clones (one pushes first, or a hook refuses)."""

from __future__ import annotations

from pathlib import Path

import pytest
from paystream_ops.errors import UserError
from paystream_ops.gitops.git import Git, push_or_take_theirs

from .conftest import git


def no_sleep(_seconds: float) -> None:
    pass


def clones(tmp_path: Path) -> tuple[Path, Git, Git]:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    ours, theirs = (tmp_path / "ours", tmp_path / "theirs")
    git(tmp_path, "clone", "--quiet", str(bare), str(theirs))
    git(theirs, "config", "user.email", "t@example.com")
    git(theirs, "config", "user.name", "t")
    commit(Git(theirs), "base")
    git(theirs, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    git(tmp_path, "clone", "--quiet", str(bare), str(ours))
    git(ours, "config", "user.email", "o@example.com")
    git(ours, "config", "user.name", "o")
    return bare, Git(ours), Git(theirs)


def commit(repo: Git, name: str) -> str:
    (repo.cwd / name).write_text(name)
    return repo.commit_paths([name], f"add {name}\n")


def push(repo: Git, new: str, attempt: int = 1, max_attempts: int = 10) -> bool:
    return push_or_take_theirs(repo, "origin", "main", new, attempt, max_attempts, no_sleep)


def test_a_push_that_lands_returns_true(tmp_path: Path) -> None:
    bare, ours, _ = clones(tmp_path)
    mine = commit(ours, "mine")
    assert push(ours, mine)
    assert git(bare, "rev-parse", "main") == mine


def test_when_someone_pushed_first_ours_is_dropped_and_theirs_checked_out(tmp_path: Path) -> None:
    bare, ours, theirs = clones(tmp_path)
    theirs_tip = commit(theirs, "theirs")
    git(theirs.cwd, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    mine = commit(ours, "mine")
    assert not push(ours, mine)
    assert ours.rev("HEAD") == theirs_tip == git(bare, "rev-parse", "main")
    # The caller re-applies on top of theirs, and that lands.
    again = commit(ours, "mine")
    assert push(ours, again, attempt=2)
    assert ours.parents(again) == [theirs_tip]


def test_the_last_attempt_rejected_raises_and_drops_our_commit(tmp_path: Path) -> None:
    _, ours, theirs = clones(tmp_path)
    base = ours.rev("HEAD")
    commit(theirs, "theirs")
    git(theirs.cwd, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    mine = commit(ours, "mine")
    with pytest.raises(UserError, match=r"rejected 3 times .*nothing was pushed"):
        push(ours, mine, attempt=3, max_attempts=3)
    assert ours.rev("HEAD") == base


def test_a_refusal_where_the_remote_did_not_move_is_not_retried(tmp_path: Path) -> None:
    bare, ours, _ = clones(tmp_path)
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    base = ours.rev("HEAD")
    mine = commit(ours, "mine")
    with pytest.raises(UserError, match=r"git push origin main: .*; nothing was pushed"):
        push(ours, mine)
    assert ours.rev("HEAD") == base == git(bare, "rev-parse", "main")


def test_head_moved_under_the_push_is_left_alone(tmp_path: Path) -> None:
    _, ours, theirs = clones(tmp_path)
    commit(theirs, "theirs")
    git(theirs.cwd, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    mine = commit(ours, "mine")
    other = commit(ours, "other")  # made after ours, before the push was judged
    with pytest.raises(UserError, match="HEAD moved during the push"):
        push(ours, mine)
    assert ours.rev("HEAD") == other
