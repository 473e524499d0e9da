"""How a freeze status reads: one screen for people (operator's zone and UTC), JSON for tools."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from paystream_ops.freeze.status import AppFreeze, Span


def _stamp(at: datetime, zone: tzinfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def both(at: datetime, zone: ZoneInfo) -> str:
    """`2026-11-27 12:00 EST (2026-11-27 17:00 UTC)`."""
    return f"{_stamp(at, zone)} ({_stamp(at, UTC)})"


def _span_json(span: Span | None, zone: ZoneInfo) -> dict[str, Any] | None:
    if span is None:
        return None
    return {
        "start": span.start.isoformat(),
        "end": span.end.isoformat(),
        "start_local": span.start.astimezone(zone).isoformat(),
        "end_local": span.end.astimezone(zone).isoformat(),
        "windows": [
            {
                "index": w.index,
                "description": w.description,
                "schedule": w.schedule,
                "duration": w.duration,
                "time_zone": w.time_zone,
                "manual_sync": w.manual_sync,
            }
            for w in span.windows
        ],
    }


def to_json(env: str, service: AppFreeze, apps: list[AppFreeze], zone: ZoneInfo) -> dict[str, Any]:
    return {
        "environment": env,
        "at": service.at.astimezone(UTC).isoformat(),
        "at_local": service.at.astimezone(zone).isoformat(),
        "time_zone": str(zone.key),
        "application": service.app,
        "frozen": service.frozen,
        "automated_sync": {"allowed": service.automated.allowed, "why": service.automated.reason},
        "manual_sync": {"allowed": service.manual.allowed, "why": service.manual.reason},
        "current": _span_json(service.current, zone),
        "next": _span_json(service.next, zone),
        "applications": [
            {"name": a.app, "frozen": a.frozen, "manual_sync_allowed": a.manual.allowed}
            for a in apps
        ],
    }


def _span_lines(label: str, span: Span | None, zone: ZoneInfo) -> list[str]:
    if span is None:
        return [f"{label}: none" + ("" if label.startswith("current") else " within a year")]
    lines = [
        f"{label}: {_stamp(span.start, zone)} -> {_stamp(span.end, zone)}",
        f"{' ' * len(label)}  ({_stamp(span.start, UTC)} -> {_stamp(span.end, UTC)})",
    ]
    lines += [f"{' ' * len(label)}  {w.label}" for w in span.windows]
    return lines


def to_text(env: str, service: AppFreeze, apps: list[AppFreeze], zone: ZoneInfo) -> str:
    head = f"{env} at {both(service.at, zone)}: "
    if service.frozen:
        manual = (
            "a manual sync is allowed (break-glass, RUNBOOK.md)"
            if service.manual.allowed
            else "a manual sync is denied too"
        )
        head += f"FROZEN: automated syncs of {service.app} are denied; {manual}"
    else:
        head += f"not frozen: {service.app} syncs automatically ({service.automated.reason})"
    lines = [head, *_span_lines("current window", service.current, zone)]
    lines += _span_lines("next window", service.next, zone)
    frozen = [a.app for a in apps if a.frozen]
    free = [a.app for a in apps if not a.frozen]
    if frozen:
        lines.append(f"frozen now: {', '.join(frozen)}")
    if free:
        lines.append(f"syncing automatically now: {', '.join(free)}")
    return "\n".join(lines)
