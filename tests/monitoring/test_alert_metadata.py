"""Every alert is actionable: severity, team, summary, a description with values, a runbook
section that exists and a link to the dashboard that exists."""

from __future__ import annotations

import itertools
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from paystream_ops.dashboards.slo import BURN_TIERS, DASHBOARD_UID, RUNBOOK_URL, windows
from paystream_ops.monitoring.promql import selectors
from paystream_ops.monitoring.rule_files import Rule, rule_files, rules
from paystream_ops.validate.metrics import service_metrics

SEVERITIES = {"page", "ticket"}

# github-slugger (the rules GitHub applies to heading text) deletes these Unicode general
# categories, except the space (it becomes "-"), "-" and alphabetic characters: other numbers,
# every punctuation but connector punctuation ("_"), symbols, controls, format, private-use and
# unassigned code points, and separators.
_SLUG_DROPPED_CATEGORIES = frozenset(
    {"No", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So"}
    | {"Cc", "Cf", "Co", "Cn", "Zs", "Zl", "Zp"}
)
# Series the runbook may query that neither the service nor our rules produce.
EXTERNAL_SERIES = frozenset({"up", "kube_pod_status_ready", "rollout_info", "rollout_events_total"})


def github_slug(text: str) -> str:
    """The anchor GitHub gives a heading whose rendered text is `text` (before de-duplication)."""
    kept = (
        ch
        for ch in text.lower()
        if ch in " -" or ch.isalpha() or unicodedata.category(ch) not in _SLUG_DROPPED_CATEGORIES
    )
    return "".join(kept).replace(" ", "-")


def _heading_text(inline: Token) -> str:
    """What the heading renders as text: code spans keep their content, markup and HTML tags
    (and image alt text, an attribute) do not count."""
    parts: list[str] = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub generates for the headings of a Markdown document.

    Headings are found by a CommonMark parser, so `#` lines inside code blocks are not headings,
    setext headings are, and closing `#`s are dropped. Each heading's text is slugged with
    github-slugger's rules, and a repeated slug gets `-1`, `-2`... as on GitHub.
    """
    tokens = MarkdownIt("commonmark").parse(markdown)
    occurrences: dict[str, int] = {}
    anchors: set[str] = set()
    for opening, inline in itertools.pairwise(tokens):
        if opening.type != "heading_open":
            continue
        original = slug = github_slug(_heading_text(inline))
        while slug in occurrences:
            occurrences[original] += 1
            slug = f"{original}-{occurrences[original]}"
        occurrences[slug] = 0
        anchors.add(slug)
    return anchors


def missing_runbook_sections(alerts: Iterable[Rule], markdown: str) -> list[str]:
    """One problem per alert whose runbook_url is not a section of RUNBOOK.md."""
    anchors = github_anchors(markdown)
    problems: list[str] = []
    for alert in alerts:
        url = alert.annotations.get("runbook_url", "")
        document, _, anchor = url.partition("#")
        if document != RUNBOOK_URL or not anchor:
            problems.append(f"{alert.source}: runbook_url {url!r} is not {RUNBOOK_URL}#<section>")
        elif anchor not in anchors:
            problems.append(f"{alert.source}: RUNBOOK.md has no section #{anchor}")
    return problems


def repository_prometheus_rules(root: Path) -> Iterator[tuple[Path, dict[str, object]]]:
    """Every PrometheusRule document in the repository's YAML, whether or not a kustomization
    includes it (tests/ and hidden directories such as .venv are skipped)."""
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(
            d
            for d in subdirectories
            if not d.startswith(".") and Path(directory, d) != root / "tests"
        )
        for name in sorted(files):
            if not name.endswith((".yaml", ".yml")):
                continue
            path = Path(directory, name)
            for document in yaml.safe_load_all(path.read_text()):
                if isinstance(document, dict) and document.get("kind") == "PrometheusRule":
                    yield path.relative_to(root), document


@pytest.fixture(scope="module")
def alerts(all_rules: list[Rule]) -> list[Rule]:
    found = [r for r in all_rules if r.kind == "alert"]
    assert found
    return found


def test_the_required_alerts_exist(alerts: list[Rule]) -> None:
    assert {a.name for a in alerts} == {
        "PaystreamAuthAvailabilityBudgetBurn",
        "PaystreamAuthLatencyBudgetBurn",
        "PaystreamAuthSuccessRateBelowFloor",
        "PaystreamAuthCircuitBreakerOpen",
        "PaystreamAuthCanaryFailing",
        "PaystreamAuthCanaryDeclining",
        "PaystreamAuthScrapeTargetMissing",
        "PaystreamAuthTrafficStopped",
        "PaystreamAuthPodsNotReady",
        "PaystreamAuthRolloutAborted",
        "PaystreamAuthIdempotencyStoreFailing",
        "PaystreamAuthReversalFailed",
        "PaystreamAuthCanaryPausedTooLong",
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


@pytest.fixture(scope="module")
def repository_alerts(root: Path) -> list[Rule]:
    found = [
        r
        for r in rules(rule_files(doc for _, doc in repository_prometheus_rules(root)))
        if r.kind == "alert"
    ]
    assert found
    return found


def test_every_prometheusrule_file_is_checked(root: Path) -> None:
    paths = {str(path) for path, _ in repository_prometheus_rules(root)}
    assert {
        "base/monitoring/prometheusrule-auth-service-alerts.yaml",
        "base/monitoring/prometheusrule-auth-service-slo.yaml",
    } <= paths


def test_every_runbook_url_points_at_a_section_of_runbook_md(
    alerts: list[Rule], repository_alerts: list[Rule], root: Path
) -> None:
    markdown = (root / "RUNBOOK.md").read_text()
    assert missing_runbook_sections([*alerts, *repository_alerts], markdown) == []


def test_an_alert_whose_runbook_section_does_not_exist_is_reported() -> None:
    def alert(name: str, url: str) -> Rule:
        return Rule(
            f"PrometheusRule/ns/x groups[0].rules[0] ({name})",
            "alert",
            name,
            "up == 0",
            {},
            {"runbook_url": url},
        )

    markdown = "# Runbook\n\n## Alerts\n\n### PaystreamAuthCanaryFailing\n"
    problems = missing_runbook_sections(
        [
            alert("PaystreamAuthCanaryFailing", f"{RUNBOOK_URL}#paystreamauthcanaryfailing"),
            alert("PaystreamAuthNewAlert", f"{RUNBOOK_URL}#paystreamauthnewalert"),
            alert("PaystreamAuthElsewhere", "https://wiki.example/runbook#paystreamauthelsewhere"),
            alert("PaystreamAuthNoAnchor", RUNBOOK_URL),
        ],
        markdown,
    )
    assert len(problems) == 3
    assert (
        "(PaystreamAuthNewAlert): RUNBOOK.md has no section #paystreamauthnewalert" in problems[0]
    )
    assert "(PaystreamAuthElsewhere)" in problems[1]
    assert "(PaystreamAuthNoAnchor)" in problems[2]


@pytest.mark.parametrize(
    ("markdown", "anchor"),
    [
        ("## PaystreamAuthCanaryFailing\n", "paystreamauthcanaryfailing"),
        (
            "## Inconclusive: what it means and how to decide\n",
            "inconclusive-what-it-means-and-how-to-decide",
        ),
        ("## Roll back with `git revert`\n", "roll-back-with-git-revert"),
        (
            "## Secrets: rotation (and failures) -- ESO/Vault\n",
            "secrets-rotation-and-failures----esovault",
        ),
        ("## [Abort](#x) a *canary*\n", "abort-a-canary"),
        ("## snake_case_name stays\n", "snake_case_name-stays"),
        ("## Closing hashes ##\n", "closing-hashes"),
        ("Setext heading\n--------------\n", "setext-heading"),
        ("## Über-Prüfung 2\n", "über-prüfung-2"),
        ("## Dup\n## Dup\n## Dup\n", "dup-2"),
    ],
)
def test_anchors_follow_githubs_slug_rules(markdown: str, anchor: str) -> None:
    assert anchor in github_anchors(markdown)


def test_lines_that_only_look_like_headings_are_not_anchors() -> None:
    markdown = "```sh\n# PaystreamAuthCanaryFailing\n```\n\n    # indented code\n#nospace\n"
    assert github_anchors(markdown) == set()


def test_every_promql_block_in_runbook_md_parses_and_reads_known_series(
    all_rules: list[Rule], root: Path
) -> None:
    markdown = (root / "RUNBOOK.md").read_text()
    blocks = [
        t.content
        for t in MarkdownIt("commonmark").parse(markdown)
        if t.type == "fence" and t.info.strip() == "promql"
    ]
    assert blocks, "RUNBOOK.md has no ```promql blocks"
    known = (
        service_metrics(root)[0]
        | {r.name for r in all_rules if r.kind == "record"}
        | EXTERNAL_SERIES
    )
    for block in blocks:
        for selector in selectors(block, where=f"RUNBOOK.md: {block.strip()[:60]}"):
            name = selector.split("{", 1)[0]
            assert name in known, f"RUNBOOK.md reads {name!r}, which nothing produces: {block}"


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
