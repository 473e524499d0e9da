"""Which changed targets an Argo CD change freeze will hold back: for the rendered diff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from paystream_ops.errors import UserError
from paystream_ops.freeze.cluster import app_name, load_cluster, source_paths
from paystream_ops.freeze.status import app_freeze


@dataclass(frozen=True)
class FreezeNote:
    target: str
    app: str
    until: datetime | None
    manual_allowed: bool

    def line(self) -> str:
        when = f" until {self.until:%Y-%m-%d %H:%M} UTC" if self.until else ""
        then = (
            f"or for a manual sync (`argocd app sync {self.app}`, break-glass role)"
            if self.manual_allowed
            else "(manual syncs are denied too)"
        )
        return (
            f"{self.target}: {self.app} is in a change freeze{when}: once merged, this change "
            f"waits for the window to close {then}"
        )


def freeze_notes(tree: Path, changed: set[str], at: datetime) -> list[FreezeNote]:
    """For every cluster folder of `tree`, the frozen Applications deploying a changed target."""
    clusters = tree / "clusters"
    notes: list[FreezeNote] = []
    for folder in sorted(p for p in clusters.iterdir() if p.is_dir()) if clusters.is_dir() else []:
        try:
            cluster = load_cluster(tree, folder.name)
        except UserError:
            continue  # the diff itself reports a folder that does not render
        for app in cluster.applications:
            paths = sorted(source_paths(app) & changed)
            if not paths:
                continue
            freeze = app_freeze(app_name(app), cluster.windows_for(app), at)
            if freeze.frozen:
                until = freeze.current.end if freeze.current else None
                notes += [FreezeNote(p, freeze.app, until, freeze.manual.allowed) for p in paths]
    return notes
