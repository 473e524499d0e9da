"""YAML comments in base/ and overlays/ stay lean: at most a tenth of the lines, and every
decision record or page under docs/ they link exists (docs/decisions/0039). Negative cases."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAX_SHARE = 0.10
DOC_LINK = re.compile(r"docs/[\w./-]+\.md")


def yaml_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.suffix in (".yaml", ".yml"))


def comment_share(texts: Iterable[str]) -> tuple[int, int]:
    """(comment lines, all lines): a comment line is one whose first non-blank character is #."""
    comments = total = 0
    for text in texts:
        for line in text.splitlines():
            total += 1
            comments += line.lstrip().startswith("#")
    return comments, total


def linked_pages(text: str) -> list[str]:
    return [
        match
        for line in text.splitlines()
        if "#" in line
        for match in DOC_LINK.findall(line.split("#", 1)[1])
    ]


@pytest.mark.parametrize("folder", ["base", "overlays"])
def test_comment_lines_are_at_most_a_tenth_of_the_folder(folder: str) -> None:
    comments, total = comment_share(
        p.read_text(encoding="utf-8") for p in yaml_files(REPO / folder)
    )
    assert total > 0
    assert comments / total <= MAX_SHARE, (
        f"{folder}/: {comments} of {total} lines are comments ({comments / total:.1%}); "
        f"at most {MAX_SHARE:.0%}: link a decision record instead of explaining inline"
    )


def test_every_record_or_page_a_comment_links_exists() -> None:
    missing = [
        f"{path.relative_to(REPO)}: {link}"
        for folder in ("base", "overlays")
        for path in yaml_files(REPO / folder)
        for link in linked_pages(path.read_text(encoding="utf-8"))
        if not (REPO / link).is_file()
    ]
    assert missing == []


def test_a_folder_of_essays_is_over_the_budget(tmp_path: Path) -> None:
    (tmp_path / "rollout.yaml").write_text(
        "# yaml-language-server: $schema=https://example.com/rollout.json\n"
        "# Why this value, at length,\n#   and how it was found.\n"
        "kind: Rollout\nspec:\n  minReadySeconds: 20  # trailing comments do not count\n"
    )
    (tmp_path / "skip.txt").write_text("# not YAML\n")
    comments, total = comment_share(p.read_text() for p in yaml_files(tmp_path))
    assert (comments, total) == (3, 6)
    assert comments / total > MAX_SHARE


def test_a_link_to_a_page_that_does_not_exist_is_found() -> None:
    record = "docs/decisions/0012-min-ready-seconds-before-canary-traffic.md"
    text = f"minReadySeconds: 20  # see {record}\n"
    text += "# see docs/decisions/9999-no-such-record.md\nvalue: docs/decisions/x.md\n"
    links = linked_pages(text)
    assert links == [record, "docs/decisions/9999-no-such-record.md"]
    assert [link for link in links if not (REPO / link).is_file()] == [links[1]]
