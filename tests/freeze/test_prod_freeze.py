"""The issue's "done when", on the real prod AppProject as kustomize renders it: at 12:00 New
York time on this year's Black Friday an automated sync of the service is denied and a manual
one is allowed, and `paystream-ops freeze` says so. Staging is never frozen."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from paystream_ops.cli import main
from paystream_ops.freeze.cluster import load_cluster, service_application
from paystream_ops.freeze.gate import all_freezes, service_freeze
from paystream_ops.freeze.peaks import black_friday
from paystream_ops.freeze.syncwindows import can_sync

pytestmark = pytest.mark.integration  # renders with the pinned kubectl

REPO = Path(__file__).resolve().parents[2]
NY = ZoneInfo("America/New_York")
THIS_YEAR = 2026  # today is 2026-12-04: this year's Black Friday was 2026-11-27
NOON = datetime.combine(black_friday(THIS_YEAR), datetime.min.time(), NY).replace(hour=12)


def test_black_friday_noon_new_york_denies_automated_and_allows_manual_sync() -> None:
    assert NOON.date().isoformat() == "2026-11-27"
    cluster = load_cluster(REPO, "prod")
    app = service_application(cluster)
    assert app["metadata"]["name"] == "auth-service-prod"
    windows = cluster.windows_for(app)
    assert not can_sync(windows, NOON, manual=False).allowed
    assert can_sync(windows, NOON, manual=True).allowed
    # A week later the same project lets it sync again.
    assert can_sync(windows, NOON.replace(day=4, month=12), manual=False).allowed


def test_every_prod_application_but_root_is_frozen_and_none_loses_manual_sync() -> None:
    freezes = {f.app: f for f in all_freezes(load_cluster(REPO, "prod"), NOON)}
    assert not freezes.pop("root").frozen  # root applies a reviewed change to the freeze
    assert freezes and all(f.frozen and f.manual.allowed for f in freezes.values())


def test_the_tooling_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--repo", str(REPO), "--at", "2026-11-27T12:00", "--tz", "America/New_York"]
    code = main(["freeze", *args, "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["at"] == "2026-11-27T17:00:00+00:00"
    assert data["frozen"] is True
    assert data["automated_sync"]["allowed"] is False
    assert data["manual_sync"]["allowed"] is True
    assert data["current"]["end"] == "2026-12-01T05:00:00+00:00"  # end of Cyber Monday, NY
    assert data["next"]["start"].startswith("2027-11-25")
    main(["freeze", "--repo", str(REPO), "--at", "2026-11-27T17:00Z", "--tz", "Europe/Berlin"])
    text = capsys.readouterr().out
    assert "2026-11-27 18:00 CET (2026-11-27 17:00 UTC): FROZEN" in text
    assert "a manual sync is allowed" in text


def test_staging_is_not_frozen(capsys: pytest.CaptureFixture[str]) -> None:
    cluster = load_cluster(REPO, "staging")
    assert service_freeze(cluster, NOON).automated.allowed
    assert all(not f.frozen for f in all_freezes(cluster, NOON))


def test_a_bad_time_is_one_line_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["freeze", "--repo", str(REPO), "--at", "Black Friday"]) == 2
    assert capsys.readouterr().err.startswith("paystream-ops freeze: error: --at:")
