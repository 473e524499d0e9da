"""Durations as Argo Rollouts (Go `time.ParseDuration`) and Prometheus write them, and scaling.

The lab compresses time by a factor F: every duration it hands to a real component (an interval,
a pause, a PromQL range) is divided by F. Prometheus ranges only take integers per unit, so a
scaled range is written in whole milliseconds (`[12s]`, `[7500ms]`).
"""

from __future__ import annotations

import re

from paystream_ops.errors import UserError

_GO_UNITS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_GO_PART = re.compile(r"([0-9]*\.?[0-9]+|[0-9]+\.)(ns|us|µs|μs|ms|s|m|h)")
_PROM_UNITS: dict[str, float] = {
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
    "y": 31536000.0,
}
_PROM_DURATION = re.compile(r"(?:[0-9]+(?:ms|s|m|h|d|w|y))+")
_PROM_PART = re.compile(r"([0-9]+)(ms|s|m|h|d|w|y)")


def parse_go_duration(text: str, where: str) -> float:
    """Seconds in a Go duration string (`30s`, `1m30s`, `1.5h`, `250ms`), as Argo parses them."""
    raw = text.strip()
    sign = 1.0
    if raw[:1] in {"+", "-"}:
        sign = -1.0 if raw[0] == "-" else 1.0
        raw = raw[1:]
    if raw == "0":
        return 0.0
    pos = 0
    total = 0.0
    while pos < len(raw):
        match = _GO_PART.match(raw, pos)
        if match is None:
            raise UserError(f"{where}: {text!r} is not a duration (e.g. 30s, 5m, 1h30m)")
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        pos = match.end()
    if not raw:
        raise UserError(f"{where}: empty duration")
    return sign * total


def parse_pause_duration(value: object, where: str) -> float:
    """A pause `duration`: an integer number of seconds or a Go duration string."""
    if isinstance(value, bool):
        raise UserError(f"{where}: expected seconds or a duration string, got {value!r}")
    if isinstance(value, int):
        return float(value)
    if isinstance(value, str):
        if value.strip().isdigit():
            return float(value.strip())
        return parse_go_duration(value, where)
    raise UserError(f"{where}: expected seconds or a duration string, got {value!r}")


def is_prometheus_duration(text: str) -> bool:
    return _PROM_DURATION.fullmatch(text.strip()) is not None


def parse_prometheus_duration(text: str, where: str) -> float:
    """Seconds in a PromQL range such as `2m`, `1h30m` or `90s`."""
    if not _PROM_DURATION.fullmatch(text.strip()):
        raise UserError(f"{where}: {text!r} is not a Prometheus duration (e.g. 2m, 90s, 1h30m)")
    return sum(int(count) * _PROM_UNITS[unit] for count, unit in _PROM_PART.findall(text.strip()))


def format_prometheus_duration(seconds: float) -> str:
    """The shortest exact PromQL range for `seconds`, rounded to whole milliseconds."""
    millis = max(1, round(seconds * 1000))
    if millis % 1000:
        return f"{millis}ms"
    whole = millis // 1000
    if whole % 3600 == 0:
        return f"{whole // 3600}h"
    if whole % 60 == 0:
        return f"{whole // 60}m"
    return f"{whole}s"


def scale_prometheus_duration(text: str, time_scale: float, where: str) -> str:
    """`text` divided by the time scale, e.g. `2m` at 10x is `12s`."""
    return format_prometheus_duration(parse_prometheus_duration(text, where) / time_scale)


def format_seconds(seconds: float) -> str:
    """A human-readable duration for reports: `45s`, `2m05s`, `1h02m`."""
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.0f}s" if seconds >= 10 else f"{seconds:.1f}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
