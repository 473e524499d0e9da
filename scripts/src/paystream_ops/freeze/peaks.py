"""The peak periods a change freeze must cover, as the prod AppProject declares them.

They live beside the windows that enforce them, in the annotation `paystream.io/peak-periods`
of the AppProject: a YAML list of `{name, first-day, last-day, time-zone}` (days inclusive). A
cron schedule has no year, so the dates are what says which years are meant; the validator
checks that the current year's Black Friday to Cyber Monday and the next one are listed
(docs/decisions/0048-change-freeze-in-argo-cd.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from paystream_ops.freeze.syncwindows import resolve_zone

ANNOTATION = "paystream.io/peak-periods"
_KEYS = ("name", "first-day", "last-day", "time-zone")


class PeakError(ValueError):
    """The annotation does not say what the peaks are."""


@dataclass(frozen=True)
class PeakPeriod:
    name: str
    first_day: date
    last_day: date
    time_zone: str

    @property
    def zone(self) -> ZoneInfo:
        return resolve_zone(self.time_zone) or ZoneInfo("UTC")

    @property
    def start(self) -> datetime:
        """The first instant of the first day, in UTC."""
        return datetime.combine(self.first_day, time(), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the last day, in UTC."""
        return datetime.combine(self.last_day + timedelta(days=1), time(), self.zone).astimezone(
            UTC
        )

    def covers(self, first: date, last: date) -> bool:
        return self.first_day <= first and last <= self.last_day


def _day(value: Any, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise PeakError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from exc


def parse_peaks(text: str) -> list[PeakPeriod]:
    """The annotation's list; PeakError names the entry and field that is wrong."""
    try:
        data = yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506 (builds only str/list/dict)
    except yaml.YAMLError as exc:
        raise PeakError(f"not YAML: {exc}") from exc
    if not isinstance(data, list) or not data:
        raise PeakError("expected a non-empty YAML list of {name, first-day, last-day, time-zone}")
    peaks = []
    for i, item in enumerate(data):
        where = f"[{i}]"
        if not isinstance(item, dict) or set(item) != set(_KEYS):
            raise PeakError(f"{where}: expected exactly the keys {', '.join(_KEYS)}")
        first = _day(item["first-day"], f"{where}.first-day")
        last = _day(item["last-day"], f"{where}.last-day")
        if last < first:
            raise PeakError(f"{where}: last-day {last} is before first-day {first}")
        zone_name = str(item["time-zone"])
        if not zone_name or resolve_zone(zone_name) is None:
            raise PeakError(f"{where}.time-zone: {zone_name!r} is not an IANA time zone")
        peaks.append(PeakPeriod(str(item["name"]), first, last, zone_name))
    return peaks


def black_friday(year: int) -> date:
    """The day after the fourth Thursday of November (US Thanksgiving)."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=22)


def cyber_monday(year: int) -> date:
    return black_friday(year) + timedelta(days=3)


def required_years(today: date) -> tuple[int, ...]:
    """This year's peak (over or not: the record of it stays) and the next one to come."""
    if today > cyber_monday(today.year):
        return (today.year, today.year + 1)
    return (today.year,)


def missing_peaks(peaks: list[PeakPeriod], today: date) -> list[int]:
    """The required years whose Black Friday to Cyber Monday no listed peak covers."""
    return [
        year
        for year in required_years(today)
        if not any(p.covers(black_friday(year), cyber_monday(year)) for p in peaks)
    ]
