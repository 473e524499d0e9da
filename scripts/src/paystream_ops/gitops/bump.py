"""`bump ENV --image REF`: one commit that changes only the overlay's image, pushed with
fetch, re-apply and retry so concurrent bumps all land."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from paystream_ops.errors import UserError
from paystream_ops.gitops import IMAGE_NAME, NothingToDo, overlay_file
from paystream_ops.gitops.git import Git, push_or_take_theirs
from paystream_ops.gitops.imageref import ImageRef, check_deployable, parse_image_ref
from paystream_ops.gitops.kustomization import read_image, set_image
from paystream_ops.gitops.messages import bump_message
from paystream_ops.paths import ENVIRONMENTS


@dataclass(frozen=True)
class BumpResult:
    env: str
    commit: str | None  # None when a concurrent bump already landed the same image
    old: ImageRef
    new: ImageRef
    branch: str | None
    pushed: bool
    attempts: int


def check_env(env: str) -> None:
    if env not in ENVIRONMENTS:
        raise UserError(f"unknown environment {env!r}: expected one of {', '.join(ENVIRONMENTS)}")


def prepare_ref(env: str, image: str) -> ImageRef:
    """Every check that needs no repository: environment, reference syntax and policy."""
    check_env(env)
    ref = parse_image_ref(image)
    if ref.name != IMAGE_NAME:
        raise UserError(f"--image {image!r}: image name must be {IMAGE_NAME}")
    check_deployable(ref, env)
    return ref


def _apply(root: Path, env: str, ref: ImageRef) -> tuple[ImageRef, str] | None:
    """Edit the overlay in the working tree; None when it already pins `ref`."""
    rel = overlay_file(env)
    path = root / rel
    if not path.exists():
        raise UserError(f"{rel}: no such file")
    text = path.read_text(encoding="utf-8")
    current = read_image(text, rel).ref
    if current == ref:
        return None
    new_text = set_image(text, rel, ref)
    path.write_bytes(new_text.encode("utf-8"))
    return current, new_text


def bump(
    repo: Path,
    env: str,
    image: str,
    *,
    push: bool = True,
    remote: str = "origin",
    max_attempts: int = 10,
    sleep: Callable[[float], None] = time.sleep,
) -> BumpResult:
    ref = prepare_ref(env, image)
    git = Git(repo)
    root = git.toplevel()
    git = Git(root)
    dirty = git.dirty_tracked()
    if dirty:
        raise UserError(f"{root}: uncommitted changes in {', '.join(dirty[:3])}; commit them first")
    branch = git.current_branch()
    if push:
        if branch is None:
            raise UserError(f"{root}: HEAD is detached; check out the branch to bump")
        git.fetch(remote, branch)
        upstream = f"refs/remotes/{remote}/{branch}"
        ahead = git.out("rev-list", "--count", f"{upstream}..HEAD")
        if ahead != "0":
            raise UserError(
                f"{root}: {branch} has {ahead} commit(s) not on {remote}; push them first"
            )
        git.run("merge", "--quiet", "--ff-only", upstream)
    rel = overlay_file(env)
    attempt = 0
    first_old: ImageRef | None = None
    while True:
        attempt += 1
        applied = _apply(root, env, ref)
        if applied is None:
            if attempt == 1:
                raise NothingToDo(f"{rel}: images[{IMAGE_NAME}] already pins {ref}")
            # A concurrent bump landed the very same image: the goal is reached.
            return BumpResult(env, None, first_old or ref, ref, branch, True, attempt)
        old, _ = applied
        first_old = first_old or old
        commit = git.commit_paths([rel], bump_message(env, old, ref))
        if not push:
            return BumpResult(env, commit, old, ref, branch, False, attempt)
        assert branch is not None
        if push_or_take_theirs(git, remote, branch, commit, attempt, max_attempts, sleep):
            return BumpResult(env, commit, old, ref, branch, True, attempt)
        # Someone pushed first: re-apply the edit on top of theirs.
