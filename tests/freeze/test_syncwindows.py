"""Sync windows evaluated with Argo CD v3.5.1's rules: the examples of its "Sync Windows" page,
the cases of its own types_test.go, and daylight-saving edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from paystream_ops.freeze.syncwindows import (
    AppRef,
    Interval,
    active_intervals,
    can_sync,
    is_active,
    matching,
    parse_window,
    uncovered,
)

NY = ZoneInfo("America/New_York")
APP = AppRef(name="guestbook", namespace="default", server="https://kubernetes.default.svc")


def window(kind: str, schedule: str, duration: str, **extra: Any):  # type: ignore[no-untyped-def]
    raw = {"kind": kind, "schedule": schedule, "duration": duration, "applications": ["*"]}
    raw.update(extra)
    return parse_window(0, raw)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --- docs/user-guide/sync_windows.md -------------------------------------------------------


def test_docs_every_minute_for_an_hour_is_always_active() -> None:
    # `argocd proj windows list`: "* * * * *  1h ... Active"
    w = window("allow", "* * * * *", "1h")
    for at in (utc(2026, 1, 1, 0, 0, 30), utc(2026, 11, 27, 17, 0), utc(2027, 6, 30, 23, 59)):
        assert is_active(w, at)


def test_docs_monday_deny_for_three_hours() -> None:
    # "* * * * 1  3h": every minute of Monday starts a 3h window, so Tuesday 00:00-03:00 too.
    w = window("deny", "* * * * 1", "3h")
    assert is_active(w, utc(2026, 11, 30, 12, 0))  # a Monday
    assert is_active(w, utc(2026, 12, 1, 2, 58))  # Tuesday, within 3h of Monday 23:59
    assert not is_active(w, utc(2026, 12, 1, 3, 0))
    assert not is_active(w, utc(2026, 12, 2, 12, 0))  # Wednesday


def test_docs_deny_overrides_allow() -> None:
    # "If there is an active matching allow and an active matching deny then syncs will be
    # denied as deny windows override allow windows."
    windows = [window("allow", "* * * * *", "1h"), window("deny", "* * * * *", "1h")]
    assert not can_sync(windows, utc(2026, 11, 27, 17, 0), manual=False).allowed
    assert not can_sync(windows, utc(2026, 11, 27, 17, 0), manual=True).allowed


def test_docs_assigned_windows_of_argocd_app_get_deny_the_sync() -> None:
    # "Assigned Windows: deny:0 2 * * *:1h,allow:0 2 3 3 3:1h" -> "SyncWindow: Sync Denied":
    # inside the deny, or outside the only allow, an automated sync is denied.
    windows = [window("deny", "0 2 * * *", "1h"), window("allow", "0 2 3 3 3", "1h")]
    # The allow (March 3rd or a Wednesday of March, dom and dow ORed) only ever opens when the
    # deny does, so it never wins: 2026-03-11 is a Wednesday.
    for at in (utc(2026, 11, 27, 2, 30), utc(2026, 11, 27, 12, 0), utc(2026, 3, 11, 2, 30)):
        assert not can_sync(windows, at, manual=False).allowed
    assert [w.kind for w in can_sync(windows, utc(2026, 3, 11, 2, 30), manual=False).active] == [
        "deny"
    ]


def test_docs_manual_sync_overrides_a_window_that_allows_it() -> None:
    # "allow a manual sync ... useful if you are only interested in preventing automated syncs"
    deny = window("deny", "0 22 * * *", "1h", timeZone="Europe/Amsterdam", manualSync=True)
    at = datetime(2026, 11, 27, 22, 30, tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert not can_sync([deny], at, manual=False).allowed
    assert can_sync([deny], at, manual=True).allowed
    without = window("deny", "0 22 * * *", "1h", timeZone="Europe/Amsterdam")
    assert not can_sync([without], at, manual=True).allowed


def test_docs_outside_an_allow_window_only_a_manual_sync_with_manualsync_runs() -> None:
    # "10 1 * * *  1h  '*-prod'  manualSync: true": outside it, manual only.
    allow = window("allow", "10 1 * * *", "1h", manualSync=True)
    assert not can_sync([allow], utc(2026, 11, 27, 12, 0), manual=False).allowed
    assert can_sync([allow], utc(2026, 11, 27, 12, 0), manual=True).allowed
    assert can_sync([allow], utc(2026, 11, 27, 1, 30), manual=False).allowed
    # Two allows, one without manualSync: every inactive allow must allow it.
    strict = window("allow", "0 9 * * *", "8h")
    assert not can_sync([allow, strict], utc(2026, 11, 27, 20, 0), manual=True).allowed


def test_docs_no_window_allows_everything() -> None:
    assert can_sync([], utc(2026, 11, 27, 12, 0), manual=False).allowed


def test_docs_selection_by_name_cluster_or_namespace_is_ored() -> None:
    raw = {"kind": "deny", "schedule": "* * * * *", "duration": "1h"}
    by_name = parse_window(0, {**raw, "applications": ["*-prod"]})
    by_ns = parse_window(1, {**raw, "namespaces": ["default"]})
    by_cluster = parse_window(2, {**raw, "clusters": ["in-cluster"]})
    nothing = parse_window(3, raw)
    prod = AppRef("auth-service-prod", "paystream", "https://kubernetes.default.svc")
    named = AppRef("x", "other", "", cluster_name="in-cluster")
    assert matching([by_name, by_ns, by_cluster, nothing], prod) == [by_name]
    assert matching([by_name, by_ns, by_cluster, nothing], APP) == [by_ns]
    assert matching([by_name, by_ns, by_cluster, nothing], named) == [by_cluster]
    both = parse_window(4, {**raw, "applications": ["*-prod"], "namespaces": ["default"]})
    anded = parse_window(
        5, {**raw, "applications": ["*-prod"], "namespaces": ["default"], "andOperator": True}
    )
    assert matching([both, anded], prod) == [both]


# --- pkg/apis/application/v1alpha1/types_test.go -------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "zone", "at", "active"),
    [
        ("* 10 * * *", "", utc(2026, 7, 1, 11), True),  # MatchFirst
        ("* 14 * * *", "", utc(2026, 7, 1, 15), True),  # MatchSecond
        ("* 10 * * *", "", utc(2026, 7, 1, 17), False),  # MatchNone
        ("* 10 * * *", "", utc(2026, 7, 1, 13), False),  # Allow-inactive
        ("* 10 * * *", "America/New_York", utc(2026, 7, 1, 16), True),  # TimeZoneSpecified
        ("* 14 * * *", "America/New_York", utc(2026, 7, 1, 20), True),
        ("* 14 * * *", "America/New_York", utc(2026, 7, 1, 22), False),
        ("* 10 * * *", "America/New_York", utc(2026, 1, 15, 16), True),  # EST as well as EDT
        ("* 8 * * *", "Asia/Dhaka", utc(2026, 7, 1, 3), True),  # PositiveTimeZoneSpecified
    ],
)
def test_argo_cd_unit_cases(schedule: str, zone: str, at: datetime, active: bool) -> None:
    assert is_active(window("allow", schedule, "2h", timeZone=zone), at) is active


def test_argo_cd_non_utc_current_time_is_converted_first() -> None:
    # "11AM UTC is 7AM EDT": the same instant in another zone gives the same answer.
    w = window("allow", "* 10 * * *", "2h")
    assert is_active(w, datetime(2026, 7, 1, 7, tzinfo=ZoneInfo("Etc/GMT+4")))
    assert not is_active(w, datetime(2026, 7, 1, 9, tzinfo=ZoneInfo("Etc/GMT+4")))


@pytest.mark.parametrize(
    ("schedule", "duration", "field"),
    [("* 10 * * 7", "3h", "schedule"), ("* 10 * * *", "3a", "duration")],
)
def test_argo_cd_invalid_window_blocks_every_sync(schedule: str, duration: str, field: str) -> None:
    w = window("deny", schedule, duration, manualSync=True)
    assert [f for f, _ in w.errors] == [field]
    for manual in (False, True):
        decision = can_sync([w], utc(2026, 7, 1, 12), manual=manual)
        assert not decision.allowed
        assert "invalid sync window" in decision.reason


def test_an_unknown_time_zone_falls_back_to_utc_like_argo_cd() -> None:
    w = window("deny", "0 10 * * *", "1h", timeZone="America/Gotham")
    assert is_active(w, utc(2026, 7, 1, 10, 30))


def test_a_schedule_that_never_fires_is_always_active_like_argo_cd() -> None:
    # robfig's Next returns Go's zero time, which is "before" any now.
    w = window("deny", "0 0 30 2 *", "1h")
    assert is_active(w, utc(2026, 7, 1, 12))


def test_the_window_opens_just_after_its_fire_and_closes_at_fire_plus_duration() -> None:
    # Next(now - d) < now: active on the open interval (fire, fire + d).
    w = window("deny", "0 12 * * *", "1h")
    assert not is_active(w, utc(2026, 7, 1, 12, 0))
    assert is_active(w, utc(2026, 7, 1, 12, 0, 0) + timedelta(microseconds=1))
    assert is_active(w, utc(2026, 7, 1, 12, 59, 59))
    assert not is_active(w, utc(2026, 7, 1, 13, 0))


# --- daylight saving -------------------------------------------------------------------------


def test_spring_forward_shortens_a_window_that_starts_in_the_gap() -> None:
    # 2026-03-08 02:00 EST -> 03:00 EDT in New York: 02:30 never happens; the window's wall
    # interval (02:30, 03:30) exists only from 03:00 EDT (07:00 UTC) to 03:30 EDT.
    w = window("deny", "30 2 * * *", "1h", timeZone="America/New_York")
    assert not is_active(w, utc(2026, 3, 8, 6, 59))  # 01:59 EST
    assert is_active(w, utc(2026, 3, 8, 7, 15))  # 03:15 EDT
    assert not is_active(w, utc(2026, 3, 8, 7, 31))  # 03:31 EDT
    [iv] = active_intervals(w, utc(2026, 3, 8, 0), utc(2026, 3, 9, 0))
    assert (iv.start, iv.end) == (utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 7, 30))


def test_fall_back_runs_a_window_through_the_repeated_hour_twice() -> None:
    # 2026-11-01 02:00 EDT -> 01:00 EST: wall (01:00, 02:00) happens twice, 2h of real time,
    # except the one instant the clock reads 01:00 again (the fire itself: not yet active).
    w = window("deny", "0 1 * * *", "1h", timeZone="America/New_York")
    assert is_active(w, utc(2026, 11, 1, 5, 30))  # 01:30 EDT
    assert not is_active(w, utc(2026, 11, 1, 6, 0))  # 01:00 EST, the repeated fire
    assert is_active(w, utc(2026, 11, 1, 6, 30))  # 01:30 EST
    assert not is_active(w, utc(2026, 11, 1, 7, 30))  # 02:30 EST
    ivs = active_intervals(w, utc(2026, 11, 1, 0), utc(2026, 11, 2, 0))
    assert [(iv.start, iv.end) for iv in ivs] == [
        (utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 6, 0)),
        (utc(2026, 11, 1, 6, 0), utc(2026, 11, 1, 7, 0)),
    ]


def test_a_duration_is_wall_clock_time_across_a_change() -> None:
    # 48h of New York wall clock from Oct 31 00:00 EDT end Nov 2 00:00 EST: 49h of real time.
    w = window("deny", "0 0 31 10 *", "48h", timeZone="America/New_York")
    [iv] = active_intervals(w, utc(2026, 10, 30, 0), utc(2026, 11, 5, 0))
    assert (iv.start, iv.end) == (utc(2026, 10, 31, 4, 0), utc(2026, 11, 2, 5, 0))
    assert iv.end - iv.start == timedelta(hours=49)


def test_intervals_agree_with_is_active_minute_by_minute_around_both_changes() -> None:
    for schedule in ("*/20 1-3 * * *", "30 2 * * *", "0 1 * * *"):
        w = window("deny", schedule, "50m", timeZone="America/New_York")
        for day in (utc(2026, 3, 8, 4), utc(2026, 11, 1, 4)):
            ivs = active_intervals(w, day, day + timedelta(hours=6))
            t = day + timedelta(seconds=30)
            while t < day + timedelta(hours=6):
                inside = any(iv.start < t < iv.end for iv in ivs)
                assert inside == is_active(w, t), (schedule, t)
                t += timedelta(minutes=1)


def test_two_windows_opening_at_one_instant_cover_it_if_one_was_already_active() -> None:
    start, end = utc(2027, 11, 26, 5), utc(2027, 11, 30, 5)
    both = [Interval(start, end), Interval(start, end, start_closed=True)]
    assert uncovered(both, start, end) is None
    assert uncovered([Interval(start, end), Interval(start, end)], start, end) == start


def test_uncovered_finds_the_first_gap_and_the_unguarded_start_instant() -> None:
    start, end = utc(2026, 11, 27, 5), utc(2026, 12, 1, 5)
    assert uncovered([Interval(utc(2026, 11, 26, 5), utc(2026, 12, 1, 5))], start, end) is None
    assert uncovered([Interval(start, end)], start, end) == start  # open at the fire itself
    assert uncovered([Interval(start, end, start_closed=True)], start, end) is None
    assert uncovered([Interval(utc(2026, 11, 26), utc(2026, 11, 30))], start, end) == utc(
        2026, 11, 30
    )
