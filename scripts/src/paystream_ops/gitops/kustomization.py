"""Read and edit the one `images:` entry of an overlay's kustomization.yaml.

ruamel.yaml's round-trip loader finds the entry and the exact line and column of each value;
the edit then replaces only those characters (or adds/removes one line). Every other byte of
the file, comments and formatting included, stays as it was: reviewers see a two-line diff.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from paystream_ops.errors import UserError
from paystream_ops.gitops import IMAGE_NAME
from paystream_ops.gitops.imageref import ImageRef


@dataclass(frozen=True)
class ImageEntry:
    """The overlay's pin for one image, as written in Git."""

    name: str
    new_tag: str | None
    digest: str | None
    index: int

    @property
    def ref(self) -> ImageRef:
        return ImageRef(name=self.name, tag=self.new_tag, digest=self.digest)


def _load(text: str, source: str) -> Any:
    try:
        return YAML(typ="rt").load(io.StringIO(text))
    except YAMLError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{source}: invalid YAML: {reason}") from exc


def _find_entry(doc: Any, source: str, name: str) -> tuple[int, Any]:
    if not isinstance(doc, dict):
        raise UserError(f"{source}: not a kustomization (top level is not a mapping)")
    images = doc.get("images")
    if not isinstance(images, list) or not images:
        raise UserError(f"{source}: images: missing; expected one entry named {name}")
    found = [
        (i, entry)
        for i, entry in enumerate(images)
        if isinstance(entry, dict) and entry.get("name") == name
    ]
    if not found:
        raise UserError(f"{source}: images: no entry named {name}")
    if len(found) > 1:
        raise UserError(f"{source}: images: {len(found)} entries named {name}; expected one")
    index, entry = found[0]
    if entry.get("newName") not in (None, name):
        raise UserError(
            f"{source}: images[{index}].newName: renaming the image is not supported by bump"
        )
    return index, entry


def _string_field(entry: Any, key: str, source: str, index: int) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise UserError(
            f"{source}: images[{index}].{key}: {value!r} is a {type(value).__name__}; "
            "quote it so it stays a string"
        )
    return value


def read_image(text: str, source: str, name: str = IMAGE_NAME) -> ImageEntry:
    """The entry for `name` in a kustomization's text; errors name the file and field."""
    index, entry = _find_entry(_load(text, source), source, name)
    return ImageEntry(
        name=name,
        new_tag=_string_field(entry, "newTag", source, index),
        digest=_string_field(entry, "digest", source, index),
        index=index,
    )


def _scalar_end(line: str, col: int) -> int:
    """Where the scalar starting at `col` ends (exclusive), for single-line scalars."""
    quote = line[col] if col < len(line) else ""
    if quote == "'":
        i = col + 1
        while i < len(line):
            if line[i] == "'":
                if line[i + 1 : i + 2] == "'":
                    i += 2
                    continue
                return i + 1
            i += 1
        raise ValueError("unterminated single-quoted scalar")
    if quote == '"':
        i = col + 1
        while i < len(line):
            if line[i] == "\\":
                i += 2
                continue
            if line[i] == '"':
                return i + 1
            i += 1
        raise ValueError("unterminated double-quoted scalar")
    body = line.rstrip("\r\n")
    comment = body.find(" #", col)
    end = comment if comment != -1 else len(body)
    return len(body[:end].rstrip())


def _format_like(original: str, value: str) -> str:
    """Write `value` in the quoting style the file already used for this field."""
    if original.startswith("'"):
        return "'" + value.replace("'", "''") + "'"
    if original.startswith('"'):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _line_ending(lines: list[str]) -> str:
    for line in lines:
        if line.endswith("\r\n"):
            return "\r\n"
    return "\n"


def set_image(text: str, source: str, ref: ImageRef) -> str:
    """Return `text` with the entry for `ref.name` set to `ref.tag` and `ref.digest`.

    A field the reference lacks is removed from the entry; a field the entry lacks is added on
    its own line, indented like the entry's other keys. Nothing else changes.
    """
    doc = _load(text, source)
    index, entry = _find_entry(doc, source, ref.name)
    if entry.fa.flow_style():
        raise UserError(
            f"{source}: images[{index}]: written in flow style; write the entry in block style"
        )
    lines = text.splitlines(keepends=True)
    wanted = {"newTag": ref.tag, "digest": ref.digest}
    key_line, key_col = entry.lc.key("name")
    # Edits run bottom-up so earlier line numbers stay valid.
    edits: list[tuple[int, str, str | None]] = []  # (line, key, new value or None to delete)
    for key, value in wanted.items():
        if key in entry:
            edits.append((entry.lc.key(key)[0], key, value))
    for line_no, key, value in sorted(edits, reverse=True):
        if value is None:
            if line_no == key_line:
                raise UserError(f"{source}: images[{index}].{key}: cannot remove the first key")
            del lines[line_no]
            continue
        v_line, v_col = entry.lc.value(key)
        if v_line != line_no:
            raise UserError(f"{source}: images[{index}].{key}: value must be on the key's line")
        line = lines[v_line]
        try:
            end = _scalar_end(line, v_col)
        except ValueError as exc:
            raise UserError(f"{source}: images[{index}].{key}: {exc}") from exc
        lines[v_line] = line[:v_col] + _format_like(line[v_col:end], value) + line[end:]
    missing = [(k, v) for k, v in wanted.items() if v is not None and k not in entry]
    if missing:
        anchor_keys = [k for k in ("name", "newTag", "digest") if k in entry]
        anchor = max(entry.lc.key(k)[0] for k in anchor_keys)
        # Lines deleted above the anchor shift it up.
        anchor -= sum(1 for line_no, _, v in edits if v is None and line_no < anchor)
        eol = _line_ending(lines)
        if not lines[anchor].endswith(("\n", "\r")):
            lines[anchor] += eol
        new_lines = [" " * key_col + f"{k}: {v}{eol}" for k, v in missing]
        lines[anchor + 1 : anchor + 1] = new_lines
    result = "".join(lines)
    _verify(text, result, source, ref, index)
    return result


def _verify(before: str, after: str, source: str, ref: ImageRef, index: int) -> None:
    """The edit changed the entry to `ref` and nothing else in the document."""
    old_doc = yaml.safe_load(before)
    new_doc = yaml.safe_load(after)
    expected_entry = {k: v for k, v in old_doc["images"][index].items()}
    for key, value in (("newTag", ref.tag), ("digest", ref.digest)):
        if value is None:
            expected_entry.pop(key, None)
        else:
            expected_entry[key] = value
    old_doc["images"][index] = expected_entry
    if new_doc != old_doc:
        raise UserError(f"{source}: images[{index}]: could not edit the entry in place")
