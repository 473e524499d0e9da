"""The counts behind each deciding verdict, read from the lab's Prometheus when the run ends.

Argo Rollouts keeps a score per metric; the lab has the Prometheus the analysis read, so its
report puts the rates beside the score: "Visa: failures 2.7% (34 of 1,250) against stable's
0.06%". The queries are the judge's own count queries (paystream_ops/judge/signals.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import httpx
from paystream_ops.dashboards.analysis import fill_args
from paystream_ops.judge.signals import SIGNALS, count_queries
from paystream_ops.judge.verdict import Reading, latency_reading, named

_BARS = {s.name: s.threshold_arg for s in SIGNALS}
_MARGINS = {s.name: s.margin_arg for s in SIGNALS}
_STALLS = {s.name: s.stall_arg for s in SIGNALS}


Sample = tuple[dict[str, str], float]


def _query(client: httpx.Client, base_url: str, query: str, at: float) -> list[Sample]:
    """The samples of an instant query at `at`; none if Prometheus does not answer (a report
    only). One `at` for a whole reading: counts queried a moment apart do not add up (more
    requests under a boundary than in all)."""
    params = {"query": query, "time": f"{at:.3f}"}
    try:
        body = client.get(f"{base_url}/api/v1/query", params=params, timeout=5.0).json()
        result = (body.get("data") or {}).get("result") or []
        return [(dict(s["metric"]), float(s["value"][1])) for s in result]
    except (httpx.HTTPError, ValueError, KeyError, TypeError, IndexError):
        return []


def _value(samples: list[Sample]) -> float:
    return sum(value for _, value in samples)


def _number(args: Mapping[str, str], name: str | None) -> float:
    """The run's arg as a number; 0 without one (a reading, never a decision)."""
    try:
        return float(args.get(name, "0")) if name else 0.0
    except ValueError:
        return 0.0


def read_verdicts(
    client: httpx.Client,
    base_url: str,
    metrics: Sequence[tuple[str, str]],
    args: Mapping[str, str],
    scale: float,
) -> list[Reading]:
    """`metrics`: (name, last value) of each deciding metric; `args`: the run's arg values."""
    at = time.time()
    readings: list[Reading] = []
    for metric, value in metrics:
        parts = named(metric)
        if parts is None:
            continue
        network, signal = parts
        queries = {
            k: fill_args(q, args, where=metric) for k, q in count_queries(signal, network).items()
        }
        bar = args.get(_BARS[signal])
        if signal == "latency":
            under: dict[str, list[float]] = {}
            for i, role in enumerate(("canary", "stable")):
                for labels, count in _query(client, base_url, queries[f"{role}-under"], at):
                    under.setdefault(labels.get("le", "?"), [0.0, 0.0])[i] = count
            totals = [
                _value(_query(client, base_url, queries[f"{r}-total"], at))
                for r in ("canary", "stable")
            ]
            readings.append(
                latency_reading(
                    metric,
                    value,
                    bar,
                    {le: (c, s) for le, (c, s) in under.items()},
                    (totals[0], totals[1]),
                    scale,
                    _number(args, _MARGINS[signal]),
                    _number(args, _STALLS[signal]),
                )
            )
            continue
        counts = {k: _value(_query(client, base_url, q, at)) for k, q in queries.items()}
        readings.append(
            Reading(
                metric,
                value,
                bar,
                counts["canary-bad"],
                counts["canary-total"],
                counts["stable-bad"],
                counts["stable-total"],
            )
        )
    return readings
