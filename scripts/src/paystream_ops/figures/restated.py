"""Find a measured figure restated outside the figures page.

The lab and the benchmark write their figures to docs/figures.md; a number copied from there
into README, DESIGN, RUNBOOK, a page under docs/ or a YAML comment goes stale the next time the
command runs. Each pattern below is the way such a figure reads in prose (a median, "14 of 20
seeds", requests per second, an affected count, a wall time...). Design quantities (thresholds,
windows, deadlines, the schedule of measurements) read differently and are not matched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_RANGE = rf"{_NUMBER}(?:\s*(?:-|\u2013|to)\s*{_NUMBER})?"

# (what it is, how it reads). Case-insensitive; matched against one paragraph at a time.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.I))
    for name, pattern in (
        ("a median", rf"\bmedian\b[^.;|\n]{{0,25}}?\b{_NUMBER}"),
        ("runs out of N", rf"\b{_NUMBER}\s*(?:of|/)\s*{_NUMBER}\s+(?:seeds|runs|seeded)\b"),
        ("a count of seeds", rf"\(\s*{_NUMBER}\s+seeds\b"),
        ("a verdict tally", rf"\b(?:promoted|aborted),?\s+{_NUMBER}\s*/\s*{_NUMBER}\b"),
        (
            "runs decided at a time",
            rf"\b{_NUMBER}\s+(?:runs\s+)?(?:were\s+)?(?:aborted|promoted)\s+at\s+{_NUMBER}",
        ),
        ("requests per second", rf"\b{_RANGE}\s*k?\s*req(?:uests)?/s\b"),
        (
            "a benchmark ratio",
            r"(?<![-\w])ratios?(?![-\w])[^.;|\n]{0,12}?\b0\.\d{2}(?!\d*\s*%)",
        ),
        ("a measured percentile", rf"\bp(?:50|95|99)\b[^.;|\n]{{0,20}}?\b{_RANGE}\s*ms\b"),
        (
            "an affected count",
            rf"\baffected\s+(?:transactions|authorizations)?\s*[:|=]?\s*\|?\s*{_NUMBER}",
        ),
        (
            "a count of affected",
            rf"(?<!most )(?<!<= )\b{_RANGE}\s+(?:failed\s+|affected\s+)?"
            r"(?:authorizations|transactions)\s+(?:affected|failed)\b",
        ),
        ("a cost in authorizations", rf"\bcosts?\s+{_RANGE}\s+(?:failed\s+)?authorizations\b"),
        (
            "a wall time",
            rf"\b{_NUMBER}\s*s\s+(?:of\s+)?wall\b"
            rf"|\bwall(?:\s+time)?\b\s*\|?[^.;|\n]{{0,15}}?\b{_NUMBER}\s*s\b",
        ),
        ("a sustained rate", rf"\b{_NUMBER}\s*(?:of|/)\s*{_NUMBER}\s*auth/s\b"),
        ("a count of measurements", rf"\b{_NUMBER}\s+(?:failed\s+)?measurements\s+of\s+{_NUMBER}"),
        ("a time per request", rf"\b{_RANGE}\s*(?:µs|us)\b"),
        ("a worst value seen", rf"\bworst\b(?!\s+case)[^.;|\n]{{0,45}}?\b{_NUMBER}"),
        ("an exposure", rf"\bexposure\b\s*\|?\s*{_NUMBER}\s*s\b"),
        ("an achieved rate", rf"\bat\s+{_NUMBER}/s\b"),
        ("a lab verdict at a rate", rf"\b{_NUMBER}\s*auth/s\s*->\s*(?:paused|promoted|aborted)"),
        (
            "a verdict's timing",
            rf"\b(?:paused(?:-inconclusive)?|promoted|aborted)\b(?:[^.;|\n]{{0,30}}?"
            rf"\b(?:after|at)\s+{_NUMBER}\s*s\b|,?\s+{_NUMBER}\s*(?:s|min|minutes)\s+after\b)",
        ),
        ("a measured value", rf"\bmeasur(?:ed|es)\b[^.;|\n]{{0,40}}?\b{_NUMBER}"),
    )
)
COMMENT = re.compile(r"(?:^|\s)#\s?(?P<text>.*)$")


@dataclass(frozen=True)
class Restated:
    where: str  # file:line
    what: str  # the pattern's name
    text: str  # the words that matched

    def __str__(self) -> str:
        return f"{self.where}: {self.what} restated ({self.text!r}): link docs/figures.md instead"


def _paragraphs(lines: list[str]) -> Iterator[tuple[int, str]]:
    start, block = 0, []
    for number, line in enumerate([*lines, ""], 1):
        if line.strip():
            start = start or number
            block.append(line)
        elif block:
            yield start, " ".join(" ".join(block).split())
            start, block = 0, []


LINK_TARGET = re.compile(r"\]\([^)]*\)")
RECORD_NUMBER = re.compile(r"\[\d{4}\](?=\()")


def _findings(name: str, lines: list[str]) -> Iterator[Restated]:
    for start, paragraph in _paragraphs(lines):
        # An anchor's words and a record's number are not statements of a figure.
        text = RECORD_NUMBER.sub("[record]", LINK_TARGET.sub("]()", paragraph))
        for what, pattern in PATTERNS:
            for match in pattern.finditer(text):
                yield Restated(f"{name}:{start}", what, match.group(0))


def in_markdown(name: str, text: str) -> list[Restated]:
    """Every restated figure in a markdown page (fenced blocks included: an excerpt counts)."""
    return list(_findings(name, text.splitlines()))


def in_yaml_comments(name: str, text: str) -> list[Restated]:
    """Every restated figure in a YAML file's comments (full-line and trailing)."""
    lines = []
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("#"):
            lines.append(stripped[1:])
        elif (match := COMMENT.search(line)) and not stripped.startswith(("-", '"', "'")):
            lines.append(match["text"])
        else:
            lines.append("")
    return list(_findings(name, lines))
