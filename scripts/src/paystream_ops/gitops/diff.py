"""`diff --base REF [--head REF]`: render both refs in throw-away worktrees and compare."""

from __future__ import annotations

import secrets
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from paystream_ops.gitops.freeze_notice import FreezeNote, freeze_notes
from paystream_ops.gitops.git import Git, worktree
from paystream_ops.gitops.objdiff import ObjectChange, diff_target
from paystream_ops.gitops.render_inputs import inputs_digest
from paystream_ops.gitops.render_tree import Target, discover, render_target
from paystream_ops.gitops.risk import Risk, classify
from paystream_ops.render import K8sObject

RENDER_JOBS = 4


@dataclass(frozen=True)
class DiffReport:
    base: str
    head: str
    targets: tuple[str, ...]
    changes: tuple[ObjectChange, ...]
    risks: tuple[Risk, ...]
    # Changed targets a change freeze holds back at the time of the diff.
    freeze: tuple[FreezeNote, ...] = ()


def compare_trees(
    base_tree: Path, head_tree: Path, base_label: str, head_label: str
) -> tuple[list[str], list[ObjectChange], list[Risk]]:
    """Render every target of both trees and diff them (no git involved); a target that reads
    the same files in both is rendered once (gitops/render_inputs.py)."""
    targets = sorted({t.path for t in discover(base_tree)} | {t.path for t in discover(head_tree)})
    key = secrets.token_bytes(32)
    changes: list[ObjectChange] = []
    # kubectl renders in parallel; results (and the first failure) are taken in target order.
    with ThreadPoolExecutor(max_workers=RENDER_JOBS) as pool:
        renders = []
        for path in targets:
            old = pool.submit(render_target, base_tree, Target(path), base_label)
            renders.append(
                (path, old, _head_render(pool, old, base_tree, head_tree, path, head_label))
            )
        for path, old, new in renders:
            changes += diff_target(path, old.result(), new.result(), key)
    risks = [risk for change in changes for risk in classify(change)]
    return targets, changes, risks


def _head_render(
    pool: ThreadPoolExecutor,
    base_render: Future[list[K8sObject]],
    base_tree: Path,
    head_tree: Path,
    path: str,
    head_label: str,
) -> Future[list[K8sObject]]:
    """The head's render; the base's own when the target reads the same files at both refs."""
    digest = inputs_digest(base_tree, path)
    if digest is not None and digest == inputs_digest(head_tree, path):
        return base_render
    return pool.submit(render_target, head_tree, Target(path), head_label)


def rendered_diff(
    repo: Path, base: str, head: str = "HEAD", at: datetime | None = None
) -> DiffReport:
    git = Git(Git(repo).toplevel())
    base_sha, head_sha = git.rev(base), git.rev(head)
    with worktree(git, base_sha) as base_tree, worktree(git, head_sha) as head_tree:
        targets, changes, risks = compare_trees(base_tree, head_tree, base, head)
        changed = {c.target for c in changes}
        notes = freeze_notes(head_tree, changed, at or datetime.now(UTC)) if changed else []
    return DiffReport(
        base_sha, head_sha, tuple(targets), tuple(changes), tuple(risks), tuple(notes)
    )
