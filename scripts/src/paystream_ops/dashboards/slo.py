"""The PayStream authorization SLOs and their burn-rate alerting policy, as plain data.

Windows and burn rates follow the Google SRE workbook ("Alerting on SLOs", multiwindow,
multi-burn-rate alerts) for a 30-day budget: a page when 2% of the budget goes in 1 h (burn 14.4)
or 5% in 6 h (burn 6), a ticket when 10% goes in 1 d (burn 3) or in 3 d (burn 1). Each long
window is confirmed by a short window of 1/12 its length, so an alert stops soon after the burn
does.
"""

from __future__ import annotations

from dataclasses import dataclass

from paystream_auth.networks import FAILURE_OUTCOMES

JOB = "auth-service"
NAMESPACE_LABEL = "namespace"
# The service's own failure set, never a copy (decision 0070).
FAILED_OUTCOMES: tuple[str, ...] = tuple(FAILURE_OUTCOMES)
# `invalid` is the client's fault: it is neither a good nor a bad event, so it leaves the SLI.
INELIGIBLE_OUTCOMES: tuple[str, ...] = ("invalid",)
NETWORKS: tuple[str, ...] = ("visa", "mastercard", "amex", "discover")

BUDGET_PERIOD_DAYS = 30
# A page or a ticket needs this many bad events in the long window: a quiet night with a handful
# of requests and one timeout is not a burn. A count of bad events (not a minimum request rate)
# still pages for a complete outage of a low-traffic network.
MIN_BAD_EVENTS = 10

GRAFANA_URL = "https://grafana.paystream.internal"
DASHBOARD_UID = "paystream-auth-service"
DASHBOARD_SLUG = "paystream-auth-service"
RUNBOOK_URL = "https://github.com/paystream/platform/blob/main/RUNBOOK.md"

WINDOW_SECONDS: dict[str, int] = {
    "5m": 300,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "6h": 21600,
    "1d": 86400,
    "3d": 259200,
}


@dataclass(frozen=True)
class BurnTier:
    """One multiwindow burn-rate condition: both windows must burn faster than `burn_rate`."""

    severity: str  # "page" or "ticket": the Alertmanager route
    long_window: str
    short_window: str
    burn_rate: float

    @property
    def budget_spent_percent(self) -> float:
        """Share of the 30-day budget gone when the long window burns at exactly `burn_rate`."""
        period = BUDGET_PERIOD_DAYS * 86400
        return 100 * self.burn_rate * WINDOW_SECONDS[self.long_window] / period


BURN_TIERS: tuple[BurnTier, ...] = (
    BurnTier("page", "1h", "5m", 14.4),
    BurnTier("page", "6h", "30m", 6.0),
    BurnTier("ticket", "1d", "2h", 3.0),
    BurnTier("ticket", "3d", "6h", 1.0),
)


@dataclass(frozen=True)
class Slo:
    """An SLO over a ratio of bad to eligible events, recorded per network and rollout role."""

    name: str  # "availability" or "latency": the `slo` label
    alert: str
    objective: float
    summary: str
    eligible: str  # recording-rule metric stem of the eligible events
    bad: str  # recording-rule metric stem of the bad events
    bad_description: str

    @property
    def budget(self) -> float:
        return round(1 - self.objective, 10)


AVAILABILITY = Slo(
    name="availability",
    alert="PaystreamAuthAvailabilityBudgetBurn",
    objective=0.999,
    summary="99.9% of eligible authorizations succeed; declines are answers, not failures",
    eligible="paystream_auth_requests_eligible",
    bad="paystream_auth_requests_failed",
    bad_description=f"failed ({', '.join(FAILED_OUTCOMES[:-1])} or {FAILED_OUTCOMES[-1]})",
)

LATENCY_THRESHOLD_SECONDS = "2.5"  # the histogram's `le` bucket the latency SLO counts under

LATENCY = Slo(
    name="latency",
    alert="PaystreamAuthLatencyBudgetBurn",
    objective=0.99,
    summary=f"99% of authorizations answer within {LATENCY_THRESHOLD_SECONDS} s",
    eligible="paystream_auth_requests_timed",
    bad="paystream_auth_requests_slow",
    bad_description=f"took longer than {LATENCY_THRESHOLD_SECONDS} s",
)

SLOS: tuple[Slo, ...] = (AVAILABILITY, LATENCY)


@dataclass(frozen=True)
class Floor:
    """A floor under a ratio of good to eligible events: alert when both windows fall below it."""

    name: str  # the `slo` label
    alert: str
    floor: float
    summary: str
    good_outcomes: tuple[str, ...]
    good: str  # recording-rule metric stem of the good events
    good_description: str
    long_window: str
    short_window: str
    # Eligible events the long window needs: a handful of declines at night is not a floor breach.
    min_eligible: int
    severity: str


# The seed's success-rate floor: success is an approval, over every eligible authorization
# (declines and failures both fall short of it). see docs/decisions/0072-success-rate-floor.md
SUCCESS_RATE = Floor(
    name="success_rate",
    alert="PaystreamAuthSuccessRateBelowFloor",
    floor=0.8,
    summary="more than 80% of eligible authorizations are approved",
    good_outcomes=("approved",),
    good="paystream_auth_requests_approved",
    good_description="were approved",
    long_window="30m",
    short_window="5m",
    min_eligible=100,
    severity="page",
)


@dataclass(frozen=True)
class AnswerShare:
    """A share of the answered requests per network and role, for canary against stable."""

    bad_outcomes: tuple[str, ...]
    answered_outcomes: tuple[str, ...]
    bad: str  # recording-rule metric stems
    answered: str
    window: str


# The analysis's approvals signal (declines among answers, canary against stable; failures and
# invalid requests are in neither count), for PaystreamAuthCanaryDeclining.
# see docs/decisions/0064-approval-rate-signal.md
DECLINES = AnswerShare(
    bad_outcomes=("declined",),
    answered_outcomes=("approved", "declined"),
    bad="paystream_auth_requests_declined",
    answered="paystream_auth_requests_answered",
    window="5m",
)


@dataclass(frozen=True)
class Level:
    """An aggregation level of the recording rules: its prefix and the labels it keeps."""

    prefix: str
    by: tuple[str, ...]


NETWORK_ROLE = Level("network_role", ("namespace", "job", "network", "role"))
NETWORK = Level("network", ("namespace", "job", "network"))
JOB_LEVEL = Level("job", ("namespace", "job"))
LEVELS: tuple[Level, ...] = (NETWORK_ROLE, NETWORK, JOB_LEVEL)

QUANTILES: tuple[tuple[str, float], ...] = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))


def windows() -> tuple[str, ...]:
    """Every window a burn tier reads, shortest first."""
    used = {w for tier in BURN_TIERS for w in (tier.long_window, tier.short_window)}
    return tuple(sorted(used, key=WINDOW_SECONDS.__getitem__))


def recorded(level: Level, stem: str, window: str, *, ratio: bool = False) -> str:
    """The name of a recorded SLI series, e.g. `network:paystream_auth_requests_failed:rate5m`."""
    return f"{level.prefix}:{stem}:{'ratio_rate' if ratio else 'rate'}{window}"


def dashboard_url(params: str = "") -> str:
    base = f"{GRAFANA_URL}/d/{DASHBOARD_UID}/{DASHBOARD_SLUG}"
    return f"{base}?{params}" if params else base


def runbook_url(alert: str) -> str:
    """The RUNBOOK.md section of an alert: its heading is the alert name."""
    return f"{RUNBOOK_URL}#{alert.lower()}"
