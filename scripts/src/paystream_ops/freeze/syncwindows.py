"""Argo CD sync windows: which apply to an Application, when each is active, and whether a sync
may run. Every rule is Argo CD v3.5.1's (pkg/apis/application/v1alpha1/types.go):

- `SyncWindows.Matches`: a window applies to an app whose name matches `applications`, or whose
  destination server or name matches `clusters`, or whose destination namespace matches
  `namespaces` (globs; OR by default, AND with `andOperator`). A window naming none matches none.
- `SyncWindow.active`: the wall clock of the window's `timeZone` (now's UTC offset added to UTC,
  `scheduleOffsetByTimeZone`) minus `duration` is handed to the cron schedule's `Next`; the
  window is active when that next fire is before the wall clock: on the open interval
  (fire, fire + duration) of wall-clock time. Durations are wall-clock, so a window spanning a
  daylight-saving change lasts an hour more or less in real time. A fire that never comes
  within robfig's five years gives Go's zero time, which is "before" now: always active.
  Argo CD takes the offset of the moment it evaluates (the controller: now); evaluating another
  moment here takes that moment's offset, which is what the controller will do then.
- An unknown `timeZone` falls back to UTC with a log warning; an unparsable schedule or
  duration makes `CanSync` fail, which blocks every sync, manual ones included.
- `SyncWindows.CanSync` (without `syncOverrun`, which only lets a running sync finish): an
  active deny denies, unless the sync is manual and every active deny has `manualSync`; else an
  active allow allows; else, if allow windows exist and none is active, only a manual sync
  passes, and only when every inactive allow has `manualSync`; no windows: allowed. Deny wins
  over allow when both are active.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from paystream_ops.freeze.cron import (
    CronSpec,
    ScheduleError,
    last_fire_before,
    next_fire,
    parse_schedule,
)
from paystream_ops.freeze.duration import DurationError, parse_go_duration

KINDS = ("allow", "deny")
_STEP = timedelta(hours=1)  # offsets never change twice within an hour
_MAX_EXTENSIONS = 50_000


@dataclass(frozen=True)
class AppRef:
    """What `Matches` reads of an Application."""

    name: str
    namespace: str = ""
    server: str = ""
    cluster_name: str = ""

    @classmethod
    def from_object(cls, app: dict[str, Any]) -> AppRef:
        dest = (app.get("spec") or {}).get("destination") or {}
        return cls(
            name=str((app.get("metadata") or {}).get("name", "")),
            namespace=str(dest.get("namespace", "")),
            server=str(dest.get("server", "")),
            cluster_name=str(dest.get("name", "")),
        )


@dataclass(frozen=True)
class SyncWindow:
    """One entry of `spec.syncWindows`, parsed; `errors` says what Argo CD would reject."""

    index: int
    kind: str
    schedule: str
    duration: str
    time_zone: str
    manual_sync: bool
    applications: tuple[str, ...]
    namespaces: tuple[str, ...]
    clusters: tuple[str, ...]
    and_operator: bool
    description: str
    spec: CronSpec | None
    length: timedelta | None
    zone: ZoneInfo
    errors: tuple[tuple[str, str], ...]  # (field, message)

    @property
    def label(self) -> str:
        text = f"syncWindows[{self.index}] {self.kind} {self.schedule!r} {self.duration}"
        return f"{text} ({self.description})" if self.description else text


def resolve_zone(name: str) -> ZoneInfo | None:
    """Go's `time.LoadLocation`: "" and "UTC" are UTC; None for a name it cannot load."""
    if name in ("", "UTC"):
        return ZoneInfo("UTC")
    if name == "Local" or name.startswith("/") or ".." in name:
        return None  # "Local" is the controller's own zone: not a statement of one
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def parse_window(index: int, raw: Any) -> SyncWindow:
    data = raw if isinstance(raw, dict) else {}
    errors: list[tuple[str, str]] = []
    kind = str(data.get("kind", ""))
    if kind not in KINDS:
        errors.append(("kind", f"{kind!r}: can only be allow or deny"))
    schedule, duration = str(data.get("schedule", "")), str(data.get("duration", ""))
    spec: CronSpec | None = None
    try:
        spec = parse_schedule(schedule)
    except ScheduleError as exc:
        errors.append(("schedule", f"cannot parse schedule {schedule!r}: {exc}"))
    length: timedelta | None = None
    try:
        length = parse_go_duration(duration)
    except DurationError as exc:
        errors.append(("duration", f"cannot parse duration {duration!r}: {exc}"))
    time_zone = str(data.get("timeZone", ""))
    zone = resolve_zone(time_zone)
    return SyncWindow(
        index=index,
        kind=kind,
        schedule=schedule,
        duration=duration,
        time_zone=time_zone,
        manual_sync=data.get("manualSync") is True,
        applications=_strings(data.get("applications")),
        namespaces=_strings(data.get("namespaces")),
        clusters=_strings(data.get("clusters")),
        and_operator=data.get("andOperator") is True,
        description=str(data.get("description", "")),
        spec=spec,
        length=length,
        zone=zone or ZoneInfo("UTC"),  # what Argo CD does with a zone it cannot load
        errors=tuple(errors),
    )


