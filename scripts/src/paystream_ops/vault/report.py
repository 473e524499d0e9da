"""What `vault bootstrap` and `vault rotate` print: plain lines or a JSON document (pure).

Built from plans and results that hold names, versions and times only, so no output path can
ever carry a secret value.
"""

from __future__ import annotations

from typing import Any

from paystream_ops.vault.plan import Action, Plan
from paystream_ops.vault.rotate import RotationResult


def plan_document(plan: Plan, env: str, applied: bool) -> dict[str, Any]:
    return {
        "env": env,
        "applied": applied,
        "changes": [
            {
                "action": change.action.value,
                "kind": change.kind,
                "name": change.name,
                "changed_fields": list(change.changed_fields),
                "note": change.note,
            }
            for change in plan.changes
        ],
        "counts": plan.counts(),
    }


def plan_lines(plan: Plan, env: str, address: str, applied: bool) -> list[str]:
    lines = [f"vault bootstrap --env {env} against {address}"]
    for change in plan.changes:
        fields = f" ({', '.join(change.changed_fields)})" if change.action is Action.UPDATE else ""
        note = f"  # {change.note}" if change.note else ""
        lines.append(f"  {change.action.value:<9}  {change.kind:<15}  {change.name}{fields}{note}")
    counts = plan.counts()
    if plan.is_noop:
        lines.append(f"nothing to change: {counts['unchanged']} unchanged")
        return lines
    summary = (
        f"{counts['create']} created, {counts['update']} updated, {counts['unchanged']} unchanged"
    )
    if not applied:
        summary += " (dry run: nothing written)"
    lines.append(summary)
    return lines


def _stamp(result: RotationResult) -> str:
    return result.plan.previous_kept_until.strftime("%Y-%m-%dT%H:%M:%SZ")


def rotation_document(result: RotationResult) -> dict[str, Any]:
    plan = result.plan
    return {
        "path": result.path,
        "version": result.new_version,
        "previous_version": plan.previous_version,
        "previous_readable_until": _stamp(result) if plan.previous_readable else None,
        "retired_versions": list(plan.retire),
    }


def rotation_lines(result: RotationResult) -> list[str]:
    plan = result.plan
    lines = [f"{result.path}: version {result.new_version} is current"]
    if plan.previous_readable:
        lines.append(
            f"  version {plan.previous_version} stays readable until at least {_stamp(result)}"
        )
    elif plan.previous_version:
        lines.append(f"  version {plan.previous_version} was not readable (deleted); nothing kept")
    if plan.retire:
        lines.append(f"  grace period over, soft-deleted: {', '.join(map(str, plan.retire))}")
    lines.append("  every pod has it within 3 minutes (RUNBOOK.md), without a restart")
    return lines
