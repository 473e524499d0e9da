"""What the lab's callers lived through, per network: retries, double authorizations, holds left.

Retrying callers (scenario `traffic.callers: retrying`) send every authorization with an
Idempotency-Key and retry a failed one with the same key
(docs/decisions/0118-lab-callers-retry-with-the-same-key.md). Two counts come from the service
processes (stable and canary, summed), because only the network side can see them:
- `paystream_auth_keyed_approvals_total`: approvals the network gave to keyed requests (a replay
  is not a network call). One per key the callers saw approved, unless a key was authorized twice;
  the excess is the run's *double authorizations* (a second approval whose answer the caller never
  saw is still a second hold on the card);
- `paystream_auth_unreversed_holds_total`: timed-out calls the simulated network had authorized
  and no reversal cleared (decision 0100), the *holds left*.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from paystream_ops.lab.accounting import Sample
from paystream_ops.lab.loadgen import CALLER_FIELDS, NETWORKS, caller_index
from prometheus_client.parser import text_string_to_metric_families

KEYED_APPROVALS = "paystream_auth_keyed_approvals"
UNREVERSED_HOLDS = "paystream_auth_unreversed_holds"


REVERSALS = "paystream_auth_reversals"


@dataclass(frozen=True)
class NetworkSide:
    """The service processes' own counts, per network, summed over stable and canary."""

    approvals: Mapping[str, int]
    holds_left: Mapping[str, int]
    # Holds reversals released (`result="reversed"`): holds left at 0 is then not for want of any.
    reversed: Mapping[str, int] = field(default_factory=dict)


def network_side(expositions: Iterable[str]) -> NetworkSide:
    """Sum both counters per network over the processes' `/metrics` texts."""
    approvals = dict.fromkeys(NETWORKS, 0)
    holds = dict.fromkeys(NETWORKS, 0)
    reversed_ = dict.fromkeys(NETWORKS, 0)
    counters = {f"{KEYED_APPROVALS}_total": approvals, f"{UNREVERSED_HOLDS}_total": holds}
    for text in expositions:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                into = counters.get(sample.name)
                if (
                    sample.name == f"{REVERSALS}_total"
                    and sample.labels.get("result") == "reversed"
                ):
                    into = reversed_
                network = sample.labels.get("network", "")
                if into is not None and network in into:
                    into[network] += round(sample.value)
    return NetworkSide(approvals, holds, reversed_)


@dataclass(frozen=True)
class NetworkCallers:
    network: str
    keys: int  # customers: one key each
    retries: int
    served: int  # keys that ended with an answer (approved or declined)
    served_after_retry: int
    approved: int  # keys the callers saw approved
    gave_up: int  # retries spent, or refused (4xx)
    network_approvals: int
    holds_left: int
    reversed: int = 0  # holds a reversal released
    unanswered: int = 0  # sent, no answer yet when the run stopped: outcome unknown to the caller

    @property
    def double_authorizations(self) -> int:
        """Network approvals beyond one per key the callers saw approved, less the requests
        still unanswered at the end (their approval may be their first) (goal: 0)."""
        return max(0, self.network_approvals - self.approved - self.unanswered)

    @property
    def unfinished(self) -> int:
        """Keys still in flight or waiting for a retry when the run stopped."""
        return max(0, self.keys - self.served - self.gave_up)


@dataclass(frozen=True)
class CallerReport:
    retrying: bool
    per_network: tuple[NetworkCallers, ...]

    def total(self, name: str) -> int:
        return sum(int(getattr(n, name)) for n in self.per_network)


def caller_report(final: Sample | None, side: NetworkSide, retrying: bool) -> CallerReport:
    counts = final.callers if final is not None and final.callers else ()
    unanswered = final.unanswered if final is not None else ()

    def get(network: int, name: str) -> int:
        index = caller_index(network, CALLER_FIELDS.index(name))
        return counts[index] if index < len(counts) else 0

    return CallerReport(
        retrying,
        tuple(
            NetworkCallers(
                name,
                keys=get(i, "keys"),
                retries=get(i, "retries"),
                served=get(i, "served"),
                served_after_retry=get(i, "served_after_retry"),
                approved=get(i, "approved"),
                gave_up=get(i, "gave_up"),
                network_approvals=side.approvals.get(name, 0),
                holds_left=side.holds_left.get(name, 0),
                reversed=side.reversed.get(name, 0),
                unanswered=unanswered[i] if i < len(unanswered) else 0,
            )
            for i, name in enumerate(NETWORKS)
        ),
    )
