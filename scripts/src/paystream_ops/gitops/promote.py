"""`promote --from staging --to prod`: a branch whose only change sets prod's image to the exact
image staging runs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from paystream_ops.errors import UserError
from paystream_ops.freeze.gate import Frozen, check_reason, cluster_at, service_freeze, until
from paystream_ops.gitops import IMAGE_NAME, NothingToDo, overlay_file
from paystream_ops.gitops.branches import commit_on_new_branch, publish_branch
from paystream_ops.gitops.bump import check_env
from paystream_ops.gitops.evidence import Evidence
from paystream_ops.gitops.evidence_markdown import evidence_markdown, no_evidence_note
from paystream_ops.gitops.evidence_record import (
    TRAILER_EVIDENCE,
    NoEvidence,
    evidence_problem,
    image_commit,
    read_evidence,
)
from paystream_ops.gitops.git import Git
from paystream_ops.gitops.history import image_changes, live_changes
from paystream_ops.gitops.imageref import ImageRef, check_deployable
from paystream_ops.gitops.kustomization import read_image, set_image
from paystream_ops.gitops.messages import CommitLink, break_glass_note, promote_message


@dataclass(frozen=True)
class PromoteResult:
    from_env: str
    to_env: str
    old: ImageRef
    new: ImageRef
    source_commit: str
    branch: str
    commit: str
    pushed: bool
    message: str
    # Set when the promotion was opened during a change freeze with a reason.
    break_glass: str | None = None
    frozen_until: datetime | None = None
    # Staging's recorded evidence (None only when promoted without it, with a reason).
    evidence: Evidence | None = None
    evidence_md: str = ""
    without_evidence: str | None = None

    @property
    def title(self) -> str:
        return self.message.splitlines()[0]

    @property
    def body(self) -> str:
        """The pull request's description: the commit body, then the staging evidence."""
        body = self.message.split("\n", 2)[2] if self.message.count("\n") >= 2 else ""
        return f"{body.rstrip()}\n\n{self.evidence_md}" if self.evidence_md else body


def _pinned(git: Git, rev: str, env: str) -> ImageRef:
    path = overlay_file(env)
    text = git.show(rev, path)
    if text is None:
        raise UserError(f"{path}: no such file at {rev[:12]}")
    return read_image(text, path).ref


def default_branch(to_env: str, ref: ImageRef) -> str:
    digest = (ref.digest or "").removeprefix("sha256:")[:12]
    return f"promote/{to_env}-{ref.tag or 'untagged'}-{digest}"


def promote(
    repo: Path,
    from_env: str,
    to_env: str,
    *,
    base: str = "HEAD",
    branch: str | None = None,
    push: bool = False,
    remote: str = "origin",
    min_soak_hours: float | None = None,
    repo_url: str | None = None,
    now: float | None = None,
    break_glass: str | None = None,
    without_evidence: str | None = None,
) -> PromoteResult:
    check_env(from_env)
    check_env(to_env)
    if from_env == to_env:
        raise UserError(f"--from and --to are both {from_env!r}")
    git = Git(Git(repo).toplevel())
    base_sha = git.rev(base)
    source = _pinned(git, base_sha, from_env)
    target = _pinned(git, base_sha, to_env)
    if source == target:
        raise NothingToDo(f"{to_env} already runs the image {from_env} runs ({source})")
    check_deployable(source, to_env, where=f"{overlay_file(from_env)}: images[{IMAGE_NAME}]")
    live = live_changes(image_changes(git, from_env, base_sha))
    source_commit = live[-1].commit if live else base_sha
    if min_soak_hours is not None:
        landed = git.commit_time(source_commit)
        soaked_hours = ((now if now is not None else time.time()) - landed) / 3600
        if soaked_hours < min_soak_hours:
            raise NothingToDo(
                f"{from_env} has run {source.short} for {soaked_hours:.1f}h, "
                f"less than the {min_soak_hours:g}h soak"
            )
    message = promote_message(
        from_env, to_env, target, source, source_commit, CommitLink(repo_url).commit(source_commit)
    )
    evidence, evidence_md, message, no_evidence = _evidence_gate(
        git, base_sha, from_env, source, message, without_evidence, repo_url
    )
    at = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    freeze = service_freeze(cluster_at(git, base_sha, to_env), at)
    reason = None
    if freeze.frozen:
        if break_glass is None:
            raise Frozen(
                f"{to_env} is in a change freeze{until(freeze)}: Argo CD will not sync "
                f"{freeze.app} automatically, so nothing was written. A promotion that cannot "
                "wait needs --break-glass REASON (then a manual sync after the merge)"
            )
        reason = check_reason(break_glass)
        message = break_glass_note(message, reason, freeze.app, until(freeze))
    branch_name = branch or default_branch(to_env, source)
    rel = overlay_file(to_env)

    def make_commit(tree_git: Git, tree: Path) -> str:
        path = tree / rel
        path.write_bytes(set_image(path.read_text(encoding="utf-8"), rel, source).encode())
        return tree_git.commit_paths([rel], message)

    commit = commit_on_new_branch(git, base_sha, branch_name, make_commit)
    if push:
        publish_branch(git, remote, branch_name)
    return PromoteResult(
        from_env,
        to_env,
        target,
        source,
        source_commit,
        branch_name,
        commit,
        push,
        message,
        break_glass=reason,
        frozen_until=freeze.current.end if reason and freeze.current else None,
        evidence=evidence,
        evidence_md=evidence_md,
        without_evidence=no_evidence,
    )


def _evidence_gate(
    git: Git,
    base_sha: str,
    from_env: str,
    source: ImageRef,
    message: str,
    without_evidence: str | None,
    repo_url: str | None,
) -> tuple[Evidence | None, str, str, str | None]:
    """No evidence, no pull request: staging's completed, healthy rollout of exactly this image
    change must be recorded in Git, unless a person gives a reason (logged in the pull request
    and a trailer). docs/decisions/0095-promotion-on-staging-evidence.md"""
    if from_env != "staging":
        return None, "", message, None
    path, evidence = read_evidence(git, base_sha, source)
    problem = evidence_problem(evidence, path, source, image_commit(git, base_sha))
    if problem is None and evidence is not None:
        recorded_in = git.out("log", "-1", "--format=%H", base_sha, "--", path)
        link = CommitLink(repo_url).commit(recorded_in) or recorded_in
        message = f"{message.rstrip()}\n{TRAILER_EVIDENCE}: {path}\n"
        return evidence, evidence_markdown(evidence, path, link), message, None
    if without_evidence is None:
        raise NoEvidence(
            f"{problem}; the promotion waits for staging's completed rollout "
            "(--without-evidence REASON to promote anyway)"
        )
    try:
        reason = check_reason(without_evidence)
    except UserError:
        raise UserError(
            "--without-evidence: give one line of 10 to 500 characters saying why"
        ) from None
    subject, rest = message.split("\n\n", 1)
    message = (
        f"{subject}\n\n{no_evidence_note(reason)}\n({problem})\n\n{rest.rstrip()}\n"
        f"Paystream-Without-Evidence: {reason}\n"
    )
    return None, "", message, reason
