"""Pure: the pull-request comment. Risks and the per-target summary first, then per-object
diffs while they fit under GitHub's 65,536-character comment limit; the rest is in the file."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from paystream_ops.gitops.freeze_notice import FreezeNote
from paystream_ops.gitops.objdiff import ObjectChange
from paystream_ops.gitops.risk import Category, Risk

GITHUB_COMMENT_LIMIT = 65_536
STICKY_MARKER = "<!-- paystream-ops:rendered-diff -->"
# Room kept for the closing note, so it always fits.
_FOOTER_RESERVE = 600
# One object's diff never takes more than this share of the comment.
_MAX_OBJECT_CHARS = 12_000
_MAX_RISK_ROWS = 60


@dataclass(frozen=True)
class TargetSummary:
    target: str
    added: int
    removed: int
    changed: int


def summarize(targets: Sequence[str], changes: Sequence[ObjectChange]) -> list[TargetSummary]:
    out = []
    for target in targets:
        own = [c for c in changes if c.target == target]
        out.append(
            TargetSummary(
                target,
                sum(c.status == "added" for c in own),
                sum(c.status == "removed" for c in own),
                sum(c.status == "changed" for c in own),
            )
        )
    return out


def fence_for(text: str) -> str:
    """A code fence longer than any backtick run inside, so diff content cannot close it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("`", "'")


def _risk_rows(risks: Sequence[Risk]) -> list[str]:
    order = list(Category)
    rows = []
    for risk in sorted(risks, key=lambda r: (order.index(r.category), r.target, r.object_id)):
        rows.append(
            f"| {risk.category.value} | `{_cell(risk.target)}` | `{_cell(risk.object_id)}` "
            f"| `{_cell(risk.where)}` | {_cell(risk.detail)} |"
        )
    return rows


def _object_block(change: ObjectChange, body: str, note: str = "") -> str:
    fence = fence_for(body)
    return (
        f"<details><summary><code>{html.escape(change.target)}</code> "
        f"{html.escape(change.object_id)} "
        f"({change.status})</summary>\n\n{fence}diff\n{body}{fence}\n{note}</details>\n"
    )


def render_markdown(
    base: str,
    head: str,
    targets: Sequence[str],
    changes: Sequence[ObjectChange],
    risks: Sequence[Risk],
    *,
    full_diff_hint: str = "the `rendered-diff` artifact of this run",
    limit: int = GITHUB_COMMENT_LIMIT,
    freeze: Sequence[FreezeNote] = (),
) -> str:
    parts = [STICKY_MARKER, f"### Rendered manifests: `{base[:12]}` → `{head[:12]}`", ""]
    if not changes:
        parts += ["No rendered object changes.", ""]
        return "\n".join(parts)
    parts += [f"**🧊 Change freeze:** {_cell(note.line())}" for note in freeze]
    parts += [""] if freeze else []
    if risks:
        parts += [f"**⚠️ {len(risks)} risky change(s): review these first.**", ""]
        parts += ["| Risk | Target | Object | Field | Change |", "|---|---|---|---|---|"]
        rows = _risk_rows(risks)
        parts += rows[:_MAX_RISK_ROWS]
        if len(rows) > _MAX_RISK_ROWS:
            parts.append(f"| … | | | | {len(rows) - _MAX_RISK_ROWS} more in the full diff |")
        parts.append("")
    else:
        parts += [
            "✅ No risky changes (image, canary, analysis, RBAC, policies, secrets, sync).",
            "",
        ]
    parts += ["| Target | Added | Removed | Changed |", "|---|---:|---:|---:|"]
    for s in summarize(targets, changes):
        if s.added or s.removed or s.changed:
            parts.append(f"| `{s.target}` | {s.added} | {s.removed} | {s.changed} |")
    parts.append("")
    header = "\n".join(parts) + "\n"
    budget = limit - _FOOTER_RESERVE
    if len(header) > budget:  # only with absurd numbers of targets: keep the risk table
        header = header[: budget - 40] + "\n\n(summary cut to fit)\n"
    risky_ids = {(r.target, r.object_id) for r in risks}
    ordered = sorted(changes, key=lambda c: ((c.target, c.object_id) not in risky_ids,))
    blocks: list[str] = []
    used = len(header)
    shown = 0
    for change in ordered:
        body = change.diff
        note = ""
        if len(body) > _MAX_OBJECT_CHARS:
            body = body[:_MAX_OBJECT_CHARS].rsplit("\n", 1)[0] + "\n"
            note = "\n_(this object's diff is cut here; the full diff is in the file)_\n"
        block = _object_block(change, body, note)
        if used + len(block) > budget:
            break
        blocks.append(block)
        used += len(block)
        shown += 1
    footer = ""
    if shown < len(ordered):
        footer = (
            f"\n_{len(ordered) - shown} of {len(ordered)} object diffs are not shown to stay "
            f"under GitHub's comment limit; the full diff is in {full_diff_hint}._\n"
        )
    text = header + "".join(blocks) + footer
    assert len(text) <= limit, len(text)
    return text


def render_text(changes: Sequence[ObjectChange], risks: Sequence[Risk]) -> str:
    """The plain full diff (for the artifact and the terminal): risks, then every object."""
    lines = []
    if risks:
        lines.append(f"# {len(risks)} risky change(s)")
        for r in risks:
            lines.append(f"# [{r.category.value}] {r.target} {r.object_id} {r.where}: {r.detail}")
        lines.append("")
    for change in changes:
        lines.append(change.diff.rstrip("\n"))
    return "\n".join(lines) + ("\n" if lines else "")
