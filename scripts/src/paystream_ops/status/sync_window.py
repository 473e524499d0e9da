"""Whether a sync window blocks the environment's service now, as `paystream-ops freeze` says."""

from __future__ import annotations

from datetime import datetime

from paystream_ops.errors import UserError
from paystream_ops.freeze.cluster import Cluster
from paystream_ops.freeze.gate import service_freeze, until
from paystream_ops.status.model import FreezeView


def freeze_view(cluster: Cluster, at: datetime) -> FreezeView | None:
    """None when no Application deploys the environment's overlay (nothing to say)."""
    try:
        freeze = service_freeze(cluster, at)
    except UserError:
        return None
    if freeze.frozen:
        manual = "manual syncs allowed" if freeze.manual.allowed else "manual syncs denied too"
        text = f"{freeze.app}: FROZEN{until(freeze)}; {manual}"
    else:
        text = f"{freeze.app}: no deny window now; automated syncs allowed"
        if freeze.next is not None:
            text += f" (next freeze {freeze.next.start:%Y-%m-%d %H:%M} UTC)"
    return FreezeView(freeze.app, freeze.frozen, freeze.manual.allowed, text)
