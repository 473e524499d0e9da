"""The Prometheus metric provider, as Argo Rollouts' (`metricproviders/prometheus`) runs it.

An instant query at "now"; a scalar becomes a float, a vector a list of its sample values (label
sets dropped, in Prometheus' order), anything else or a failed query is an `Error` measurement.
The measurement's `value` string is formatted like Go's `model.SampleValue.String()`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
from paystream_ops.lab.analysis import Measurement, MetricSpec, evaluate_result
from paystream_ops.lab.expr import Result
from paystream_ops.lab.phases import Phase

QUERY_TIMEOUT_SECONDS = 30.0  # Argo's default provider timeout


def go_float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def parse_response(body: dict[str, Any]) -> Result:
    """The `result` a condition sees; ValueError for a result type Argo does not support."""
    if body.get("status") != "success":
        raise ValueError(str(body.get("error") or "query failed"))
    data = body["data"]
    kind = data.get("resultType")
    if kind == "scalar":
        return float(data["result"][1])
    if kind == "vector":
        return [float(sample["value"][1]) for sample in data["result"]]
    raise ValueError("Prometheus metric type not supported")


def format_result(result: Result) -> str:
    if isinstance(result, list):
        return "[" + ",".join(go_float(v) for v in result) + "]"
    return "" if result is None else go_float(result)


def prometheus_measure(
    client: httpx.Client, clock: Callable[[], float]
) -> Callable[[MetricSpec, float], Measurement]:
    """A `measure` function for AnalysisRun.reconcile that queries the metric's Prometheus."""

    def measure(metric: MetricSpec, now: float) -> Measurement:
        try:
            response = client.get(
                f"{metric.address.rstrip('/')}/api/v1/query",
                params={"query": metric.query, "time": f"{time.time():.3f}"},
                timeout=QUERY_TIMEOUT_SECONDS,
            )
            result = parse_response(response.json())
        except (httpx.HTTPError, ValueError, KeyError, IndexError) as exc:
            return Measurement(Phase.ERROR, now, clock(), message=str(exc) or type(exc).__name__)
        phase, message = evaluate_result(metric, result)
        values = (
            tuple(result) if isinstance(result, list) else (result,) if result is not None else ()
        )
        return Measurement(phase, now, clock(), format_result(result), message, values)

    return measure
