"""`evidence record`: one commit on main adding `evidence/staging/<digest>.json` for a completed
staging rollout, pushed with fetch, re-check and retry (like `bump`); and the reading side that
`promote` uses. The judging is pure (`evidence.py`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from paystream_ops.errors import UserError
from paystream_ops.gitops import IMAGE_SHORT_NAME, overlay_file
from paystream_ops.gitops.evidence import (
    EVIDENCE_DIR,
    CompletedEvent,
    Evidence,
    check_against_history,
    check_environment,
    check_passed,
    dump_evidence,
    evidence_path,
    load_event,
    load_evidence,
)
from paystream_ops.gitops.git import Git, push_or_take_theirs
from paystream_ops.gitops.history import image_changes, live_changes
from paystream_ops.gitops.imageref import ImageRef
from paystream_ops.gitops.kustomization import read_image

ENV = "staging"
TRAILER_EVIDENCE = "Paystream-Staging-Evidence"


class NoEvidence(UserError):
    """No completed, healthy staging rollout is recorded for the image to promote. Exit 5, so
    the scheduled promotion can tell "not yet" apart from a failure."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=5)


@dataclass(frozen=True)
class RecordResult:
    evidence: Evidence
    path: str
    commit: str
    pushed: bool
    attempts: int


def staging_image(git: Git, rev: str) -> ImageRef:
    rel = overlay_file(ENV)
    text = git.show(rev, rel)
    if text is None:
        raise UserError(f"{rel}: no such file at {rev[:12]}")
    return read_image(text, rel).ref


def image_commit(git: Git, rev: str) -> str:
    """The commit that put staging's current image in its overlay (the newest live change)."""
    live = live_changes(image_changes(git, ENV, rev))
    if live:
        return live[-1].commit
    return git.out("log", "-1", "--format=%H", rev, "--", overlay_file(ENV))


def recorded(git: Git, rev: str) -> list[Evidence]:
    listing = (
        git.out("ls-tree", "--name-only", f"{rev}:{EVIDENCE_DIR}") if _has_dir(git, rev) else ""
    )
    out = []
    for name in listing.splitlines():
        if name.endswith(".json"):
            path = f"{EVIDENCE_DIR}/{name}"
            out.append(load_evidence(git.show(rev, path) or "", path))
    return out


def _has_dir(git: Git, rev: str) -> bool:
    return git.run("cat-file", "-e", f"{rev}:{EVIDENCE_DIR}", check=False).ok


def read_evidence(git: Git, rev: str, image: ImageRef) -> tuple[str, Evidence | None]:
    path = evidence_path(image)
    text = git.show(rev, path)
    return path, (load_evidence(text, path) if text is not None else None)


def evidence_problem(
    evidence: Evidence | None, path: str, image: ImageRef, commit: str
) -> str | None:
    """Why the recorded evidence does not cover staging's current image change, if it does not."""
    if evidence is None:
        return (
            f"{path}: missing: no completed, healthy staging rollout of {image.short} is recorded"
        )
    if not evidence.event.image.same_build(image):
        return f"{path}: image: records {evidence.event.image}, not {image}"
    if evidence.staging_commit != commit:
        return (
            f"{path}: staging_commit: the evidence is for staging's change "
            f"{evidence.staging_commit[:12]}, but staging runs the image since {commit[:12]} "
            "(reverted and re-applied since; wait for that rollout's evidence)"
        )
    return None


def _message(event: CompletedEvent, path: str, staging_commit: str) -> str:
    subject = (
        f"chore({ENV}): evidence {IMAGE_SHORT_NAME} {event.image.short} "
        f"(rollout revision {event.revision} completed)"
    )
    body = (
        f"Argo Rollouts completed revision {event.revision} of {event.namespace}/{event.rollout} "
        f"at {event.completed_at} with every step analysis Successful. Staging has run this "
        f"image since {staging_commit}."
    )
    trailers = (
        f"Paystream-Environment: {ENV}\nPaystream-Image-To: {event.image}\n"
        f"{TRAILER_EVIDENCE}: {path}"
    )
    return f"{subject}\n\n{body}\n\n{trailers}\n"


def _prepare(git: Git, root: Path, event: CompletedEvent, source: str) -> tuple[Evidence, str]:
    """Check the event against Git at HEAD and write the file; nothing written on refusal."""
    head = git.rev("HEAD")
    history = image_changes(git, ENV, head)
    check_against_history(
        event,
        source,
        staging_image(git, head),
        [c.new for c in history if c.new is not None] + [c.old for c in history if c.old],
        recorded(git, head),
    )
    evidence = Evidence(event, image_commit(git, head))
    path = evidence_path(event.image)
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dump_evidence(evidence), encoding="utf-8")
    return evidence, path


def record(
    repo: Path,
    payload_text: str,
    source: str,
    *,
    push: bool = False,
    remote: str = "origin",
    max_attempts: int = 10,
    sleep: Callable[[float], None] = time.sleep,
) -> RecordResult:
    event = load_event(payload_text, source)
    check_environment(event, source)
    check_passed(event, source)
    git = Git(Git(repo).toplevel())
    root = git.toplevel()
    dirty = git.dirty_tracked()
    if dirty:
        raise UserError(f"{root}: uncommitted changes in {', '.join(dirty[:3])}; commit them first")
    branch = git.current_branch()
    if push:
        if branch is None:
            raise UserError(f"{root}: HEAD is detached; check out the branch to record on")
        git.fetch(remote, branch)
        git.run("merge", "--quiet", "--ff-only", f"refs/remotes/{remote}/{branch}")
    attempt = 0
    while True:
        attempt += 1
        evidence, path = _prepare(git, root, event, source)
        commit = git.commit_paths([path], _message(event, path, evidence.staging_commit))
        if not push:
            return RecordResult(evidence, path, commit, False, attempt)
        assert branch is not None
        if push_or_take_theirs(git, remote, branch, commit, attempt, max_attempts, sleep):
            return RecordResult(evidence, path, commit, True, attempt)
        # Someone pushed first: judge the event again against their main.
