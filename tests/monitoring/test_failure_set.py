"""The failure set has one home, `paystream_auth.networks.FAILURE_OUTCOMES`: every failure
selector in the repository (rules, analysis templates, dashboards, runbook, docs) is exactly it."""

from __future__ import annotations

import re
from pathlib import Path

from paystream_auth.networks import FAILURE_OUTCOMES, OUTCOMES, failure_regex
from paystream_ops.dashboards.slo import FAILED_OUTCOMES

from .conftest import HERE

ROOT = HERE.parent.parent
SEARCHED = ("base", "overlays", "apps", "docs", "scripts/src", "service/src")
DOCUMENTS = ("README.md", "RUNBOOK.md", "DESIGN.md")
# A regex selector on `outcome` that names a failure: `outcome=~"processor_error|timeout"`.
SELECTOR = re.compile(r'outcome\s*=~\s*\\?"([a-z_|]*timeout[a-z_|]*)\\?"')


def failure_selectors(text: str) -> list[str]:
    return SELECTOR.findall(text)


def repository_texts() -> dict[Path, str]:
    paths = [ROOT / name for name in DOCUMENTS]
    for folder in SEARCHED:
        paths += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.suffix in (".yaml", ".json", ".md", ".py") and p.is_file()
        ]
    return {p.relative_to(ROOT): p.read_text() for p in paths}


def test_the_failure_set_is_known_outcomes_and_the_slo_spec_reads_it() -> None:
    assert set(FAILURE_OUTCOMES) <= set(OUTCOMES)
    assert tuple(FAILURE_OUTCOMES) == FAILED_OUTCOMES
    assert failure_regex().split("|") == list(FAILURE_OUTCOMES)


def test_every_failure_selector_in_the_repository_is_the_failure_set() -> None:
    found = {
        (str(path), selector)
        for path, text in repository_texts().items()
        for selector in failure_selectors(text)
    }
    assert found, "no failure selector found: the pattern no longer matches the queries"
    assert {s for _, s in found} == {failure_regex()}, sorted(
        (p, s) for p, s in found if s != failure_regex()
    )


def test_a_stale_copy_of_the_failure_set_is_caught() -> None:
    stale = 'rate(requests_total{outcome=~"processor_error|timeout|circuit_open"}[5m])'
    escaped = stale.replace('"', '\\"')  # as in the dashboard JSON
    assert failure_selectors(stale) == ["processor_error|timeout|circuit_open"]
    assert failure_selectors(escaped) == ["processor_error|timeout|circuit_open"]
    assert failure_selectors('outcome!="invalid"') == []
