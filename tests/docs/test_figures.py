"""One home per measured figure: docs/figures.md is written only by the measuring commands
(`--record-figures`), each section says which command wrote it, and no other page restates a
figure measured there. Each check has a negative case."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from paystream_ops.errors import UserError
from paystream_ops.figures import catalogue, page, record, restated
from paystream_ops.figures.bench_section import bench_section
from paystream_ops.figures.hostile_section import hostile_section
from paystream_ops.figures.lab_sections import repeated_runs, single_run
from paystream_ops.figures.provenance import Provenance

REPO = Path(__file__).resolve().parents[2]
FIGURES = REPO / catalogue.PAGE_PATH
WHEN = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
ORIGIN = Provenance("paystream-ops lab --record-figures", WHEN, "abc1234", dirty=False)


def pages() -> list[Path]:
    """Every page a reader may take a figure from, except the figures page itself."""
    named = [
        REPO / name
        for name in (
            "README.md",
            "DESIGN.md",
            "RUNBOOK.md",
            "CONTRIBUTING.md",
            ".github/pull_request_template.md",
            "scripts/src/paystream_ops/lab/scenarios/README.md",
        )
    ]
    docs = sorted((REPO / "docs").rglob("*.md"))
    return [path for path in [*named, *docs] if path.is_file() and path != FIGURES]


def yaml_files() -> list[Path]:
    return sorted(p for folder in ("base", "overlays") for p in (REPO / folder).rglob("*.y*ml"))


def lab_result(seed: int = 1, verdict: str = "aborted", affected: int = 12) -> dict[str, Any]:
    """The shape `paystream_ops.lab.report.result_json` writes, with the fields a section reads."""
    return {
        "scenario": "incident-visa-timeouts",
        "overlay": "overlays/prod",
        "seed": seed,
        "expected": {"verdict": "aborted"},
        "matched_expectation": verdict == "aborted",
        "verdict": verdict,
        "decided_by": "background analysis",
        "message": 'Metric "visa-failures" assessed Failed',
        "deciding_metrics": ["visa-failures"],
        "decided_at_step": 1,
        "decided_after_first_traffic_seconds": 25.0 if seed % 2 else 55.0,
        "analysis_intervals_to_decision": 0.83,
        "canary_exposure_seconds": 25.0,
        "affected_transactions": affected,
        "affected": {"failures": affected - 2, "declines": 2, "slow": 0},
        "bars": {"visa-failures": 4.61, "visa-approvals": 4.61, "visa-latency": 5.0},
        "canary_transactions": 1234,
        "canary_failures": 20,
        "total_transactions": 45678,
        "rate": {"achieved_per_second": 299.5, "target_per_second": 300.0, "sustained": True},
        "time_scale": 10.0,
        "wall_seconds": 28.4,
        "per_network": [
            {
                "network": "visa",
                "canary_requests": 600,
                "canary_failures": 19,
                "stable_requests": 5400,
                "stable_failures": 8,
                "excess_failures": 18.1,
            }
        ],
        "measurements": [
            {"metric": "visa-failures", "phase": "Failed", "value": "[9.31]"},
            {"metric": "visa-approvals", "phase": "Successful", "value": "[1.2]"},
            {"metric": "visa-latency", "phase": "Error", "value": ""},
        ],
    }


# --- The page --------------------------------------------------------------------------------


def test_replacing_a_section_keeps_every_other_section() -> None:
    first = page.replace_section("", "bench", "## Service benchmark\n\nold figures\n")
    second = page.replace_section(first, "lab/prod/healthy", "## Scenario healthy\n\nnew\n")
    assert page.parse_sections(second)["bench"].strip().endswith("old figures")
    third = page.replace_section(second, "bench", "## Service benchmark\n\nnew figures\n")
    sections = page.parse_sections(third)
    assert sections["bench"].strip().endswith("new figures")
    assert sections["lab/prod/healthy"].strip().endswith("new")
    assert "old figures" not in third


def test_a_listed_section_never_measured_says_which_command_to_run() -> None:
    text = page.render_page({})
    for section in catalogue.SECTIONS:
        body = page.parse_sections(text)[section.key]
        assert f"Not yet measured on this code: run `{section.command}`." in body
    measured = page.replace_section(text, "bench", "## Service benchmark\n\nfigures\n")
    assert "run `make bench`" not in measured


def test_a_run_the_catalogue_does_not_list_is_kept_after_the_listed_ones() -> None:
    text = page.replace_section("", "lab/prod/healthy/x5", "## Other run\n\nfive runs\n")
    keys = list(page.parse_sections(text))
    assert keys[-1] == "lab/prod/healthy/x5"
    assert keys[: len(catalogue.SECTIONS)] == [s.key for s in catalogue.SECTIONS]


def test_a_section_that_appears_twice_is_refused() -> None:
    block = "<!-- figures:begin bench -->\nx\n<!-- figures:end bench -->\n"
    with pytest.raises(UserError, match="bench appears twice"):
        page.parse_sections(block + block)


def test_the_committed_figures_page_is_exactly_what_the_generator_writes() -> None:
    text = FIGURES.read_text(encoding="utf-8")
    sections = page.parse_sections(text)
    assert page.render_page(sections) == text, "docs/figures.md was edited by hand"
    for key, body in sections.items():
        measured = "Not yet measured on this code" not in body
        assert not measured or "_Written by `" in body, f"{key}: no line saying who wrote it"
    for section in catalogue.SECTIONS:
        assert sections[section.key].startswith(page.heading(section) + "\n"), section.key
    hand_edited = text.replace("Every figure the canary lab", "Every figure we", 1)
    assert page.render_page(page.parse_sections(hand_edited)) != hand_edited


def test_lab_keys_name_the_overlay_scenario_rate_and_runs() -> None:
    assert catalogue.lab_key("prod", "healthy") == "lab/prod/healthy"
    assert catalogue.lab_key("prod", "healthy", runs=20) == "lab/prod/healthy/x20"
    assert catalogue.lab_key("staging", "healthy", rate=5.0) == "lab/staging/healthy@5"
    assert catalogue.chart_name("lab/staging/healthy@5") == "lab-staging-healthy-at-5.png"
    assert catalogue.section_for("lab/prod/x").title == "Other run: lab/prod/x"


# --- Sections --------------------------------------------------------------------------------


def test_a_single_run_section_shows_who_wrote_it_the_verdict_cost_and_chart() -> None:
    section = catalogue.SECTIONS[0]
    text = single_run(section, ORIGIN, lab_result(), "figures/chart.png")
    assert text.startswith(f"## {section.title}\n")
    assert "_Written by `paystream-ops lab --record-figures` on 2026-12-04 09:30 UTC, " in text
    assert "| affected authorizations | 12 (failures 10, declines 2, slow 0) |" in text
    assert "| visa-failures | 1 | 1 | 0 | 0 | 9.31 | 4.61 |" in text  # the worst beside its bar
    assert "| visa-latency | 1 | 0 | 0 | 1 | - | 5 |" in text
    older = {k: v for k, v in lab_result().items() if k not in ("affected", "bars")}
    before = single_run(section, ORIGIN, older, None)  # JSON written before parts and bars
    assert "| affected authorizations | 12 |" in before
    assert "| visa-failures | 1 | 1 | 0 | 0 | 9.31 | - |" in before
    assert "![incident-visa-timeouts: canary vs stable per card network](figures/chart.png)" in text
    assert "NOT as expected" in single_run(section, ORIGIN, lab_result(verdict="promoted"), None)


def test_repeated_runs_are_tallied_with_every_run_listed() -> None:
    results = [lab_result(seed, affected=affected) for seed, affected in ((1, 8), (2, 14), (3, 30))]
    results[2]["verdict"], results[2]["matched_expectation"] = "promoted", False
    results[1]["analysis_intervals_to_decision"] = 1.83
    results[2]["analysis_intervals_to_decision"] = None
    text = repeated_runs(catalogue.SECTIONS[1], ORIGIN, results)
    assert "| runs with the expected verdict (aborted) | 2 of 3 |" in text
    assert "| verdicts | aborted 2, promoted 1 |" in text
    assert "| decision after the canary's first traffic | 25 s 2, 55 s 1 |" in text
    assert "| decided at measurement | 1st 1, 2nd 1, - 1 |" in text
    assert "| affected authorizations | min 8, median 14, max 30 |" in text
    assert "| affected: failures | min 6, median 12, max 28 |" in text
    assert "| affected: declines | min 2, median 2, max 2 |" in text
    assert "| visa-failures | 3 | 3 | 0 | 0 | 9.31 | 4.61 |" in text
    assert text.count("| background analysis | ") == 3


def test_the_bench_section_shows_the_apps_side_by_side_with_their_ratios() -> None:
    row = {"requests_per_second": 20000.0, "p50_seconds": 0.0025, "p99_seconds": 0.005}
    bare = {**row, "requests_per_second": 40000.0}
    keyed = {"requests_per_second": 10000.0, "p50_seconds": 0.004, "p99_seconds": 0.009}
    result = {
        "scenario": {"name": "1 worker, 1 pinned core"},
        "bare": bare,
        "service": row,
        "keyed": keyed,
        "throughput_ratio": 0.5,
        "keyed_ratio": 0.25,
        "rounds": {
            "bare": [bare, {**bare, "requests_per_second": 44000.0}],
            "service": [row],
            "keyed": [keyed],
        },
    }
    settings = {"connections": 64, "threads": 1, "rounds": 3, "duration_seconds": 10.0}
    text = bench_section(catalogue.section_for("bench"), ORIGIN, [result], settings, 0.5, 0.45)
    assert (
        "| 1 worker, 1 pinned core | bare granian ASGI | 40,000 | 2.50 ms | 5.00 ms |  | 9% |"
        in text
    )
    assert "|  | paystream-auth, no key | 20,000 | 2.50 ms | 5.00 ms | 0.50 | 0% |" in text
    assert (
        "|  | paystream-auth, shared store, key per request | 10,000 | 4.00 ms | 9.00 ms "
        "| 0.25 | 0% |" in text
    )
    assert "at least 0.5 without a key, 0.45 with a new key" in text


def test_the_hostile_section_puts_idle_and_attacked_side_by_side() -> None:
    def phase(name: str, p99: float, failures: int) -> dict[str, object]:
        return {
            "name": name,
            "requests": 2000,
            "failures": failures,
            "p50_seconds": 0.002,
            "p99_seconds": p99,
            "max_seconds": 0.05,
            "probes": {"livez": {"p99_seconds": 0.001, "failures": 0, "samples": 40}},
        }

    settings = {"connections": 2000, "rate_per_second": 200.0, "duration_seconds": 10.0}
    phases = [phase("idle", 0.004, 0), phase("attacked", 0.012, 3)]
    text = hostile_section(catalogue.section_for("bench-hostile"), ORIGIN, settings, phases)
    assert "while 2,000 hostile connections" in text
    assert "| idle | 2,000 | 0 | 2.00 ms | 4.00 ms | 50.00 ms | livez 1.00 ms (0) |" in text
    assert "| attacked | 1,997 | 3 | 2.00 ms | 12.00 ms | 50.00 ms | livez 1.00 ms (0) |" in text
    # A section the catalogue lists: the page says which command writes it until it has.
    assert catalogue.find("bench-hostile") is not None


# --- Who wrote it ----------------------------------------------------------------------------


def test_provenance_names_the_commit_and_changes_other_than_the_figures_themselves(
    tmp_path: Path,
) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/figures.md").write_text("old\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    (tmp_path / "docs/figures.md").write_text("new\n")
    clean = record.provenance(tmp_path, "paystream-ops bench --record-figures")
    assert clean.commit and not clean.dirty
    assert f"commit `{clean.commit}`._" in clean.line()
    (tmp_path / "code.py").write_text("x = 2\n")
    dirty = record.provenance(tmp_path, "paystream-ops bench --record-figures")
    assert dirty.dirty and dirty.line().endswith("with uncommitted changes._")
    outside = record.provenance(tmp_path / "docs" / "..", "x")
    assert outside.commit == clean.commit


def test_writing_a_section_creates_the_page_and_keeps_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record.write_section(tmp_path, "bench", "## Service benchmark\n\nfirst\n")
    record.write_section(tmp_path, "lab/prod/healthy", "## Scenario healthy\n\nsecond\n")
    sections = page.parse_sections((tmp_path / catalogue.PAGE_PATH).read_text())
    assert "first" in sections["bench"] and "second" in sections["lab/prod/healthy"]
    assert "section bench written to docs/figures.md" in capsys.readouterr().out


# --- Nobody restates them --------------------------------------------------------------------


def test_no_page_restates_a_figure_measured_on_the_figures_page() -> None:
    found = [
        *(
            finding
            for path in pages()
            for finding in restated.in_markdown(
                str(path.relative_to(REPO)), path.read_text(encoding="utf-8")
            )
        ),
        *(
            finding
            for path in yaml_files()
            for finding in restated.in_yaml_comments(
                str(path.relative_to(REPO)), path.read_text(encoding="utf-8")
            )
        ),
    ]
    assert found == [], "\n".join(map(str, found))


@pytest.mark.parametrize(
    "copied",
    [
        "The same release now costs 8 to 27 authorizations (20 seeded runs, median 14.5).",
        "14 runs were aborted at 25 s, 6 at 55 s, none later.",
        "| healthy | promoted, 20/20 seeds | all steps |",
        "One run here (`make lab` took 29 s of wall time, seed 1).",
        "| affected transactions | 22 (Visa: 21 of 797 canary authorizations failed) |",
        "| canary exposure | 55 s |",
        "| authorizations, canary / total | 1,646 / 67,558 at 298.1/s |",
        "one worker, the service ~23-25k req/s at p50 2.3-2.6 ms / p99 4.4-5.5 ms",
        "bare granian 40-50k req/s when the machine was quiet, ratio 0.58-0.59 in those runs",
        "4 Failed measurements of 1,520, all single strikes",
        "Worst `failure-excess-score` 2.7 (bar 5); worst canary/stable P99 ratio 0.28.",
        "the generator sustains 299.9 of 300 auth/s real-time equivalent",
        "Generator: 12.8 us CPU per request against 450 us for httpx.",
        "Canary lab on this overlay: 5 auth/s -> paused-inconclusive after 38 s.",
        "100 auth/s: promoted, 2 min after the first canary traffic.",
        "measured 0.46 s from the `..data` swap to the new token being accepted",
        "healthy x20: worst canary/stable P99 ratio 0.86",
    ],
)
def test_a_figure_copied_from_the_figures_page_is_caught(copied: str) -> None:
    assert restated.in_markdown("FAKE.md", copied), copied
    assert restated.in_yaml_comments("fake.yaml", f"key: value\n# {copied}\n"), copied


def test_the_figures_page_own_tables_would_be_caught_if_copied() -> None:
    text = single_run(catalogue.SECTIONS[0], ORIGIN, lab_result(), None)
    kinds = {finding.what for finding in restated.in_markdown("FAKE.md", text)}
    assert {"an affected count", "an exposure", "a wall time"} <= kinds


@pytest.mark.parametrize(
    "design",
    [
        "The first measurement comes 25 s after the canary's first traffic, the next at 55 s.",
        "max-failure-ratio-delta 0.01: one point over stable's failure ratio; max-p99-ratio 1.5.",
        "The scenario's budget: at most 50 affected authorizations within 2 analysis intervals.",
        "`low-traffic` (3 auth/s: paused as inconclusive, for a person)",
        "abortScaleDownDelaySeconds: the aborted canary pods go 30 s after the abort.",
        "Worst case 65 + 1 + 90 + 1 = 157 s: plan for 3 minutes.",
        "The everyday failure ratio is 0.15% on both sides.",
        "See [the figures](docs/figures.md#healthy-release-20-seeds) (`make lab-repeat`).",
        "`make lab-repeat` runs `healthy` with 20 seeds and fails on any false abort.",
        "No measured figures ([0038](docs/decisions/0038-figures.md)).",
    ],
)
def test_design_quantities_are_not_taken_for_measured_figures(design: str) -> None:
    assert restated.in_markdown("FAKE.md", design) == [], design


def test_yaml_values_are_not_comments_but_trailing_comments_are() -> None:
    text = 'image: "x#1"\nwindow: 2m  # the lab measured a median of 14.5\n- "# 3 of 20 seeds"\n'
    found = restated.in_yaml_comments("fake.yaml", text)
    assert {f.where for f in found} == {"fake.yaml:2"}
