"""The synthetic-load Job's settings, read from its environment (the overlay's ConfigMap).

Pure: a mapping in, a frozen Settings or a one-line SettingsError naming the variable out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from paystream_loadgen.engine import NETWORKS

PREFIX = "PAYSTREAM_LOADGEN_"
URL = PREFIX + "URL"
RATE = PREFIX + "RATE_PER_SECOND"
CARD_MIX = PREFIX + "CARD_MIX"
DURATION = PREFIX + "DURATION_SECONDS"
REPORT = PREFIX + "REPORT_SECONDS"
CONNECTIONS = PREFIX + "CONNECTIONS"
TIMEOUT = PREFIX + "TIMEOUT_SECONDS"
KNOWN = (URL, RATE, CARD_MIX, DURATION, REPORT, CONNECTIONS, TIMEOUT)
# A guard against a typo that would overload the shared staging service, not a target.
MAX_RATE_PER_SECOND = 2000.0


class SettingsError(ValueError):
    """A setting the generator cannot run with; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    host_header: str
    rate_per_second: float
    card_mix: dict[str, float]  # shares summing to 1
    duration_seconds: float  # 0: until SIGTERM (the analysis run deletes the Job)
    report_seconds: float = 10.0
    connections: int = 16
    timeout_seconds: float = 5.0

    def engine_config(self) -> dict[str, Any]:
        """The engine's config: one target (the route; the mesh splits it), test cards only."""
        return {
            "targets": [{"host": self.host, "port": self.port}],
            "canary_weight": 0,
            "rate": self.rate_per_second,
            "card_mix": dict(self.card_mix),
            "cards": "test",
            "host_header": self.host_header,
            "merchant_prefix": "synthetic",
            "connections": self.connections,
            "timeout_seconds": self.timeout_seconds,
        }


def parse_card_mix(text: str) -> dict[str, float]:
    """`visa=50,mastercard=30,amex=12,discover=8` (any positive weights) to shares summing to 1."""
    weights: dict[str, float] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in NETWORKS:
            raise SettingsError(
                f"{CARD_MIX}: {item!r} is not NETWORK=WEIGHT with NETWORK one of "
                f"{', '.join(NETWORKS)}"
            )
        if name in weights:
            raise SettingsError(f"{CARD_MIX}: {name} given twice")
        weights[name] = _number(value, CARD_MIX, minimum=0.0)
    total = sum(weights.values())
    if total <= 0:
        raise SettingsError(f"{CARD_MIX}: needs at least one network with a positive weight")
    return {name: weights.get(name, 0.0) / total for name in NETWORKS}


def _number(text: str, name: str, minimum: float, maximum: float = math.inf) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name}: expected a number, got {text!r}") from None
    if not math.isfinite(value) or not minimum <= value <= maximum:
        raise SettingsError(f"{name}: expected {minimum:g}..{maximum:g}, got {text!r}")
    return value


def _url(text: str) -> tuple[str, int, str]:
    parts = urlsplit(text)
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
        raise SettingsError(
            f"{URL}: expected http://HOST[:PORT] (the route; the mesh adds mTLS), got {text!r}"
        )
    try:
        port = parts.port or 80
    except ValueError:
        raise SettingsError(f"{URL}: bad port in {text!r}") from None
    return parts.hostname, port, parts.netloc


def parse_settings(env: Mapping[str, str]) -> Settings:
    """Settings from the environment; URL, rate and card mix are required."""
    missing = [name for name in (URL, RATE, CARD_MIX) if not env.get(name)]
    if missing:
        raise SettingsError(f"{missing[0]}: required")
    unknown = sorted(k for k in env if k.startswith(PREFIX) and k not in KNOWN)
    if unknown:
        raise SettingsError(f"{unknown[0]}: unknown setting (known: {', '.join(KNOWN)})")
    host, port, netloc = _url(env[URL])
    return Settings(
        host=host,
        port=port,
        host_header=netloc,
        rate_per_second=_number(env[RATE], RATE, minimum=0.001, maximum=MAX_RATE_PER_SECOND),
        card_mix=parse_card_mix(env[CARD_MIX]),
        duration_seconds=_number(env.get(DURATION, "0"), DURATION, minimum=0.0),
        report_seconds=_number(env.get(REPORT, "10"), REPORT, minimum=0.1),
        connections=int(_number(env.get(CONNECTIONS, "16"), CONNECTIONS, 1, 1024)),
        timeout_seconds=_number(env.get(TIMEOUT, "5"), TIMEOUT, minimum=0.1, maximum=60.0),
    )


def required_rate_per_second(
    min_requests: float,
    seconds_to_first_measurement: float,
    first_canary_weight_percent: float,
    card_mix: Mapping[str, float],
) -> float:
    """The rate at which every network's canary share reaches `min_requests` by the first
    measurement: min_requests / (seconds x weight x the smallest network share)."""
    smallest = min(card_mix.get(n, 0.0) for n in NETWORKS)
    if smallest <= 0:
        return math.inf  # a network the mix never sends can never reach its minimum
    return min_requests / (
        seconds_to_first_measurement * first_canary_weight_percent / 100.0 * smallest
    )
