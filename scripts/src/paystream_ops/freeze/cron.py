"""Cron schedules exactly as Argo CD reads a sync window's `schedule`.

Argo CD v3.5.1 parses it with robfig/cron v3 (go.mod pins v3.0.2-0.20210106135023-bc59245fe10e)
and `cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)`
(pkg/apis/application/v1alpha1/types.go, `SyncWindow.active` and `SyncWindow.Validate`): five
fields, no seconds, no `@daily` descriptors. The grammar below is robfig's `parser.go` (`Parse`,
`normalizeFields`, `getField`, `getRange`, `parseIntOrName`, the `bounds` of `spec.go`), including
its star rule (`*` or `?` alone, or with step 1, marks a field "unrestricted"; `dayMatches` ANDs
day-of-month and day-of-week only when one of them is unrestricted, else ORs them). The calendar
walk is cronsim's, fed a normalised expression (explicit value lists) so that cronsim's own
extensions and its star rule never decide anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from cronsim import CronSim, CronSimError

_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
# (name, min, max, names): robfig spec.go `minutes`, `hours`, `dom`, `months`, `dow`.
_FIELDS: tuple[tuple[str, int, int, dict[str, int] | None], ...] = (
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day-of-month", 1, 31, None),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 6, _DAYS),
)
# Go's strconv.Atoi: optional sign, decimal digits.
_INT = re.compile(r"^[+-]?[0-9]+$")
# robfig's Next gives up after five years and returns the zero time (spec.go, `yearLimit`).
YEAR_LIMIT = 5


class ScheduleError(ValueError):
    """The schedule does not parse the way Argo CD parses it (message says why)."""


@dataclass(frozen=True)
class CronSpec:
    """A parsed schedule: the allowed values of each field and whether it is unrestricted."""

    source: str
    values: tuple[frozenset[int], ...]
    star: tuple[bool, ...]

    def normalized(self) -> str:
        """An equivalent expression for cronsim: explicit lists, `*` only where robfig's star
        bit is set, so both libraries agree on the day-of-month/day-of-week rule."""
        parts = []
        for (_, lo, hi, _), values, star in zip(_FIELDS, self.values, self.star, strict=True):
            if star and values == frozenset(range(lo, hi + 1)):
                parts.append("*")
            else:
                parts.append(",".join(str(v) for v in sorted(values)))
        return " ".join(parts)


def _int_or_name(text: str, names: dict[str, int] | None, expr: str) -> int:
    if names is not None and text.lower() in names:
        return names[text.lower()]
    if not _INT.match(text):
        raise ScheduleError(f"failed to parse int from {text}: {expr}")
    value = int(text)
    if value < 0:
        raise ScheduleError(f"negative number ({value}) not allowed: {expr}")
    return value


def _range(expr: str, lo: int, hi: int, names: dict[str, int] | None) -> tuple[set[int], bool]:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    star = False
    if low_and_high[0] in ("*", "?"):
        start, end, star = lo, hi, True
    else:
        start = _int_or_name(low_and_high[0], names, expr)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], names, expr)
        else:
            raise ScheduleError(f"too many hyphens: {expr}")
    step = 1
    if len(range_and_step) == 2:
        step = _int_or_name(range_and_step[1], None, expr)
        if len(low_and_high) == 1:  # "N/step" means "N-max/step"
            end = hi
        if step > 1:
            star = False
    elif len(range_and_step) > 2:
        raise ScheduleError(f"too many slashes: {expr}")
    if start < lo:
        raise ScheduleError(f"beginning of range ({start}) below minimum ({lo}): {expr}")
    if end > hi:
        raise ScheduleError(f"end of range ({end}) above maximum ({hi}): {expr}")
    if start > end:
        raise ScheduleError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise ScheduleError(f"step of range should be a positive number: {expr}")
    return set(range(start, end + 1, step)), star


def parse_schedule(spec: str) -> CronSpec:
    """Parse like Argo CD's robfig parser; a `TZ=`/`CRON_TZ=` prefix is refused (robfig would
    shift the schedule on top of the window's own timeZone)."""
    if not spec:
        raise ScheduleError("empty spec string")
    if spec.startswith(("TZ=", "CRON_TZ=")):
        raise ScheduleError("a TZ=/CRON_TZ= prefix shifts the schedule twice: use timeZone")
    if spec.startswith("@"):
        raise ScheduleError(f"parser does not accept descriptors: {spec}")
    fields = spec.split()
    if len(fields) != len(_FIELDS):
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: {fields}")
    values: list[frozenset[int]] = []
    stars: list[bool] = []
    for text, (_, lo, hi, names) in zip(fields, _FIELDS, strict=True):
        field_values: set[int] = set()
        field_star = False
        for expr in (part for part in text.split(",") if part):
            got, star = _range(expr, lo, hi, names)
            field_values |= got
            field_star = field_star or star
        if not field_values:
            raise ScheduleError(f"empty field: {text!r}")
        values.append(frozenset(field_values))
        stars.append(field_star)
    return CronSpec(spec, tuple(values), tuple(stars))


def next_fire(spec: CronSpec, after: datetime) -> datetime | None:
    """The first fire strictly after `after` (naive wall-clock time), or None when there is
    none within robfig's five-year limit (Argo CD then gets the zero time)."""
    start = after.replace(microsecond=0)
    try:
        found: datetime = next(CronSim(spec.normalized(), start))
    except (CronSimError, StopIteration):  # e.g. "0 0 30 2 *": robfig accepts it, never fires
        return None
    limit_year = (start + timedelta(seconds=1)).year + YEAR_LIMIT
    return found if found.year <= limit_year else None


def last_fire_before(spec: CronSpec, before: datetime) -> datetime | None:
    """The last fire strictly before `before` (naive wall-clock time), within 50 years."""
    try:
        found: datetime = next(CronSim(spec.normalized(), before, reverse=True))
    except (CronSimError, StopIteration):
        return None
    return found if found < before else None
