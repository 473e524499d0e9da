"""The canary's figures in the staging evidence: which metrics are figures, what values they may
hold, and how a person reads them. Pure. A figure is shown, never judged: the verdict is the
deciding metrics' (docs/decisions/0123-evidence-table-from-the-last-step.md).
"""

from __future__ import annotations

import math

from paystream_ops.judge.figures import Figure, figure_of, looks_like_figure


def is_figure(metric: str) -> bool:
    return looks_like_figure(metric)


def numbers(value: str) -> list[float] | None:
    """The controller's value string ("0.1", "[0.1]", "[]", "") as numbers; None if it is not
    numbers (the evidence reader has already refused anything but numbers and brackets)."""
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return [float(item) for item in text.split(",")] if text else []
    except ValueError:
        return None


def check_figure(metric: str, value: str) -> str | None:
    """Why a figure's value cannot be what the canary saw (None: it can). A figure selects one
    network, so it holds at most one value; counts and seconds are >= 0, ratios in [0, 1];
    NaN (nothing to divide) is "no data"."""
    if not is_figure(metric):
        return None
    found = figure_of(metric)
    if found is None:
        return f"{metric}: not a figure this platform measures (`<network>-canary-<figure>`)"
    _, figure = found
    values = numbers(value)
    if values is None or len(values) > 1:
        return f"{metric}: a figure holds one network's value, got {value[:40]!r}"
    if not values or math.isnan(values[0]):
        return None
    number = values[0]
    if figure.unit == "ratio" and not 0 <= number <= 1:
        return f"{metric}: a ratio between 0 and 1, got {value[:40]!r}"
    if figure.unit == "count" and (number < 0 or math.isinf(number)):
        return f"{metric}: a count, got {value[:40]!r}"
    if figure.unit == "seconds" and number < 0:
        return f"{metric}: seconds >= 0, got {value[:40]!r}"
    return None


def shown(figure: Figure, value: str | None) -> str:
    """A checked figure as a person reads it: "1,234", "2.50%", "0.212 s"; "no data" for NaN
    or an empty result, "not measured" for a figure the run does not hold or that errored."""
    if value is None or value == "":
        return "not measured"
    values = numbers(value) or []
    if not values or math.isnan(values[0]):
        return "no data"
    number = values[0]
    if figure.unit == "count":
        return f"{number:,.0f}"
    if figure.unit == "ratio":
        return f"{number:.2%}"
    if math.isinf(number):
        return "over the last bucket"
    return f"{number:.3g} s"
