"""The SLO PrometheusRule: SLI recording rules per network and role, and burn-rate alerts.

Only the `network_role` level reads the raw counters; `network` and `job` sum the level below,
so each window's raw range query runs once. Every function here is pure: spec in, dict out.
"""

from __future__ import annotations

from typing import Any

from paystream_ops.dashboards.slo import (
    AVAILABILITY,
    BUDGET_PERIOD_DAYS,
    BURN_TIERS,
    DECLINES,
    FAILED_OUTCOMES,
    INELIGIBLE_OUTCOMES,
    JOB,
    JOB_LEVEL,
    LATENCY,
    LATENCY_THRESHOLD_SECONDS,
    LEVELS,
    MIN_BAD_EVENTS,
    NETWORK,
    NETWORK_ROLE,
    QUANTILES,
    SLOS,
    SUCCESS_RATE,
    WINDOW_SECONDS,
    AnswerShare,
    BurnTier,
    Floor,
    Level,
    Slo,
    dashboard_url,
    recorded,
    runbook_url,
    windows,
)

Rule = dict[str, Any]
Group = dict[str, Any]

REQUESTS = "paystream_auth_requests_total"
DURATION = "paystream_auth_request_duration_seconds"
RULE_NAME = "auth-service-slo"
COMMON_LABELS = {"app.kubernetes.io/name": "auth-service", "app.kubernetes.io/part-of": "paystream"}
TEAM = "paystream"


def _matcher(label: str, values: tuple[str, ...], *, negate: bool = False) -> str:
    """`label="v"` for one value, `label=~"a|b"` for several (`!=`/`!~` when negated)."""
    op = ("!" if negate else "=") + ("~" if len(values) > 1 else ("=" if negate else ""))
    return f'{label}{op}"{"|".join(values)}"'


def _by(level: Level) -> str:
    return ", ".join(level.by)


def _raw_rules(window: str) -> list[Rule]:
    """The `network_role` SLIs for one window, read from the service's own counters."""
    by = _by(NETWORK_ROLE)
    ineligible = _matcher("outcome", INELIGIBLE_OUTCOMES, negate=True)
    failed = _matcher("outcome", FAILED_OUTCOMES)
    eligible = recorded(NETWORK_ROLE, AVAILABILITY.eligible, window)
    timed = recorded(NETWORK_ROLE, LATENCY.eligible, window)
    return [
        {
            "record": eligible,
            "expr": f'sum by ({by}) (rate({REQUESTS}{{job="{JOB}", {ineligible}}}[{window}]))',
        },
        {
            # `or 0 * eligible`: a network with no failure yet still has a 0 ratio, not no data.
            "record": recorded(NETWORK_ROLE, AVAILABILITY.bad, window),
            "expr": f'sum by ({by}) (rate({REQUESTS}{{job="{JOB}", {failed}}}'
            f"[{window}]))\nor\n0 * {eligible}",
        },
        {
            # `unknown` is a request rejected before its network is known: never an SLI event.
            "record": timed,
            "expr": f'sum by ({by}) (rate({DURATION}_count{{job="{JOB}", network!="unknown"}}'
            f"[{window}]))",
        },
        {
            "record": recorded(NETWORK_ROLE, LATENCY.bad, window),
            "expr": f"clamp_min(\n  {timed}\n  - sum by ({by}) (rate({DURATION}_bucket"
            f'{{job="{JOB}", network!="unknown", le="{LATENCY_THRESHOLD_SECONDS}"}}'
            f"[{window}])),\n  0\n)",
        },
    ]


def _sum_rules(level: Level, below: Level, window: str) -> list[Rule]:
    return [
        {
            "record": recorded(level, stem, window),
            "expr": f"sum by ({_by(level)}) ({recorded(below, stem, window)})",
        }
        for slo in SLOS
        for stem in (slo.eligible, slo.bad)
    ]


def _ratio_rules(level: Level, window: str) -> list[Rule]:
    return [
        {
            "record": recorded(level, slo.bad, window, ratio=True),
            "expr": "\n/\n".join(
                (recorded(level, slo.bad, window), recorded(level, slo.eligible, window))
            ),
        }
        for slo in SLOS
    ]


def sli_group(window: str) -> Group:
    rules = _raw_rules(window)
    below = NETWORK_ROLE
    for level in LEVELS:
        if level is not NETWORK_ROLE:
            rules += _sum_rules(level, below, window)
            below = level
        rules += _ratio_rules(level, window)
    return {"name": f"paystream-auth-sli-{window}", "rules": rules}


