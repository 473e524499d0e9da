"""The card networks the service routes to, and the outcome vocabulary shared with the metrics."""

from __future__ import annotations

from typing import Final, Literal, get_args

Network = Literal["visa", "mastercard", "amex", "discover"]
NETWORKS: Final[tuple[Network, ...]] = ("visa", "mastercard", "amex", "discover")

# `unknown` labels a request rejected before its network is known (contract in DESIGN.md).
UNKNOWN_NETWORK: Final = "unknown"
METRIC_NETWORKS: Final[tuple[str, ...]] = (*NETWORKS, UNKNOWN_NETWORK)

Outcome = Literal[
    "approved",
    "declined",
    "processor_error",
    "timeout",
    "circuit_open",
    "idempotency_unavailable",
    "unexpected_error",
    "invalid",
]
OUTCOMES: Final[tuple[Outcome, ...]] = get_args(Outcome)
# The one home of the failure set: SLO rules, alerts, analysis, dashboards and the lab derive
# from it. A decline is an answer and `invalid` is the client's fault: neither is ever a failure
# (decision 0013); an unexpected exception (decision 0070) and a keyed request refused for want
# of the idempotency store (decision 0071) are. Records: docs/decisions/.
FAILURE_OUTCOMES: Final[tuple[Outcome, ...]] = (
    "processor_error",
    "timeout",
    "circuit_open",
    "idempotency_unavailable",
    "unexpected_error",
)


def failure_regex() -> str:
    """The failure set as a PromQL regex alternation (`processor_error|timeout|...`)."""
    return "|".join(FAILURE_OUTCOMES)
