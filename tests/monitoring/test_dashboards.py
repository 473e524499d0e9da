"""Dashboards and SLO rules as code: the committed files are what the generator builds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from paystream_ops.cli import main
from paystream_ops.dashboards.analysis import analysis_queries, fill_args
from paystream_ops.dashboards.dashboard import dashboard_query
from paystream_ops.dashboards.generate import (
    ANALYSIS_SOURCE,
    DASHBOARD_PATH,
    SLO_RULE_PATH,
    artifacts_for,
    deciding_queries,
    stale,
    write,
)
from paystream_ops.errors import UserError
from paystream_ops.judge.template import network_of, per_signal
from paystream_ops.render import K8sObject, render


@pytest.fixture(scope="module")
def dashboard(root: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((root / DASHBOARD_PATH).read_text())
    return loaded


def test_committed_dashboard_and_slo_rules_are_not_stale(root: Path) -> None:
    outdated = stale(root, artifacts_for(root))
    assert not outdated, f"run `make dashboards` and commit: {outdated}"


def test_a_hand_edited_artifact_is_reported_stale_and_regenerated(
    root: Path, tmp_path: Path
) -> None:
    artifacts = artifacts_for(root)
    write(tmp_path, artifacts)
    assert stale(tmp_path, artifacts) == []
    target = tmp_path / SLO_RULE_PATH
    target.write_text(target.read_text().replace("(14.4 * 0.001)", "(20 * 0.001)"))
    assert stale(tmp_path, artifacts) == [SLO_RULE_PATH]
    assert write(tmp_path, artifacts) == [SLO_RULE_PATH]
    assert stale(tmp_path, artifacts) == []


def test_the_cli_check_exits_1_on_a_stale_dashboard(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "repo"
    for part in ("base", "overlays"):
        shutil.copytree(root / part, copy / part)
    assert main(["dashboards", "--repo", str(copy), "--check"]) == 0
    dashboard_file = copy / DASHBOARD_PATH
    dashboard_file.write_text(dashboard_file.read_text().replace("Requests per second", "RPS"))
    assert main(["dashboards", "--repo", str(copy), "--check"]) == 1
    assert f"{DASHBOARD_PATH}: stale" in capsys.readouterr().out
    assert main(["dashboards", "--repo", str(copy)]) == 0
    assert main(["dashboards", "--repo", str(copy), "--check"]) == 0


def test_the_configmap_delivers_the_dashboard_to_the_grafana_sidecar(
    monitoring_objects: list[K8sObject], root: Path
) -> None:
    (configmap,) = [o for o in monitoring_objects if o["kind"] == "ConfigMap"]
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["metadata"]["name"] == "grafana-dashboard-paystream-auth-service"
    assert configmap["data"]["paystream-auth-service.json"] == (root / DASHBOARD_PATH).read_text()


def _targets(dashboard: dict[str, object]) -> list[str]:
    panels = dashboard["panels"]
    assert isinstance(panels, list)
    return [t["expr"] for p in panels for t in p.get("targets") or []]


def test_the_canary_panels_run_the_exact_analysis_queries(
    root: Path, dashboard: dict[str, object]
) -> None:
    """One panel per signal, every network's line: the query each network's metric runs, with
    its network matcher widened (and nothing else changed)."""
    everything = analysis_queries(render(root / ANALYSIS_SOURCE))
    queries = deciding_queries(render(root / ANALYSIS_SOURCE))
    assert 0 < len(queries) < len(everything)  # the figures draw no panel
    exprs = _targets(dashboard)
    assert not [q.metric for q in everything if q not in queries and dashboard_query(q) in exprs]
    panels = per_signal(queries)
    assert {q.metric for q in panels} == {"failures", "approvals", "latency"}
    for panel in panels:
        assert dashboard_query(panel) in exprs, panel.metric
    for query in queries:
        named = network_of(query.metric)
        assert named is not None, query.metric
        (panel,) = [p for p in panels if p.metric == named[1]]
        assert query.query.replace(f'network="{named[0]}"', 'network!="unknown"') == panel.query


def test_the_dashboard_has_the_panels_the_on_call_needs(dashboard: dict[str, object]) -> None:
    panels = dashboard["panels"]
    assert isinstance(panels, list)
    titles = " | ".join(str(p["title"]) for p in panels)
    for needle in (
        "Requests per second by card network",
        "Outcome mix",
        "Latency percentiles",
        "canary vs stable",
        "burn rate",
        "Circuit breaker state",
        "Rollout phase",
    ):
        assert needle in titles
    annotations = dashboard["annotations"]
    assert isinstance(annotations, dict)
    assert any("rollout_events_total" in a.get("expr", "") for a in annotations["list"])
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))


def test_an_analysis_query_without_a_value_for_an_arg_is_a_user_error() -> None:
    with pytest.raises(UserError, match=r"args\.window"):
        fill_args("rate(x[{{args.window}}])", {}, where="t")
    assert fill_args("rate(x[{{ args.window }}])", {"window": "1m"}) == "rate(x[1m])"
