"""The card networks the service routes to, and the outcome vocabulary shared with the metrics."""

from __future__ import annotations

from typing import Final, Literal

Network = Literal["visa", "mastercard", "amex", "discover"]
NETWORKS: Final[tuple[Network, ...]] = ("visa", "mastercard", "amex", "discover")

# `unknown` labels a request rejected before its network is known (contract in DESIGN.md).
UNKNOWN_NETWORK: Final = "unknown"
METRIC_NETWORKS: Final[tuple[str, ...]] = (*NETWORKS, UNKNOWN_NETWORK)

Outcome = Literal["approved", "declined", "processor_error", "timeout", "circuit_open", "invalid"]
OUTCOMES: Final[tuple[Outcome, ...]] = (
    "approved",
    "declined",
    "processor_error",
    "timeout",
    "circuit_open",
    "invalid",
)
# A decline is an answer and `invalid` is the client's fault: neither is ever a failure.
FAILURE_OUTCOMES: Final[frozenset[Outcome]] = frozenset(
    {"processor_error", "timeout", "circuit_open"}
)
