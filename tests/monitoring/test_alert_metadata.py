"""Every alert is actionable: severity, team, summary, a description with values, a runbook
section that exists and a link to the dashboard that exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from paystream_ops.dashboards.slo import BURN_TIERS, DASHBOARD_UID, RUNBOOK_URL, windows
from paystream_ops.monitoring.rules import Rule

SEVERITIES = {"page", "ticket"}


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub generates for headings: lowercase, punctuation dropped, spaces -> -."""
    anchors = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", markdown, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


@pytest.fixture(scope="module")
def alerts(all_rules: list[Rule]) -> list[Rule]:
    found = [r for r in all_rules if r.kind == "alert"]
    assert found
    return found


def test_the_required_alerts_exist(alerts: list[Rule]) -> None:
    assert {a.name for a in alerts} == {
        "PaystreamAuthAvailabilityBudgetBurn",
        "PaystreamAuthLatencyBudgetBurn",
        "PaystreamAuthCircuitBreakerOpen",
        "PaystreamAuthCanaryFailing",
        "PaystreamAuthScrapeTargetMissing",
        "PaystreamAuthPodsNotReady",
        "PaystreamAuthRolloutAborted",
    }


def test_every_alert_has_a_routable_severity_and_team(alerts: list[Rule]) -> None:
    for alert in alerts:
        assert alert.labels.get("severity") in SEVERITIES, alert.source
        assert alert.labels.get("team") == "paystream", alert.source


def test_every_alert_explains_itself_with_values(alerts: list[Rule]) -> None:
    for alert in alerts:
        for key in ("summary", "description", "runbook_url", "dashboard_url"):
            assert alert.annotations.get(key), f"{alert.source}: no {key}"
        if alert.expr.startswith("absent("):
            continue  # nothing to quote: the alert is the absence of every series
        assert re.search(r"\$value|\$labels", alert.annotations["description"]), alert.source


def test_every_runbook_url_points_at_a_section_of_runbook_md(
    alerts: list[Rule], root: Path
) -> None:
    anchors = github_anchors((root / "RUNBOOK.md").read_text())
    for alert in alerts:
        url = alert.annotations["runbook_url"]
        assert url.startswith(f"{RUNBOOK_URL}#"), alert.source
        assert url.split("#", 1)[1] in anchors, f"{alert.source}: RUNBOOK.md has no {url}"


def test_the_anchor_check_rejects_a_missing_section() -> None:
    assert "paystreamauthcanaryfailing" in github_anchors("## PaystreamAuthCanaryFailing\n")
    assert "paystreamauthcanaryfailing" not in github_anchors("## Canary failing\n")


def test_every_dashboard_url_opens_the_committed_dashboard(alerts: list[Rule], root: Path) -> None:
    dashboard = json.loads(
        (root / "base/monitoring/dashboards/paystream-auth-service.json").read_text()
    )
    assert dashboard["uid"] == DASHBOARD_UID
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for alert in alerts:
        url = alert.annotations["dashboard_url"]
        assert f"/d/{DASHBOARD_UID}/" in url, alert.source
        for name in re.findall(r"var-([a-z_]+)=", url):
            assert name in variables, f"{alert.source}: the dashboard has no ${name}"


def test_burn_tiers_spend_the_budget_shares_of_the_sre_workbook() -> None:
    spent = {(t.severity, t.long_window): round(t.budget_spent_percent, 6) for t in BURN_TIERS}
    assert spent == {
        ("page", "1h"): 2.0,
        ("page", "6h"): 5.0,
        ("ticket", "1d"): 10.0,
        ("ticket", "3d"): 10.0,
    }
    for tier in BURN_TIERS:
        assert windows().index(tier.short_window) < windows().index(tier.long_window)
