"""Argo Rollouts' AnalysisPhase values and their "worse than" order.

Mirrors `pkg/apis/rollouts/v1alpha1` (the phase strings) and `utils/analysis/helpers.go`
(`analysisStatusOrder`, best to worst: Successful, Running, Pending, Inconclusive, Error, Failed).
"""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    ERROR = "Error"
    INCONCLUSIVE = "Inconclusive"

    @property
    def completed(self) -> bool:
        return self in _COMPLETED


_COMPLETED = frozenset({Phase.SUCCESSFUL, Phase.FAILED, Phase.ERROR, Phase.INCONCLUSIVE})

_ORDER: tuple[Phase, ...] = (
    Phase.SUCCESSFUL,
    Phase.RUNNING,
    Phase.PENDING,
    Phase.INCONCLUSIVE,
    Phase.ERROR,
    Phase.FAILED,
)


def is_worse(current: Phase, new: Phase) -> bool:
    """True if `new` is a worse phase than `current` (Argo's `IsWorse`)."""
    return _ORDER.index(new) > _ORDER.index(current)
