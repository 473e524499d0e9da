"""The service's Prometheus metrics (names and labels are a contract, see DESIGN.md).

Every label child is created once at start-up and kept in a dict: `.labels()` costs ~2.5 us per
call, a dict lookup ~0.05 us. Creating all children up front also exports every series at zero,
so a query over a quiet network returns 0 instead of an empty result.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from paystream_auth.breaker import BREAKER_STATES, STATE_VALUES, BreakerState
from paystream_auth.multiproc import reading
from paystream_auth.networks import METRIC_NETWORKS, NETWORKS, OUTCOMES, Network

# 5 ms .. 5 s; 2.5 s is the latency SLO, 2 s the default processor deadline (timeouts land in
# the (2, 2.5] bucket, so they are visible apart from slow successes).
DURATION_BUCKETS: Final = (
    0.005,
    0.01,
    0.015,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.4,
    0.5,
    0.75,
    1.0,
    1.5,
    2.0,
    2.5,
    5.0,
)

# 0.5 ms .. 1 s: a healthy store answers in about a millisecond; its own timeout is 100 ms.
STORE_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
STORE_OPERATIONS: Final = ("claim", "complete", "release", "reverse")
STORE_RESULTS: Final = ("ok", "error", "timeout", "rejected")
IDEMPOTENCY_REJECTIONS: Final = ("in_flight", "mismatch", "store_unavailable", "reversing")
# reversed: a hold released; not_authorized: the network had none; failed: attempts exhausted.
REVERSAL_RESULTS: Final = ("reversed", "not_authorized", "failed")

# The classic text format Prometheus 2.x parses; Litestar appends `charset=utf-8` to text types.
CONTENT_TYPE: Final = "text/plain; version=0.0.4"


class ServiceMetrics:
    def __init__(self, version: str, revision: str, multiproc_dir: Path | None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._multiproc_dir = multiproc_dir
        requests = Counter(
            "paystream_auth_requests",
            "Authorization requests by card network and outcome.",
            ["network", "outcome"],
            registry=self.registry,
        )
        duration = Histogram(
            "paystream_auth_request_duration_seconds",
            "Authorization latency by card network (requests that passed validation).",
            ["network"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        # `livemax`: across workers the worst state wins, and a worker that exits stops counting.
        state = Gauge(
            "paystream_auth_circuit_breaker_state",
            "Circuit breaker state per network: 0 closed, 1 half-open, 2 open.",
            ["network"],
            multiprocess_mode="livemax",
            registry=self.registry,
        )
        transitions = Counter(
            "paystream_auth_circuit_breaker_transitions",
            "Circuit breaker state changes per network and target state.",
            ["network", "to"],
            registry=self.registry,
        )
        # Requests carrying a published test card (paystream_auth.test_cards): synthetic load.
        # A separate family, so the analysis' and SLO queries stay as they are.
        synthetic = Counter(
            "paystream_auth_synthetic_requests",
            "Authorization requests with a published test card (synthetic load), by outcome.",
            ["network", "outcome"],
            registry=self.registry,
        )
        build_info = Gauge(
            "paystream_auth_build_info",
            "Always 1; labels carry the running version and revision.",
            ["version", "revision"],
            multiprocess_mode="max",
            registry=self.registry,
        )
        build_info.labels(version=version, revision=revision).set(1)
        self._requests: dict[tuple[str, str], Any] = {
            (network, outcome): requests.labels(network=network, outcome=outcome)
            for network in METRIC_NETWORKS
            for outcome in OUTCOMES
        }
        self._synthetic: dict[tuple[str, str], Any] = {
            (network, outcome): synthetic.labels(network=network, outcome=outcome)
            for network in NETWORKS
            for outcome in OUTCOMES
        }
        self._duration: dict[str, Any] = {
            network: duration.labels(network=network) for network in METRIC_NETWORKS
        }
        self._state: dict[str, Any] = {
            network: state.labels(network=network) for network in NETWORKS
        }
        for child in self._state.values():
            child.set(0)
        self._transitions: dict[tuple[str, str], Any] = {
            (network, to): transitions.labels(network=network, to=to)
            for network in NETWORKS
            for to in BREAKER_STATES
        }

        self._init_idempotency()
        self._init_reversals()

    def _init_reversals(self) -> None:
        reversals = Counter(
            "paystream_auth_reversals",
            "Reversals of timed-out authorizations by network and final result.",
            ["network", "result"],
            registry=self.registry,
        )
        # Ground truth only the simulated network knows; a real one is reconciled from reports.
        holds = Counter(
            "paystream_auth_unreversed_holds",
            "Timed-out calls the simulated network had authorized and no reversal released.",
            ["network"],
            registry=self.registry,
        )
        self._reversals: dict[tuple[str, str], Any] = {
            (network, result): reversals.labels(network=network, result=result)
            for network in NETWORKS
            for result in REVERSAL_RESULTS
        }
        self._holds: dict[str, Any] = {
            network: holds.labels(network=network) for network in NETWORKS
        }
        # Replays are not network calls: approvals per network against approved keys at the
        # caller is the lab's double-authorization count (docs/decisions/0118-*).
        approvals = Counter(
            "paystream_auth_keyed_approvals",
            "Approvals the card network gave to requests carrying an Idempotency-Key.",
            ["network"],
            registry=self.registry,
        )
        self._keyed_approvals: dict[str, Any] = {
            network: approvals.labels(network=network) for network in NETWORKS
        }

    def keyed_approval(self, network: str) -> None:
        self._keyed_approvals[network].inc()

    def reversal(self, network: str, result: str, hold_left: bool) -> None:
        self._reversals[network, result].inc()
        if hold_left:
            self._holds[network].inc()

    def _init_idempotency(self) -> None:
        operations = Counter(
            "paystream_auth_idempotency_store_operations",
            "Idempotency store calls by operation and result (ok, error, timeout, rejected).",
            ["operation", "result"],
            registry=self.registry,
        )
        duration = Histogram(
            "paystream_auth_idempotency_store_duration_seconds",
            "Idempotency store call latency by operation, failures included.",
            ["operation"],
            buckets=STORE_BUCKETS,
            registry=self.registry,
        )
        rejections = Counter(
            "paystream_auth_idempotency_rejections",
            "Requests with an Idempotency-Key answered without authorizing, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self._store_operations: dict[tuple[str, str], Any] = {
            (operation, result): operations.labels(operation=operation, result=result)
            for operation in STORE_OPERATIONS
            for result in STORE_RESULTS
        }
        self._store_duration: dict[str, Any] = {
            operation: duration.labels(operation=operation) for operation in STORE_OPERATIONS
        }
        self._rejections: dict[str, Any] = {
            reason: rejections.labels(reason=reason) for reason in IDEMPOTENCY_REJECTIONS
        }

    def store_call(self, operation: str, result: str, seconds: float) -> None:
        self._store_operations[operation, result].inc()
        self._store_duration[operation].observe(seconds)

    def idempotency_rejected(self, reason: str) -> None:
        self._rejections[reason].inc()

    def count(self, network: str, outcome: str) -> None:
        self._requests[network, outcome].inc()

    def count_synthetic(self, network: str, outcome: str) -> None:
        self._synthetic[network, outcome].inc()

    def observe(self, network: str, seconds: float) -> None:
        self._duration[network].observe(seconds)

    def breaker_transition(self, network: Network, state: BreakerState) -> None:
        self._state[network].set(STATE_VALUES[state])
        self._transitions[network, state].inc()

    def exposition(self) -> bytes:
        """The text exposition: this process's registry, or every worker's files when shared."""
        if self._multiproc_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        collector: Callable[..., object] = MultiProcessCollector
        collector(registry, path=str(self._multiproc_dir))
        with reading(self._multiproc_dir):  # a respawned worker may be compacting
            return generate_latest(registry)
