"""Decision records keep their shape: `# NNNN. Title`, then Status, Context, Decision,
Consequences and Rejected, in that order, a status that says what the record is, unique
numbers, and an index (docs/decisions/README.md) that lists every record. Negative cases below."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RECORDS = REPO / "docs" / "decisions"
SECTIONS = ("Status", "Context", "Decision", "Consequences", "Rejected")
FILE_NAME = re.compile(r"(?P<number>\d{4})-[a-z0-9]+(?:-[a-z0-9]+)*\.md")
STATUS = re.compile(r"(?:Proposed|Accepted|Deprecated|Superseded by \S.*)(?:, \d{4}-\d{2}-\d{2})?")


def record_problems(name: str, text: str) -> list[str]:
    """What is wrong with one record's shape (empty when nothing is)."""
    match = FILE_NAME.fullmatch(name)
    if not match:
        return [f"{name}: name is not NNNN-lower-case-title.md"]
    lines = text.splitlines()
    problems = []
    if not lines or not re.fullmatch(rf"# {match['number']}\. \S.*", lines[0]):
        problems.append(f"{name}: first line is not '# {match['number']}. Title'")
    headings = [line[3:].strip() for line in lines if line.startswith("## ")]
    if tuple(headings) != SECTIONS:
        problems.append(f"{name}: sections {headings}, expected {list(SECTIONS)}")
    elif not STATUS.fullmatch(_first_paragraph_after(lines, "## Status")):
        problems.append(f"{name}: status is not Proposed, Accepted, Deprecated or Superseded by")
    return problems


def _first_paragraph_after(lines: list[str], heading: str) -> str:
    start = lines.index(heading) + 1
    body = []
    for line in lines[start:]:
        if line.startswith("## ") or (body and not line.strip()):
            break
        if line.strip():
            body.append(line.strip())
    return " ".join(body)


def records() -> list[Path]:
    return sorted(path for path in RECORDS.glob("*.md") if path.name != "README.md")


@pytest.mark.parametrize("path", records(), ids=lambda path: path.name)
def test_every_record_has_the_sections_in_order(path: Path) -> None:
    assert record_problems(path.name, path.read_text(encoding="utf-8")) == []


def test_record_numbers_are_unique_and_the_index_lists_every_record() -> None:
    numbers = [path.name[:4] for path in records()]
    assert len(numbers) == len(set(numbers)), "two records share a number"
    index = (RECORDS / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\((\d{4}-[^)#]+\.md)\)", index))
    assert linked == {path.name for path in records()}


GOOD = """# 0042. Canary weights start at 5%

## Status

Accepted, 2026-12-04

## Context

Why.

## Decision

What.

## Consequences

So.

## Rejected

Not that.
"""


def test_a_well_formed_record_passes() -> None:
    assert record_problems("0042-canary-weights-start-at-5-percent.md", GOOD) == []
    superseded = GOOD.replace("Accepted, 2026-12-04", "Superseded by [0043](0043-x.md)")
    assert record_problems("0042-x.md", superseded) == []


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("42-weights.md", GOOD, "name is not NNNN-lower-case-title.md"),
        ("0042-Weights.md", GOOD, "name is not NNNN-lower-case-title.md"),
        ("0043-weights.md", GOOD, "first line is not '# 0043. Title'"),
        ("0042-weights.md", GOOD.replace("## Rejected\n\nNot that.\n", ""), "sections"),
        ("0042-weights.md", GOOD.replace("## Context", "## Background"), "sections"),
        ("0042-weights.md", GOOD.replace("Accepted, 2026-12-04", "Done"), "status is not"),
    ],
)
def test_a_malformed_record_is_reported(name: str, text: str, problem: str) -> None:
    found = record_problems(name, text)
    assert any(problem in line for line in found), found
