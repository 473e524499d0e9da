"""The edge for a lab run: the Rollout, ReplicaSets and AnalysisRuns it wrote
(`paystream_ops.lab.controller_objects`), and the checkout's sync windows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from paystream_ops.errors import UserError
from paystream_ops.status.build import build_status
from paystream_ops.status.model import StatusView

LAB_SUBDIR = "controller"


def objects_dir(directory: Path) -> Path:
    """DIR itself, or DIR/controller (what `lab --report DIR` writes)."""
    for candidate in (directory, directory / LAB_SUBDIR):
        if any(candidate.glob("rollout-*.yaml")):
            return candidate
    raise UserError(
        f"{directory}: no Rollout written by the lab here (expected rollout-*.yaml in it or in "
        f"{LAB_SUBDIR}/; run `paystream-ops lab --report DIR`)"
    )


def read_objects(directory: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise UserError(f"{path}: cannot read: {exc}") from exc
        if isinstance(doc, dict):
            out.append(doc)
    return out


def lab_status(directory: Path, env: str, freeze_at: datetime | None = None) -> StatusView:
    from paystream_ops.freeze.cluster import load_cluster
    from paystream_ops.paths import repo_root
    from paystream_ops.status.sync_window import freeze_view

    where = objects_dir(directory)
    objects = read_objects(where)
    rollouts = [o for o in objects if o.get("kind") == "Rollout"]
    if len(rollouts) != 1:
        raise UserError(f"{where}: expected one Rollout, found {len(rollouts)}")
    try:
        freeze = freeze_view(load_cluster(repo_root(), env), freeze_at or datetime.now(UTC))
    except UserError:
        freeze = None
    return build_status(
        source=f"lab run {where}",
        env=env,
        rollout=rollouts[0],
        replica_sets=[o for o in objects if o.get("kind") == "ReplicaSet"],
        analysis_runs=[o for o in objects if o.get("kind") == "AnalysisRun"],
        applications=None,
        freeze=freeze,
        notes=("Argo CD is not part of the lab: no Applications to show",),
    )