def project_windows(project: dict[str, Any]) -> list[SyncWindow]:
    raw = (project.get("spec") or {}).get("syncWindows") or []
    return [parse_window(i, w) for i, w in enumerate(raw if isinstance(raw, list) else [])]


def _glob(pattern: str, value: str) -> bool:
    return pattern == "*" or fnmatch.fnmatchcase(value, pattern)


def window_matches(window: SyncWindow, app: AppRef) -> bool:
    """`SyncWindows.Matches` for one window."""
    checks: list[bool] = []
    if window.applications:
        checks.append(any(_glob(p, app.name) for p in window.applications))
    if window.clusters:
        checks.append(
            any(
                (app.cluster_name and _glob(p, app.cluster_name))
                or (app.server and _glob(p, app.server))
                for p in window.clusters
            )
        )
    if window.namespaces:
        checks.append(any(_glob(p, app.namespace) for p in window.namespaces))
    if not checks:
        return False
    return all(checks) if window.and_operator else any(checks)


def matching(windows: Iterable[SyncWindow], app: AppRef) -> list[SyncWindow]:
    return [w for w in windows if window_matches(w, app)]


def wall_clock(window: SyncWindow, at: datetime) -> datetime:
    """The window's wall-clock time at the instant `at`, naive (Argo CD's UTC + offset)."""
    return at.astimezone(window.zone).replace(tzinfo=None)


def is_active(window: SyncWindow, at: datetime) -> bool:
    if window.spec is None or window.length is None:
        raise ValueError(f"{window.label}: {window.errors[0][1]}")
    wall = wall_clock(window, at)
    fire = next_fire(window.spec, wall - window.length)
    return fire is None or fire < wall


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    active: tuple[SyncWindow, ...] = ()


def can_sync(windows: list[SyncWindow], at: datetime, *, manual: bool) -> Decision:
    """`SyncWindows.CanSync(isManual, nil)` over the windows matching one Application."""
    if not windows:
        return Decision(True, "no sync window applies")
    broken = [w for w in windows if w.spec is None or w.length is None]
    if broken:
        return Decision(False, f"invalid sync window: {broken[0].label}: {broken[0].errors[0][1]}")
    active = tuple(w for w in windows if is_active(w, at))
    denies = tuple(w for w in active if w.kind == "deny")
    if denies:
        if manual and all(w.manual_sync for w in denies):
            return Decision(True, "deny window active; manualSync lets a manual sync run", denies)
        return Decision(False, "deny window active", denies)
    allows = tuple(w for w in active if w.kind == "allow")
    if allows:
        return Decision(True, "allow window active", allows)
    inactive_allows = [w for w in windows if w.kind == "allow"]
    if inactive_allows:
        if manual and all(w.manual_sync for w in inactive_allows):
            return Decision(True, "outside every allow window; manualSync lets a manual sync run")
        return Decision(False, "outside every allow window")
    return Decision(True, "no active window")


