"""The history of one environment's image in Git: which commits changed it, and which of those
changes are still live once reverts are taken into account."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from paystream_ops.errors import UserError
from paystream_ops.gitops import overlay_file
from paystream_ops.gitops.git import Git
from paystream_ops.gitops.imageref import ImageRef
from paystream_ops.gitops.kustomization import read_image
from paystream_ops.gitops.messages import reverted_commits


@dataclass(frozen=True)
class ImageChange:
    """One first-parent commit that changed the environment's image from `old` to `new`."""

    commit: str
    parent: str | None
    is_merge: bool
    old: ImageRef | None
    new: ImageRef | None
    reverts: tuple[str, ...]
    subject: str
    committed_at: int


def live_changes(changes_oldest_first: Sequence[ImageChange]) -> list[ImageChange]:
    """The changes still in effect, oldest first; the last one is what `rollback` reverts.

    A revert removes the change it names; a revert of a revert puts the change back (as
    itself, so rolling back again reverts the re-application). Creating the file is not a
    bump: there is nothing before it to roll back to.
    """
    stack: list[ImageChange] = []
    removed_by: dict[str, ImageChange] = {}
    for change in changes_oldest_first:
        target = next(iter(change.reverts), None)
        live_ids = [c.commit for c in stack]
        if target is not None and target in live_ids:
            removed_by[change.commit] = stack.pop(live_ids.index(target))
            continue
        if target is not None and target in removed_by:
            stack.append(change)
            continue
        if change.old is None or change.new is None:
            continue
        stack.append(change)
    return stack


def _image_at(git: Git, rev: str | None, path: str) -> ImageRef | None:
    if rev is None:
        return None
    text = git.show(rev, path)
    if text is None:
        return None
    try:
        return read_image(text, f"{rev[:12]}:{path}").ref
    except UserError:
        return None


def image_changes(git: Git, env: str, rev: str = "HEAD", limit: int = 500) -> list[ImageChange]:
    """Image changes of `env` reachable from `rev` along first parents, oldest first."""
    path = overlay_file(env)
    out = git.run(
        "log",
        "--first-parent",
        f"-n{limit}",
        "--format=%H%x1f%P%x1f%ct%x1f%B%x1e",
        rev,
        "--",
        path,
    ).stdout
    changes: list[ImageChange] = []
    for record in out.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        sha, parents_text, committed_at, message = record.split("\x1f", 3)
        parents = parents_text.split()
        parent = parents[0] if parents else None
        old, new = _image_at(git, parent, path), _image_at(git, sha, path)
        if old == new:
            continue
        messages = message
        if len(parents) > 1:
            # A merged pull request: its own commits say whether it was a revert.
            messages += git.run("log", "--format=%B", f"{parents[0]}..{sha}").stdout
        changes.append(
            ImageChange(
                commit=sha,
                parent=parent,
                is_merge=len(parents) > 1,
                old=old,
                new=new,
                reverts=tuple(dict.fromkeys(reverted_commits(messages))),
                subject=message.splitlines()[0] if message else "",
                committed_at=int(committed_at),
            )
        )
    changes.reverse()
    return changes
