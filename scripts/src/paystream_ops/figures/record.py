"""The I/O edge of `--record-figures`: write a command's section of docs/figures.md.

The measuring commands call `record_lab`, `record_bench` or `record_hostile` with their
results; everything else (which section, what it says) is decided by the pure modules beside
this one.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paystream_ops.figures.bench_section import bench_section
from paystream_ops.figures.catalogue import CHART_DIR, PAGE_PATH, chart_name, lab_key, section_for
from paystream_ops.figures.hostile_section import hostile_section
from paystream_ops.figures.lab_sections import repeated_runs, single_run
from paystream_ops.figures.page import replace_section
from paystream_ops.figures.provenance import Provenance
from paystream_ops.paths import repo_root

if TYPE_CHECKING:
    from paystream_ops.bench.runner import ScenarioResult, Settings
    from paystream_ops.lab.runner import LabResult

OWN_FILES = (PAGE_PATH, CHART_DIR)  # left out of "uncommitted changes": this run writes them


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def provenance(root: Path, command: str | None = None) -> Provenance:
    """Who wrote the section: the command line as typed, now (UTC), HEAD and whether it is dirty."""
    typed = command or shlex.join(["paystream-ops", *sys.argv[1:]])
    commit = _git(root, "rev-parse", "--short", "HEAD")
    status = _git(
        root,
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ".",
        *(f":(exclude){path}" for path in OWN_FILES),
    )
    return Provenance(typed, datetime.now(UTC), commit or None, bool(status))


def write_section(root: Path, key: str, body: str) -> Path:
    page = root / PAGE_PATH
    text = page.read_text(encoding="utf-8") if page.exists() else ""
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(replace_section(text, key, body), encoding="utf-8")
    print(f"figures: section {key} written to {PAGE_PATH}")
    return page


def record_lab(results: Sequence[LabResult], command: str | None = None) -> Path:
    """One section for the run (or the N seeded runs), keyed by overlay, scenario, rate, runs."""
    from paystream_ops.lab.chart import write_chart
    from paystream_ops.lab.report import result_json

    root = repo_root()
    first = results[0].options
    rate = first.rate_per_second
    default_rate = first.scenario.traffic.rate_per_second
    key = lab_key(
        first.overlay.removeprefix("overlays/"),
        first.scenario.name,
        runs=len(results),
        rate=None if rate == default_rate else rate,
    )
    section = section_for(key)
    origin = provenance(root, command)
    data = [result_json(result) for result in results]
    if len(results) > 1:
        return write_section(root, key, repeated_runs(section, origin, data))
    chart: str | None = None
    if section.chart:
        name = chart_name(key)
        if write_chart(results[0], root / CHART_DIR / name):
            chart = f"{Path(CHART_DIR).name}/{name}"  # relative to the page
    return write_section(root, key, single_run(section, origin, data[0], chart))


def record_bench(
    results: Sequence[ScenarioResult],
    settings: Settings,
    target_ratio: float,
    keyed_target_ratio: float,
) -> Path:
    root = repo_root()
    return write_section(
        root,
        "bench",
        bench_section(
            section_for("bench"),
            provenance(root),
            [result.as_dict() for result in results],
            asdict(settings),
            target_ratio,
            keyed_target_ratio,
        ),
    )


def record_hostile(settings: Mapping[str, Any], phases: Sequence[Mapping[str, Any]]) -> Path:
    root = repo_root()
    return write_section(
        root,
        "bench-hostile",
        hostile_section(section_for("bench-hostile"), provenance(root), settings, phases),
    )
