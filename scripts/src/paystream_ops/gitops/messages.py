"""Commit messages: conventional subjects for people, trailers for `rollback` and `promote`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from paystream_ops.gitops import IMAGE_SHORT_NAME
from paystream_ops.gitops.imageref import ImageRef

TRAILER_ENV = "Paystream-Environment"
TRAILER_FROM = "Paystream-Image-From"
TRAILER_TO = "Paystream-Image-To"
TRAILER_STAGING_COMMIT = "Paystream-Promoted-From"
TRAILER_REVERTS = "Paystream-Reverts"
TRAILER_BREAK_GLASS = "Paystream-Break-Glass"

# `git revert` writes this line; we keep it in our own revert messages and in revert PRs, so a
# squash-merged revert is still recognised as one.
_REVERTS = re.compile(r"This reverts commit ([0-9a-f]{40})")


def _change(old: ImageRef | None, new: ImageRef) -> str:
    if old is None:
        return new.short
    if old.tag and new.tag and old.tag != new.tag:
        return f"{old.tag} -> {new.tag}"
    return f"{old.short} -> {new.short}"


def _trailers(env: str, old: ImageRef | None, new: ImageRef, extra: dict[str, str]) -> str:
    lines = [f"{TRAILER_ENV}: {env}"]
    if old is not None:
        lines.append(f"{TRAILER_FROM}: {old}")
    lines.append(f"{TRAILER_TO}: {new}")
    lines.extend(f"{k}: {v}" for k, v in extra.items())
    return "\n".join(lines)


def bump_message(env: str, old: ImageRef | None, new: ImageRef) -> str:
    subject = f"chore({env}): bump {IMAGE_SHORT_NAME} {_change(old, new)}"
    body = f"Image: {old if old is not None else '(none)'} -> {new}"
    return f"{subject}\n\n{body}\n\n{_trailers(env, old, new, {})}\n"


def promote_message(
    from_env: str,
    to_env: str,
    old: ImageRef,
    new: ImageRef,
    source_commit: str,
    source_url: str | None,
) -> str:
    subject = f"chore({to_env}): promote {IMAGE_SHORT_NAME} {_change(old, new)} from {from_env}"
    link = f" ({source_url})" if source_url else ""
    body = (
        f"Sets {to_env} to the exact image {from_env} runs since {source_commit}{link}.\n\n"
        f"Image: {old} -> {new}"
    )
    extra = {TRAILER_STAGING_COMMIT: f"{from_env}@{source_commit}"}
    return f"{subject}\n\n{body}\n\n{_trailers(to_env, old, new, extra)}\n"


def break_glass_note(message: str, reason: str, app: str, frozen_until: str) -> str:
    """A promotion opened during a change freeze: the reason in the body (the pull request's
    description) and in a trailer (the history), and what merging it does not do."""
    subject, rest = message.split("\n\n", 1)
    note = (
        f"BREAK-GLASS during the change freeze{frozen_until}: {reason}\n\n"
        f"Argo CD will not sync {app} automatically while the freeze lasts: after merging, "
        f"someone with the break-glass role runs `argocd app sync {app}` (RUNBOOK.md, "
        '"Change freeze").'
    )
    return f"{subject}\n\n{note}\n\n{rest.rstrip()}\n{TRAILER_BREAK_GLASS}: {reason}\n"


def verdict_lines(failed_metrics: str | None) -> list[str]:
    """The abort notification's `failed_metrics` ("visa-failures=[9.31]; ...") as one line per
    metric a person reads ("- Visa: failures, score 9.31 (visa-failures)"); anything that is
    not `name=value` is kept as written, never dropped."""
    from paystream_ops.judge.verdict import describe_value

    lines = []
    for item in (failed_metrics or "").split(";"):
        name, sep, value = item.strip().partition("=")
        if not item.strip():
            continue
        lines.append(f"- {describe_value(name.strip(), value.strip()) if sep else item.strip()}")
    return lines


def revert_message(
    env: str,
    reverted: str,
    old: ImageRef | None,
    new: ImageRef | None,
    reason: str | None,
    failed_metrics: str | None = None,
) -> str:
    """`old` is what runs now (the reverted change's target), `new` what the revert restores."""
    if old is not None and new is not None:
        subject = f"revert({env}): roll back {IMAGE_SHORT_NAME} {_change(old, new)}"
    else:
        subject = f"revert({env}): roll back {IMAGE_SHORT_NAME} to before {reverted[:12]}"
    parts = [subject, "", f"This reverts commit {reverted}."]
    if reason:
        parts += ["", reason.strip()]
    verdicts = verdict_lines(failed_metrics)
    if verdicts:
        parts += [
            "",
            "What failed (network: signal, score over stable; docs/analysis.md):",
            *verdicts,
        ]
    trailer_lines = [f"{TRAILER_ENV}: {env}", f"{TRAILER_REVERTS}: {reverted}"]
    if old is not None:
        trailer_lines.append(f"{TRAILER_FROM}: {old}")
    if new is not None:
        trailer_lines.append(f"{TRAILER_TO}: {new}")
    parts += ["", *trailer_lines]
    return "\n".join(parts) + "\n"


def reverted_commits(message: str) -> list[str]:
    """The commits a message says it reverts (git's own phrase, as in squash-merged PRs)."""
    return _REVERTS.findall(message)


@dataclass(frozen=True)
class CommitLink:
    """Where a commit can be seen on the forge, when the repository URL is known."""

    base_url: str | None

    def commit(self, sha: str) -> str | None:
        return f"{self.base_url.rstrip('/')}/commit/{sha}" if self.base_url else None
