"""Is an Application frozen at an instant, and which freeze windows are current and next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from paystream_ops.freeze.syncwindows import (
    Decision,
    Interval,
    SyncWindow,
    active_intervals,
    can_sync,
    merge,
)

# How far `next` looks ahead: beyond a year, so a yearly freeze is always found.
HORIZON = timedelta(days=400)


@dataclass(frozen=True)
class Span:
    """A stretch of real time during which deny windows are active, and which ones."""

    start: datetime
    end: datetime
    windows: tuple[SyncWindow, ...]


@dataclass(frozen=True)
class AppFreeze:
    app: str
    at: datetime
    automated: Decision
    manual: Decision
    current: Span | None
    next: Span | None

    @property
    def frozen(self) -> bool:
        """Automated syncs are denied: a merged change waits."""
        return not self.automated.allowed


def _deny_spans(windows: list[SyncWindow], start: datetime, end: datetime) -> list[Span]:
    per_window = [
        (w, active_intervals(w, start, end))
        for w in windows
        if w.kind == "deny" and w.spec is not None and w.length is not None
    ]
    union = merge(iv for _, ivs in per_window for iv in ivs)
    return [
        Span(
            run.start,
            run.end,
            tuple(w for w, ivs in per_window if any(_overlaps(run, iv) for iv in ivs)),
        )
        for run in union
    ]


def _overlaps(a: Interval, b: Interval) -> bool:
    return a.start < b.end and b.start < a.end


def app_freeze(app: str, windows: list[SyncWindow], at: datetime) -> AppFreeze:
    """The freeze as Argo CD sees it for one Application at the instant `at` (aware)."""
    longest = max((w.length for w in windows if w.length is not None), default=timedelta(0))
    spans = _deny_spans(windows, at - longest - timedelta(days=7), at + HORIZON)
    current = next((s for s in spans if s.start <= at < s.end), None)
    after = current.end if current else at
    upcoming = next((s for s in spans if s.start >= after and s is not current), None)
    return AppFreeze(
        app=app,
        at=at,
        automated=can_sync(windows, at, manual=False),
        manual=can_sync(windows, at, manual=True),
        current=current,
        next=upcoming,
    )
