"""What a kustomize render can read, as one digest: a target whose inputs are the same at both
refs renders the same, so `diff` renders it once.

`kubectl kustomize` (load restrictor `LoadRestrictionsRootOnly`, its default) reads files only
inside a kustomization's own directory tree; another directory enters only when a kustomization
names it (resources, components, generators, transformers...). So a target's inputs are its
directory's tree and the trees of every directory its kustomizations name, recursively. The
digest over-approximates them (whole trees; every string that names a directory) and is None when
a render could read something else (a remote resource, a path outside the repository, a
symlink): then the target is rendered at both refs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
REMOTE_MARKERS = ("://", "github.com/", "gitlab.com/", "bitbucket.org/", "git@", "git::")


class _Unknown(Exception):
    """The render could read an input the digest cannot see."""


def inputs_digest(tree: Path, target: str) -> str | None:
    """sha256 over every file a render of `tree/target` can read (paths relative to `tree`)."""
    root = tree.resolve()
    start = root / target
    if not any((start / name).is_file() for name in KUSTOMIZATION_FILES):
        return None  # a plain directory of YAML: read directly, nothing to save
    try:
        files = _input_files(root, start)
    except _Unknown:
        return None
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _input_files(root: Path, start: Path) -> set[Path]:
    trees: set[Path] = set()
    files: set[Path] = set()
    pending = [start]
    while pending:
        directory = pending.pop()
        if any(directory.is_relative_to(t) for t in trees):
            continue
        trees.add(directory)
        for path in directory.rglob("*"):
            if path.is_symlink():
                raise _Unknown(path)
            if not path.is_file():
                continue
            files.add(path)
            if path.name in KUSTOMIZATION_FILES:
                for named in _named_paths(root, path):
                    if named.is_dir():
                        pending.append(named)
                    elif named.is_file():
                        files.add(named)
    return files


def _named_paths(root: Path, kustomization: Path) -> list[Path]:
    """Every string in the kustomization that names an existing path (or a remote one)."""
    try:
        doc = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise _Unknown(kustomization) from exc
    out: list[Path] = []
    for text in _strings(doc):
        if any(marker in text for marker in REMOTE_MARKERS):
            raise _Unknown(text)
        if "\n" in text or not text.strip():
            continue  # an inline patch or a value, not a path
        candidate = (kustomization.parent / text.strip()).resolve()
        if not candidate.exists():
            continue
        if not candidate.is_relative_to(root):
            raise _Unknown(text)
        out.append(candidate)
    return out


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in _strings(key) + _strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return []
