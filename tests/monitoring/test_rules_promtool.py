"""The rendered PrometheusRules through the real promtool: syntax, and behaviour in unit tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from paystream_auth.networks import FAILURE_OUTCOMES, failure_regex
from paystream_ops.monitoring.rule_files import RuleFile, rule_files, write_rule_files
from paystream_ops.paths import ENVIRONMENTS
from paystream_ops.render import render

from .conftest import PROMTOOL_TESTS, run, tool

SLO_RULES = "rules/PrometheusRule_auth-service-slo.yaml"
INCIDENT = "the incident pages for visa only"
OUTCOMES_FILE = "outcomes-and-success-floor.yaml"
NEW_FAILURES = "unexpected errors and a missing idempotency store are failures"


def test_base_monitoring_renders_both_prometheus_rules(rendered_rule_files: list[RuleFile]) -> None:
    assert sorted(f.source for f in rendered_rule_files) == [
        "PrometheusRule/auth-service-alerts",
        "PrometheusRule/auth-service-slo",
    ]


def test_promtool_check_rules_accepts_every_rendered_rule_file(
    tmp_path: Path, rendered_rule_files: list[RuleFile]
) -> None:
    paths = write_rule_files(rendered_rule_files, tmp_path)
    proc = run(tool("promtool"), "check", "rules", *paths)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("SUCCESS") == len(paths)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_overlay_ships_the_same_rules_promtool_accepts(
    env: str, root: Path, tmp_path: Path, rendered_rule_files: list[RuleFile]
) -> None:
    shipped = rule_files(render(root / "overlays" / env))
    assert [f.groups for f in shipped] == [f.groups for f in rendered_rule_files]
    proc = run(tool("promtool"), "check", "rules", *write_rule_files(shipped, tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_check_rules_rejects_a_broken_expression(
    tmp_path: Path, rendered_rule_files: list[RuleFile]
) -> None:
    (path,) = write_rule_files(rendered_rule_files[:1], tmp_path)
    text = path.read_text()
    broken = text.replace("sum by (", "sum by ((", 1)
    assert broken != text
    path.write_text(broken)
    proc = run(tool("promtool"), "check", "rules", path)
    assert proc.returncode != 0
    assert "parse error" in proc.stdout + proc.stderr


@pytest.mark.parametrize("test_file", PROMTOOL_TESTS, ids=lambda p: p.stem)
def test_promtool_unit_tests_pass(test_file: Path, promtool_dir: Path) -> None:
    proc = run(tool("promtool"), "test", "rules", test_file.name, cwd=promtool_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def _failing_tests(promtool_dir: Path, test_file: str, *names: str) -> set[str]:
    """Run only the named test groups of `test_file` on the mutated rules (promtool evaluates
    every group over its whole series, so the others would only cost time); return the names
    of the groups that failed."""
    doc = yaml.safe_load((promtool_dir / test_file).read_text())
    doc["tests"] = [group for group in doc["tests"] if group["name"] in names]
    assert sorted(group["name"] for group in doc["tests"]) == sorted(names)
    selected = promtool_dir / f"selected-{test_file}"
    selected.write_text(yaml.safe_dump(doc, sort_keys=False, width=10_000))
    proc = run(tool("promtool"), "test", "rules", selected.name, cwd=promtool_dir)
    assert proc.returncode != 0, "the mutated rules still pass: the test proves nothing"
    return set(re.findall(r"name: (.+?),\n", proc.stdout + proc.stderr))


def test_without_the_minimum_failure_guard_the_quiet_night_would_page(
    promtool_dir: Path,
) -> None:
    slo = promtool_dir / SLO_RULES
    text = slo.read_text()
    guard = re.compile(r">= 10(?!\d)")  # not the floor's `>= 100`
    assert len(guard.findall(text)) == 16, "one guard per burn alert"
    slo.write_text(guard.sub(">= 0", text))
    quiet_night = "a quiet night with two timeouts stays silent"
    failing = _failing_tests(promtool_dir, "availability-burn.yaml", quiet_night)
    assert quiet_night in failing


def test_counting_declines_as_failures_would_page_on_six_percent_declines(
    promtool_dir: Path,
) -> None:
    slo = promtool_dir / SLO_RULES
    text = slo.read_text()
    failed = f'outcome=~"{failure_regex()}"'
    assert failed in text
    slo.write_text(text.replace(failed, f'outcome=~"{failure_regex()}|declined"'))
    declines = "six percent declines are answers, not failures"
    failing = _failing_tests(promtool_dir, "availability-burn.yaml", declines, INCIDENT)
    assert {declines, INCIDENT} <= failing


def test_a_global_only_alert_would_miss_the_visa_incident(promtool_dir: Path) -> None:
    """Drop the per-network burn alerts: the 3% Visa incident no longer pages at all."""
    slo = promtool_dir / SLO_RULES
    doc = yaml.safe_load(slo.read_text())
    removed = 0
    for group in doc["groups"]:
        kept = [
            r
            for r in group["rules"]
            if not (
                r.get("alert") == "PaystreamAuthAvailabilityBudgetBurn"
                and r["expr"].startswith("network:")
            )
        ]
        removed += len(group["rules"]) - len(kept)
        group["rules"] = kept
    assert removed == 4
    slo.write_text(yaml.safe_dump(doc, sort_keys=False))
    failing = _failing_tests(promtool_dir, "availability-burn.yaml", INCIDENT)
    assert INCIDENT in failing


def test_without_the_canary_traffic_guard_a_pause_before_traffic_would_page(
    promtool_dir: Path,
) -> None:
    """Keep only the Paused phase: a pause at weight 0 (no canary requests) would page."""
    alerts = promtool_dir / "rules/PrometheusRule_auth-service-alerts.yaml"
    doc = yaml.safe_load(alerts.read_text())
    cut = 0
    for group in doc["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "PaystreamAuthCanaryPausedTooLong":
                paused, _, guard = rule["expr"].partition("and on (namespace)")
                assert 'role="canary"' in guard
                rule["expr"] = paused
                cut += 1
    assert cut == 1
    alerts.write_text(yaml.safe_dump(doc, sort_keys=False))
    groups = yaml.safe_load((promtool_dir / "canary-paused.yaml").read_text())["tests"]
    failing = _failing_tests(promtool_dir, "canary-paused.yaml", *(g["name"] for g in groups))
    assert failing == {"a pause before the canary serves traffic stays silent"}


def test_the_rules_count_exactly_the_service_failure_set(promtool_dir: Path) -> None:
    """The SLO rules read `FAILURE_OUTCOMES`; with the set of before 0070/0071, the new
    outcomes would not count and neither network would page."""
    slo = promtool_dir / SLO_RULES
    text = slo.read_text()
    failed = f'outcome=~"{failure_regex()}"'
    assert text.count(failed) == 7, "one failure selector per SLI window"
    old = [o for o in FAILURE_OUTCOMES if o not in ("unexpected_error", "idempotency_unavailable")]
    slo.write_text(text.replace(failed, f'outcome=~"{"|".join(old)}"'))
    # Only that group runs, and promtool must fail it (its expression tests print no name).
    _failing_tests(promtool_dir, OUTCOMES_FILE, NEW_FAILURES)


def test_without_the_minimum_traffic_guard_a_quiet_night_breaches_the_floor(
    promtool_dir: Path,
) -> None:
    slo = promtool_dir / SLO_RULES
    text = slo.read_text()
    assert text.count(" * 1800 >= 100") == 2, "one guard per floor alert"
    slo.write_text(text.replace(" * 1800 >= 100", " * 1800 >= 0"))
    quiet = "a quiet night with a few declines stays silent"
    assert quiet in _failing_tests(promtool_dir, OUTCOMES_FILE, quiet)


def test_a_floor_that_counted_invalid_requests_would_page_on_a_client_flood(
    promtool_dir: Path,
) -> None:
    """Eligible excludes `invalid`; counting it, 2000 bad requests a minute drag Visa to 32%."""
    slo = promtool_dir / SLO_RULES
    text = slo.read_text()
    eligible = 'outcome!="invalid"'
    assert eligible in text
    slo.write_text(text.replace(eligible, 'outcome!="none"'))
    everyday = "everyday declines and invalid requests stay above the floor"
    assert everyday in _failing_tests(promtool_dir, OUTCOMES_FILE, everyday)
