"""Schedules parse exactly as Argo CD's robfig/cron v3 parser (five fields) parses them."""

from __future__ import annotations

from datetime import datetime

import pytest
from paystream_ops.freeze.cron import ScheduleError, next_fire, parse_schedule


@pytest.mark.parametrize(
    "spec",
    [
        "* * * * *",
        "0 0 26 11 *",
        "10 1 * * *",
        "0 22 * * *",
        "* * * * 1",
        "0 2 3 3 3",
        "*/15 0-6 1,15 jan-mar MON-fri",
        "0 0 ? * ?",
        "5/10 * * * *",
        "0 0 1,,15 * *",  # robfig skips empty list items
    ],
)
def test_robfig_accepts(spec: str) -> None:
    parse_schedule(spec)


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("* 10 * * 7", "end of range (7) above maximum (6)"),  # Argo CD's own test case
        ("* * *", "expected exactly 5 fields, found 3"),
        ("0 0 * * * *", "expected exactly 5 fields, found 6"),
        ("@daily", "does not accept descriptors"),
        ("CRON_TZ=UTC 0 0 * * *", "use timeZone"),
        ("0 0 L * *", "failed to parse int from L"),
        ("0 0 * * 5#4", "failed to parse int from 5#4"),
        ("0 24 * * *", "end of range (24) above maximum (23)"),
        ("0 0 0 * *", "beginning of range (0) below minimum (1)"),
        ("0 0 5-1 * *", "beyond end of range"),
        ("*/0 * * * *", "step of range should be a positive number"),
        ("1-2-3 * * * *", "too many hyphens"),
        ("1/2/3 * * * *", "too many slashes"),
        ("", "empty spec string"),
    ],
)
def test_robfig_rejects(spec: str, reason: str) -> None:
    with pytest.raises(ScheduleError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_schedule(spec)


def test_next_fire_is_strictly_after() -> None:
    spec = parse_schedule("0 0 27 11 *")
    assert next_fire(spec, datetime(2026, 11, 27, 0, 0)) == datetime(2027, 11, 27, 0, 0)
    assert next_fire(spec, datetime(2026, 11, 26, 23, 59, 59, 999)) == datetime(2026, 11, 27)


def test_day_of_month_and_day_of_week_are_ored_unless_one_is_a_star() -> None:
    # robfig's dayMatches: both restricted -> OR. Jan 1 2026 is a Thursday.
    either = parse_schedule("0 0 15 * 1")
    assert next_fire(either, datetime(2026, 1, 1)) == datetime(2026, 1, 5)  # a Monday
    both = parse_schedule("0 0 * * 1")
    assert next_fire(both, datetime(2026, 1, 1)) == datetime(2026, 1, 5)
    # "*/2" has a step > 1: robfig clears the star bit, so it is restricted and ORs with Monday
    # (cronsim alone would AND them; the normalised expression keeps robfig's rule).
    stepped = parse_schedule("0 0 */2 * 1")
    assert next_fire(stepped, datetime(2026, 1, 1)) == datetime(2026, 1, 3)
    # "*/1" keeps the star bit: AND with Monday.
    starred = parse_schedule("0 0 */1 * 1")
    assert next_fire(starred, datetime(2026, 1, 1)) == datetime(2026, 1, 5)


def test_a_schedule_that_never_fires_has_no_next_fire() -> None:
    # robfig accepts Feb 30 and its Next returns the zero time after five years of search.
    assert next_fire(parse_schedule("0 0 30 2 *"), datetime(2026, 1, 1)) is None
    # Feb 29 fires within five years: not "never".
    assert next_fire(parse_schedule("0 0 29 2 *"), datetime(2026, 1, 1)) == datetime(2028, 2, 29)