def floor_group(floor: Floor) -> Group:
    """The good events of a floor per level for its two windows, and their ratio to eligible.

    The eligible series are the availability SLI's (recorded in the SLI groups).
    """
    rules: list[Rule] = []
    good = _matcher("outcome", floor.good_outcomes)
    for window in (floor.short_window, floor.long_window):
        eligible = recorded(NETWORK_ROLE, AVAILABILITY.eligible, window)
        rules.append(
            {
                # `or 0 * eligible`: a network that approves nothing reads 0, not no data.
                "record": recorded(NETWORK_ROLE, floor.good, window),
                "expr": f'sum by ({_by(NETWORK_ROLE)}) (rate({REQUESTS}{{job="{JOB}", {good}}}'
                f"[{window}]))\nor\n0 * {eligible}",
            }
        )
        below = NETWORK_ROLE
        for level in LEVELS:
            if level is not NETWORK_ROLE:
                rules.append(
                    {
                        "record": recorded(level, floor.good, window),
                        "expr": f"sum by ({_by(level)}) ({recorded(below, floor.good, window)})",
                    }
                )
                below = level
            rules.append(
                {
                    "record": recorded(level, floor.good, window, ratio=True),
                    "expr": "\n/\n".join(
                        (
                            recorded(level, floor.good, window),
                            recorded(level, AVAILABILITY.eligible, window),
                        )
                    ),
                }
            )
    return {"name": f"paystream-auth-{floor.name.replace('_', '-')}", "rules": rules}


def floor_alert(floor: Floor, level: Level) -> Rule:
    """Both windows below the floor, with enough eligible events in the long one."""
    long_ratio = recorded(level, floor.good, floor.long_window, ratio=True)
    short_ratio = recorded(level, floor.good, floor.short_window, ratio=True)
    long_eligible = recorded(level, AVAILABILITY.eligible, floor.long_window)
    expr = (
        f"{long_ratio} < {floor.floor:g}\n"
        f"and\n{short_ratio} < {floor.floor:g}\n"
        f"and\n{long_eligible} * {WINDOW_SECONDS[floor.long_window]} >= {floor.min_eligible}"
    )
    per_network = level is NETWORK
    who = "{{ $labels.network }}" if per_network else "All"
    what = "{{ $labels.network }} authorizations" if per_network else "authorizations"
    labels = {"severity": floor.severity, "team": TEAM, "slo": floor.name}
    if not per_network:
        labels["network"] = "all"
    network_param = "{{ $labels.network }}" if per_network else "$__all"
    return {
        "alert": floor.alert,
        "expr": expr,
        "labels": labels,
        "annotations": {
            "summary": f"{who}: only {{{{ $value | humanizePercentage }}}} of authorizations "
            f"approved (floor {100 * floor.floor:g}%)",
            "description": (
                f"Only {{{{ $value | humanizePercentage }}}} of eligible {what} in "
                f"{{{{ $labels.namespace }}}} {floor.good_description} over the last "
                f"{floor.long_window}, and fewer than {100 * floor.floor:g}% still are over the "
                f"last {floor.short_window} (SLO: {floor.summary}). Declines and failures both "
                "count against it: look at the outcome mix."
            ),
            "runbook_url": runbook_url(floor.alert),
            "dashboard_url": dashboard_url(
                f"var-namespace={{{{ $labels.namespace }}}}&var-network={network_param}"
            ),
        },
    }


def answer_share_group(share: AnswerShare) -> Group:
    """A share of the answers per network and role (canary against stable in the cause alerts)."""
    by, window = _by(NETWORK_ROLE), share.window
    answered = recorded(NETWORK_ROLE, share.answered, window)
    bad = recorded(NETWORK_ROLE, share.bad, window)
    selector = f'job="{JOB}", network!="unknown"'
    rules: list[Rule] = [
        {
            "record": answered,
            "expr": f"sum by ({by}) (rate({REQUESTS}{{{selector}, "
            f"{_matcher('outcome', share.answered_outcomes)}}}[{window}]))",
        },
        {
            # `or 0 * answered`: a network that declines nothing reads 0, not no data.
            "record": bad,
            "expr": f"sum by ({by}) (rate({REQUESTS}{{{selector}, "
            f"{_matcher('outcome', share.bad_outcomes)}}}[{window}]))\nor\n0 * {answered}",
        },
        {
            "record": recorded(NETWORK_ROLE, share.bad, window, ratio=True),
            "expr": f"{bad}\n/\n{answered}",
        },
    ]
    return {
        "name": f"paystream-auth-{share.bad.removeprefix('paystream_auth_requests_')}",
        "rules": rules,
    }


