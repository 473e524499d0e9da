"""CRDs from a directory (``--crds`` / ``PAYSTREAM_CRDS_DIR``), indexed by group and kind."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from paystream_ops.errors import UserError

CRDS_ENV = "PAYSTREAM_CRDS_DIR"


@dataclass(frozen=True)
class CrdVersion:
    name: str
    served: bool
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class Crd:
    group: str
    kind: str
    plural: str
    scope: str
    versions: Mapping[str, CrdVersion]
    source: Path

    @property
    def cluster_scoped(self) -> bool:
        return self.scope == "Cluster"


@dataclass(frozen=True)
class CrdIndex:
    by_kind: Mapping[tuple[str, str], Crd]
    directory: Path

    def get(self, group: str, kind: str) -> Crd | None:
        return self.by_kind.get((group, kind))

    def groups(self) -> frozenset[str]:
        return frozenset(group for group, _ in self.by_kind)


def crds_dir(explicit: Path | None, root: Path | None = None) -> Path:
    """``--crds``, else ``PAYSTREAM_CRDS_DIR``, else ``../shared/crds`` beside the repository
    (where .ci/run finds it too); a one-line error otherwise."""
    chosen = explicit or (Path(os.environ[CRDS_ENV]) if os.environ.get(CRDS_ENV) else None)
    if chosen is None and root is not None and (root.parent / "shared" / "crds").is_dir():
        chosen = root.parent / "shared" / "crds"
    if chosen is None:
        raise UserError(
            f"no CRD directory: pass --crds DIR or set {CRDS_ENV} "
            "(`paystream-ops fetch-crds DIR` downloads the pinned releases)"
        )
    if not chosen.is_dir():
        raise UserError(f"{chosen}: CRD directory does not exist")
    return chosen


def _load_yaml_documents(path: Path) -> list[Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with path.open(encoding="utf-8") as handle:
            return list(yaml.load_all(handle, Loader=loader))
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: invalid YAML: {exc}") from exc


def parse_crd(doc: Mapping[str, Any], source: Path) -> Crd:
    spec = doc.get("spec") or {}
    names = spec.get("names") or {}
    kind = names.get("kind")
    group = spec.get("group")
    if not kind or not group:
        raise UserError(f"{source}: CustomResourceDefinition without spec.group/spec.names.kind")
    versions: dict[str, CrdVersion] = {}
    for version in spec.get("versions") or []:
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if not isinstance(schema, dict):
            raise UserError(f"{source}: {kind} {version.get('name')}: no openAPIV3Schema")
        versions[str(version["name"])] = CrdVersion(
            name=str(version["name"]), served=bool(version.get("served", True)), schema=schema
        )
    return Crd(
        group=str(group),
        kind=str(kind),
        plural=str(names.get("plural", "")),
        scope=str(spec.get("scope", "Namespaced")),
        versions=versions,
        source=source,
    )


def load_crds(directory: Path) -> CrdIndex:
    """Every CRD under ``directory`` (recursively, ``*.yaml``); an empty directory is an error."""
    index: dict[tuple[str, str], Crd] = {}
    for path in sorted(directory.rglob("*.yaml")):
        for doc in _load_yaml_documents(path):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                crd = parse_crd(doc, path)
                index[(crd.group, crd.kind)] = crd
    if not index:
        raise UserError(f"{directory}: no CustomResourceDefinition found")
    return CrdIndex(by_kind=index, directory=directory)
