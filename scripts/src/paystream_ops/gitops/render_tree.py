"""Render every overlay and every in-repo Application path of one checked-out tree."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from paystream_ops.errors import UserError
from paystream_ops.render import K8sObject, parse_objects, render_to_text

# Folders whose YAML files are Argo CD Applications (app-of-apps roots and children).
APPLICATION_DIRS: tuple[str, ...] = ("apps", "clusters")


@dataclass(frozen=True)
class Target:
    """A path Argo CD (or a reviewer) renders: an overlay, or a source path of an Application."""

    path: str  # repository-relative, posix, no trailing slash

    @property
    def label(self) -> str:
        return self.path


def _yaml_files(directory: Path, recursive: bool) -> list[Path]:
    pattern = "**/*" if recursive else "*"
    return sorted(
        p for p in directory.glob(pattern) if p.is_file() and p.suffix in (".yaml", ".yml")
    )


def _load_docs(path: Path) -> list[Any]:
    try:
        return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except yaml.YAMLError:
        return []  # `validate` reports broken YAML; discovery just skips it


def _application_paths(doc: Any) -> list[str]:
    if not isinstance(doc, dict) or doc.get("kind") != "Application":
        return []
    spec = doc.get("spec") or {}
    sources = [spec["source"]] if isinstance(spec.get("source"), dict) else []
    sources += [s for s in spec.get("sources") or [] if isinstance(s, dict)]
    # Helm chart sources live in another repository: only their Application object is diffed.
    return [str(s["path"]) for s in sources if s.get("path") and not s.get("chart")]


def discover(tree: Path) -> list[Target]:
    """Overlays, the Application folders themselves, and every path an Application names."""
    found: set[str] = set()
    overlays = tree / "overlays"
    if overlays.is_dir():
        found.update(
            f"overlays/{d.name}" for d in overlays.iterdir() if (d / "kustomization.yaml").exists()
        )
    for top in APPLICATION_DIRS:
        root = tree / top
        if not root.is_dir():
            continue
        for file in _yaml_files(root, recursive=True):
            found.add(file.parent.relative_to(tree).as_posix())
            for doc in _load_docs(file):
                for raw in _application_paths(doc):
                    norm = posixpath.normpath(raw.strip("/"))
                    if norm != "." and not norm.startswith("..") and (tree / norm).is_dir():
                        found.add(norm)
    return [Target(p) for p in sorted(found)]


def render_target(tree: Path, target: Target, ref_label: str) -> list[K8sObject]:
    """Objects at `target` the way Argo CD sees them: kustomize, or a plain directory of YAML."""
    path = tree / target.path
    if not path.is_dir():
        return []
    where = f"{ref_label}:{target.path}"
    if (path / "kustomization.yaml").exists():
        try:
            text = render_to_text(path)
        except UserError as exc:
            reason = str(exc).split(": ", 1)[-1]
            raise UserError(f"{where}: {reason}") from exc
        return parse_objects(text, where)
    objects: list[K8sObject] = []
    for file in _yaml_files(path, recursive=False):
        rel = f"{ref_label}:{file.relative_to(tree).as_posix()}"
        objects.extend(parse_objects(file.read_text(encoding="utf-8"), rel))
    return objects