# --- When windows are active, as intervals of real (UTC) time -----------------------------


@dataclass(frozen=True, order=True)
class Interval:
    """Active from `start` (excluded unless `start_closed`) to `end` (excluded), in UTC."""

    start: datetime
    end: datetime
    start_closed: bool = False


def _segments(
    zone: ZoneInfo, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime, timedelta]]:
    """[start, end) cut where the zone's UTC offset changes; each piece with its offset."""
    seg_start = start
    offset = seg_start.astimezone(zone).utcoffset() or timedelta(0)
    probe = seg_start
    while probe < end:
        nxt = min(probe + _STEP, end)
        nxt_offset = nxt.astimezone(zone).utcoffset() or timedelta(0)
        if nxt_offset != offset:
            lo, hi = probe, nxt  # the change lies in (lo, hi]: bisect to the second
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if (mid.astimezone(zone).utcoffset() or timedelta(0)) == offset:
                    lo = mid
                else:
                    hi = mid
            yield seg_start, hi, offset
            seg_start, offset = hi, nxt_offset
        probe = nxt
    if seg_start < end:
        yield seg_start, end, offset


def _wall_runs(
    spec: CronSpec, length: timedelta, wall_from: datetime, wall_to: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """Merged wall-clock runs (first fire, last fire + length) of fires in
    (wall_from - length, wall_to); overlapping fires extend a run."""
    fire = next_fire(spec, wall_from - length)
    if fire is None:  # never fires: Argo CD sees the zero time, i.e. always active
        yield wall_from - timedelta(seconds=1), wall_to + timedelta(seconds=1)
        return
    while fire is not None and fire < wall_to:
        run_start, run_end = fire, fire + length
        for _ in range(_MAX_EXTENSIONS):
            if run_end > wall_to:
                break
            candidate = last_fire_before(spec, run_end)
            if candidate is None or candidate + length <= run_end:
                break
            run_end = candidate + length
        yield run_start, run_end
        if run_end > wall_to:
            return
        fire = next_fire(spec, run_end - timedelta(microseconds=1))  # the first fire >= run_end


def active_intervals(window: SyncWindow, start: datetime, end: datetime) -> list[Interval]:
    """When `window` is active within [start, end) (aware datetimes), as UTC intervals."""
    if window.spec is None or window.length is None or window.length <= timedelta(0):
        return []
    out: list[Interval] = []
    for seg_start, seg_end, offset in _segments(
        window.zone, start.astimezone(UTC), end.astimezone(UTC)
    ):
        wall_from = seg_start.replace(tzinfo=None) + offset
        wall_to = seg_end.replace(tzinfo=None) + offset
        for run_start, run_end in _wall_runs(window.spec, window.length, wall_from, wall_to):
            s = (run_start - offset).replace(tzinfo=UTC)
            e = (run_end - offset).replace(tzinfo=UTC)
            closed = s < seg_start
            s, e = max(s, seg_start), min(e, seg_end)
            if s < e:
                out.append(Interval(s, e, closed))
    return merge(out)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Union of intervals; ones that touch merge unless the touching instant is uncovered."""
    merged: list[Interval] = []
    for iv in sorted(intervals):
        if merged and (
            iv.start < merged[-1].end or (iv.start == merged[-1].end and iv.start_closed)
        ):
            last = merged[-1]
            closed = last.start_closed or (iv.start == last.start and iv.start_closed)
            merged[-1] = Interval(last.start, max(last.end, iv.end), closed)
        else:
            merged.append(iv)
    return merged


def uncovered(intervals: list[Interval], start: datetime, end: datetime) -> datetime | None:
    """The first instant of [start, end) outside every interval, or None when covered."""
    cursor = start
    for iv in merge(intervals):
        if iv.end <= cursor:
            continue
        if iv.start > cursor or (iv.start == cursor and not iv.start_closed):
            return cursor
        cursor = iv.end
        if cursor >= end:
            return None
    return cursor if cursor < end else None
