"""Every Kubernetes or Kustomize YAML file names its schema on the first line, so editors check
it as it is typed: ``# yaml-language-server: $schema=<url>``. Transformer configurations
(``apiVersion: builtin``) and JSON patches have no published schema and are exempt.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml

from paystream_ops.validate.model import Problem

NAME = "yaml-headers"
HEADER = "# yaml-language-server: $schema="
GITOPS_DIRS = ("base", "overlays", "apps", "clusters")


def _needs_header(text: str) -> bool:
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError:
        return False  # kustomize reports broken YAML with a better message
    first = docs[0] if docs else None
    if not isinstance(first, dict) or "kind" not in first:
        return False
    return first.get("apiVersion") != "builtin"


def check_headers(root: Path) -> Iterator[Problem]:
    for folder in GITOPS_DIRS:
        for path in sorted((root / folder).rglob("*.y*ml")) if (root / folder).is_dir() else []:
            text = path.read_text(encoding="utf-8")
            if _needs_header(text) and not text.startswith(HEADER):
                yield Problem(
                    path.relative_to(root).as_posix(),
                    "",
                    "line 1",
                    f"does not start with {HEADER}<url>",
                    NAME,
                )