def quantile_group() -> Group:
    """Latency percentiles per network and role over 5 minutes, for dashboards and alerts."""
    bucket = f"{DURATION}_bucket"
    role_buckets = f"{NETWORK_ROLE.prefix}:{bucket}:rate5m"
    network_buckets = f"{NETWORK.prefix}:{bucket}:rate5m"
    rules: list[Rule] = [
        {
            "record": role_buckets,
            "expr": f"sum by ({_by(NETWORK_ROLE)}, le) "
            f'(rate({bucket}{{job="{JOB}", network!="unknown"}}[5m]))',
        },
        {
            "record": network_buckets,
            "expr": f"sum by ({_by(NETWORK)}, le) ({role_buckets})",
        },
    ]
    for level, buckets in ((NETWORK_ROLE, role_buckets), (NETWORK, network_buckets)):
        rules += [
            {
                "record": f"{level.prefix}:{DURATION}:{name}_rate5m",
                "expr": f"histogram_quantile({q}, {buckets})",
            }
            for name, q in QUANTILES
        ]
    return {"name": "paystream-auth-latency-quantiles", "rules": rules}


def _threshold(slo: Slo, tier: BurnTier) -> str:
    return f"({tier.burn_rate:g} * {slo.budget:g})"


def burn_alert(slo: Slo, tier: BurnTier, level: Level) -> Rule:
    """One multiwindow, multi-burn-rate alert with its minimum-evidence guard."""
    long_ratio = recorded(level, slo.bad, tier.long_window, ratio=True)
    short_ratio = recorded(level, slo.bad, tier.short_window, ratio=True)
    long_bad = recorded(level, slo.bad, tier.long_window)
    threshold = _threshold(slo, tier)
    expr = (
        f"{long_ratio} > {threshold}\n"
        f"and\n{short_ratio} > {threshold}\n"
        f"and\n{long_bad} * {WINDOW_SECONDS[tier.long_window]} >= {MIN_BAD_EVENTS}"
    )
    per_network = level is NETWORK
    who = "{{ $labels.network }}" if per_network else "All"
    what = "{{ $labels.network }} authorizations" if per_network else "authorizations"
    threshold_pct = f"{100 * tier.burn_rate * slo.budget:.3g}%"
    labels = {
        "severity": tier.severity,
        "team": TEAM,
        "slo": slo.name,
        "long_window": tier.long_window,
        "short_window": tier.short_window,
    }
    if not per_network:
        labels["network"] = "all"
    network_param = "{{ $labels.network }}" if per_network else "$__all"
    return {
        "alert": slo.alert,
        "expr": expr,
        "labels": labels,
        "annotations": {
            "summary": f"{who}: {slo.name} error budget burning {tier.burn_rate:g}x too fast "
            f"({tier.long_window}/{tier.short_window})",
            "description": (
                f"{{{{ $value | humanizePercentage }}}} of eligible {what} in "
                f"{{{{ $labels.namespace }}}} {slo.bad_description} over the last "
                f"{tier.long_window}, and more than {threshold_pct} still do over the last "
                f"{tier.short_window} (SLO: {slo.summary}). Sustained, this spends "
                f"{tier.budget_spent_percent:.3g}% of the {BUDGET_PERIOD_DAYS}-day error "
                f"budget every {tier.long_window}."
            ),
            "runbook_url": runbook_url(slo.alert),
            "dashboard_url": dashboard_url(
                f"var-namespace={{{{ $labels.namespace }}}}&var-network={network_param}"
            ),
        },
    }


def alert_group() -> Group:
    rules = [
        burn_alert(slo, tier, level)
        for slo in SLOS
        for level in (NETWORK, JOB_LEVEL)
        for tier in BURN_TIERS
    ]
    rules += [floor_alert(SUCCESS_RATE, level) for level in (NETWORK, JOB_LEVEL)]
    return {"name": "paystream-auth-slo-burn", "rules": rules}


def slo_prometheus_rule() -> dict[str, Any]:
    groups = [sli_group(w) for w in windows()]
    groups += [floor_group(SUCCESS_RATE), answer_share_group(DECLINES), quantile_group()]
    groups.append(alert_group())
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": RULE_NAME, "labels": dict(COMMON_LABELS)},
        "spec": {"groups": groups},
    }
