"""Parse and render the figures page: one marked block per section, the rest generated.

Pure functions over text. A block runs from `<!-- figures:begin KEY -->` to
`<!-- figures:end KEY -->`; replacing one section keeps every other block as it was, puts the
sections in catalogue order and writes a placeholder, naming the command to run, for a listed
section that was never measured.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from paystream_ops.errors import UserError
from paystream_ops.figures.catalogue import PAGE_PATH, SECTIONS, Section, section_for

BEGIN = "<!-- figures:begin {key} -->"
END = "<!-- figures:end {key} -->"
BLOCK = re.compile(
    r"^<!-- figures:begin (?P<key>\S+) -->\n(?P<body>.*?)^<!-- figures:end (?P=key) -->$",
    re.M | re.S,
)
NOT_MEASURED = "Not yet measured on this code: run `{command}`."

HEADER = """\
# Measured figures

<!-- GENERATED: each section is written by the command it names (`--record-figures`), through
scripts/src/paystream_ops/figures/. Do not edit by hand: re-run the command. -->

Every figure the canary lab and the service benchmark measure lives on this page and nowhere
else. Each section says which command wrote it, when, and on which commit; re-running that
command rewrites that section only. Other pages link here instead of restating a number, and
`tests/docs/test_figures.py` fails when one does. All lab times and latencies are real-time
equivalents (the lab runs in compressed time, see [the lab](lab.md#time-scaling)).
"""


def heading(section: Section) -> str:
    return f"## {section.title}"


def placeholder(section: Section) -> str:
    return f"{heading(section)}\n\n{NOT_MEASURED.format(command=section.command)}\n"


def parse_sections(text: str) -> dict[str, str]:
    """KEY -> the body of each marked block (headings included), in page order."""
    sections: dict[str, str] = {}
    for match in BLOCK.finditer(text):
        key = match["key"]
        if key in sections:
            raise UserError(f"{PAGE_PATH}: section {key} appears twice")
        sections[key] = match["body"]
    return sections


def render_page(sections: Mapping[str, str]) -> str:
    """The whole page: header, contents, the listed sections in order, then any others."""
    listed = [section.key for section in SECTIONS]
    keys = listed + sorted(key for key in sections if key not in listed)
    parts = [HEADER]
    parts.append(
        "\n".join(f"- [{section_for(k).title}](#{anchor(section_for(k).title)})" for k in keys)
        + "\n"
    )
    for key in keys:
        body = sections.get(key) or placeholder(section_for(key))
        parts.append(f"{BEGIN.format(key=key)}\n{body.rstrip()}\n{END.format(key=key)}\n")
    return "\n".join(parts)


def replace_section(text: str, key: str, body: str) -> str:
    """The page with KEY's section replaced by BODY (a section of its own heading and text)."""
    return render_page({**parse_sections(text), key: body})


def anchor(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
