"""Shared fixtures for the canary lab's tests."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from paystream_ops.lab.accounting import Cost
from paystream_ops.lab.analysis import AnalysisRun, Measure
from paystream_ops.lab.shared_prometheus import SharedPrometheus, shared_prometheus
from paystream_ops.paths import overlay_dir
from paystream_ops.render import render


@pytest.fixture(scope="session")
def prod_objects() -> list[dict[str, Any]]:
    """The prod overlay rendered once with the pinned kustomize."""
    return render(overlay_dir("prod"))


@pytest.fixture(scope="module")
def lab_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedPrometheus]:
    """One Prometheus for a module's lab runs, each run on an emptied TSDB (decision 0127)."""
    with shared_prometheus(tmp_path_factory.mktemp("lab-prometheus")) as prometheus:
        yield prometheus


def within_chance(cost: Cost) -> bool:
    """Failures a canary identical to stable can score by chance (the failures part of the
    affected count): the clipped per-network noise of the everyday baseline, a few standard
    deviations at most."""
    expected = sum(n.expected_canary_failures for n in cost.per_network)
    return cost.affected_failures <= 3 * math.sqrt(expected) + 3


def drive(run: AnalysisRun, measure: Measure, until: float = 10_000.0) -> float:
    """Reconcile at every due time, as the controller's requeue would, until the run ends."""
    now = run.started_at
    while not run.completed:
        run.reconcile(now, measure)
        due = run.next_due()
        if due is None or due > until:
            break
        now = max(due, now)
    return now
