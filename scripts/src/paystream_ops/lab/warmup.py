"""How long stable serves alone before the release: until every window a measurement reads is full.

A measurement reads one analysis window of stable's series, and Prometheus needs two scrapes in it
to compute an increase. No measurement can come sooner after the release starts than the
Rollout allows (docs/decisions/0127-*): an analysis starts at its step (the background one at
`startingStep`), a step after a `setWeight` only once the canary has been available for
`minReadySeconds`, and a metric measures first after its `initialDelay`. The warm-up only has to
fill what that earliest measurement's window still reaches back into.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from paystream_ops.lab.analysis import MetricSpec
from paystream_ops.lab.rollout import RolloutPlan, SetWeight

SETTLE_SECONDS = 0.5  # real scheduling slack beside the two scrapes


def earliest_measurement_seconds(
    plan: RolloutPlan, specs: Mapping[str, Sequence[MetricSpec]]
) -> float:
    """Lab seconds after the release starts before any measurement can be taken (a lower bound).

    `specs` are the metrics of each analysis, keyed as `LabManifests.analyses` names them
    ("step N" or "background"); an analysis without metrics measures nothing and bounds nothing.
    """
    bounds: list[float] = []
    for label, metrics in specs.items():
        delays = [m.initial_delay_seconds or 0.0 for m in metrics]
        if not delays:
            continue
        index = plan.background_starting_step if label == "background" else int(label.split()[1])
        after_set_weight = any(isinstance(s, SetWeight) for s in plan.steps[:index])
        bounds.append((plan.min_ready_seconds if after_set_weight else 0.0) + min(delays))
    return min(bounds, default=0.0)


def warm_up_seconds(window: float, scrape_interval: float, earliest_measurement: float) -> float:
    """Lab seconds stable serves alone: its window full at the earliest measurement, no sooner."""
    return max(0.0, window + 2 * scrape_interval + SETTLE_SECONDS - earliest_measurement)
