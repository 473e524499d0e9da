"""The validator's freeze check on small AppProjects: the window defects the fixtures under
tests/manifests/invalid/freeze-* do not already show, and the date rule for the peaks."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from paystream_ops.validate.checks import Settings, TargetContext, freeze
from paystream_ops.validate.model import Rendered, Target

PEAKS = (
    "- {name: bf-2026, first-day: 2026-11-27, last-day: 2026-11-30, time-zone: America/New_York}\n"
    "- {name: bf-2027, first-day: 2027-11-26, last-day: 2027-11-29, time-zone: America/New_York}\n"
)
ROLE = {
    "name": "break-glass",
    "groups": ["oncall"],
    "policies": ["p, proj:p:break-glass, applications, sync, p/*, allow"],
}
GOOD = {
    "kind": "deny",
    "schedule": "0 0 20 11 *",
    "duration": "360h",
    "timeZone": "America/New_York",
    "manualSync": True,
    "applications": ["*"],
}


def lines(windows: list[dict[str, Any]], today: date = date(2026, 12, 4)) -> list[str]:
    project = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "p", "annotations": {"paystream.io/peak-periods": PEAKS}},
        "spec": {"syncWindows": windows, "roles": [ROLE]},
    }
    app = {
        "kind": "Application",
        "metadata": {"name": "svc"},
        "spec": {"project": "p", "source": {"path": "overlays/prod"}, "destination": {}},
    }
    rendered = Rendered(Target("clusters/prod", Path("clusters/prod")), [project, app])
    ctx = TargetContext(rendered, Settings(root=Path(), exported_metrics=frozenset()))
    return [p.line() for p in freeze.check(ctx, today)]


def test_a_good_freeze_passes() -> None:
    assert lines([GOOD]) == []


def test_a_stated_zone_is_required() -> None:
    [line] = lines([{**GOOD, "timeZone": ""}])
    assert "spec.syncWindows[0].timeZone: missing: state the zone" in line


def test_a_window_that_never_fires_is_always_active_and_refused() -> None:
    found = lines([GOOD, {**GOOD, "schedule": "0 0 30 2 *"}])
    assert any("syncWindows[1].schedule: '0 0 30 2 *' never fires" in x for x in found)


def test_a_window_that_names_nothing_and_a_zero_duration_are_refused() -> None:
    found = lines([GOOD, {**GOOD, "applications": []}, {**GOOD, "duration": "0"}])
    assert any("syncWindows[1]: names no applications" in x for x in found)
    assert any("syncWindows[2].duration: 0: never active" in x for x in found)


def test_a_peak_in_the_past_is_not_enough_once_it_is_over() -> None:
    assert lines([GOOD], today=date(2026, 11, 30)) == []
    [line] = lines([GOOD], today=date(2027, 12, 1))
    assert "does not list Black Friday to Cyber Monday 2028" in line
