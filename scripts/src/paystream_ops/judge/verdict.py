"""A verdict a person reads: "Visa: failures 2.7% (34 of 1,250) against stable's 0.06%".

Argo Rollouts keeps a metric's name and its value (one score per network metric, labels
dropped), so the name says the network and signal and the value how far beyond chance the
canary is. The rates beside it come from the same counts the score was computed on, read by
whoever has the Prometheus (the lab's report). see docs/decisions/0063-reading-a-verdict.md
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from paystream_auth.networks import NETWORKS

from paystream_ops.judge.budget import boundary_margin
from paystream_ops.judge.signals import SIGNALS

_TITLES = {s.name: s.title for s in SIGNALS}


def named(metric: str) -> tuple[str, str] | None:
    """`visa-failures` -> ("visa", "failures"); None for a name the judge did not make."""
    network, _, signal = metric.partition("-")
    if network in NETWORKS and signal in _TITLES:
        return network, signal
    return None


def headline(metric: str) -> str:
    """ "Visa: failures" for `visa-failures`; the name itself for any other metric."""
    parts = named(metric)
    if parts is None:
        return metric
    network, signal = parts
    label = {"mastercard": "Mastercard", "amex": "Amex"}.get(network, network.capitalize())
    return f"{label}: {_TITLES[signal]}"


def short(value: str) -> str:
    """A measured value as a person reads it: "[9.943426876229159]" -> "9.94" (3 digits)."""
    parts = []
    for item in value.strip().strip("[]").split(","):
        try:
            number = float(item)
        except ValueError:
            parts.append(item.strip())
            continue
        parts.append(f"{number:.3g}" if math.isfinite(number) else item.strip())
    return ", ".join(p for p in parts if p)


def describe_value(metric: str, value: str) -> str:
    """ "Visa: failures, score 9.31 (visa-failures)": what a notification or a pull request
    shows when only the name and the value are known."""
    shown = short(value) or "no value"
    if named(metric) is None:
        return f"{metric} {shown}"
    return f"{headline(metric)}, score {shown} ({metric})"


def score(xc: float, nc: float, xs: float, ns: float, margin: float = 0.0) -> float:
    """The judge's score (signals.py), in Python, for the reading's own figures and tests."""
    if nc <= 0 or ns <= 0:
        return math.nan
    excess = xc - nc * (xs / ns + margin)
    pooled = max(0.0, (xc + xs) / (nc + ns))  # counts read apart can dip below 0: no crash
    return excess / math.sqrt(nc * pooled * (1 + nc / ns) + 1)


@dataclass(frozen=True)
class Reading:
    """The counts behind one network-and-signal verdict, over the analysis window."""

    metric: str
    value: str  # what the metric measured (the score)
    bar: str | None
    canary_bad: float
    canary_total: float
    stable_bad: float
    stable_total: float
    boundary_seconds: float | None = None  # latency: "slower than" this (real time)
    margin: float | None = None  # latency: what stable's ratio is raised by at that boundary

    def sentence(self) -> str:
        def pct(bad: float, total: float) -> str:
            return "-" if total <= 0 else f"{bad / total:.2%}"

        what = headline(self.metric)
        if self.boundary_seconds is not None:
            what += f" over {self.boundary_seconds:g} s"
        bar = f", bar {self.bar}" if self.bar else ""
        margin = f" + margin {self.margin:.2%}" if self.margin else ""
        return (
            f"{what} {pct(self.canary_bad, self.canary_total)} "
            f"({self.canary_bad:,.0f} of {self.canary_total:,.0f}) against stable's "
            f"{pct(self.stable_bad, self.stable_total)} "
            f"({self.stable_bad:,.0f} of {self.stable_total:,.0f}){margin}; "
            f"score {short(self.value) or '-'}{bar}"
        )


def latency_reading(
    metric: str,
    value: str,
    bar: str | None,
    under: dict[str, tuple[float, float]],
    totals: tuple[float, float],
    scale: float,
    margin: float = 0.0,
    stall: float = 0.0,
) -> Reading:
    """The boundary where canary and stable differ most; `under[le]` = (canary, stable);
    `margin` and `stall` as the run's args (lab seconds), shaped per boundary as the judge does."""
    nc, ns = totals

    def margin_at(le: str) -> float:
        return boundary_margin(float(le), margin, stall) if stall else margin

    def at(le: str) -> float:
        s = score(nc - under[le][0], nc, ns - under[le][1], ns, margin_at(le))
        return -math.inf if math.isnan(s) else s

    le = max(under, key=at) if under else None
    if le is None:
        return Reading(metric, value, bar, 0, nc, 0, ns, margin=margin or None)
    slower = (nc - under[le][0], ns - under[le][1])
    return Reading(
        metric, value, bar, slower[0], nc, slower[1], ns, float(le) * scale, margin_at(le) or None
    )
