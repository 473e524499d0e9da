"""The auth-service Grafana dashboard, built with grafana-foundation-sdk.

Rows: traffic per card network; canary vs stable (the recorded SLIs by role, then every analysis
query exactly as Argo Rollouts runs it, with its args bound to dashboard variables); error-budget
burn at the alerting windows; circuit breakers; the rollout. Rollout steps are annotations from
Argo Rollouts' event counter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus as gp
from grafana_foundation_sdk.builders import stat as gstat
from grafana_foundation_sdk.builders import statetimeline as gstate
from grafana_foundation_sdk.builders import timeseries as gts
from grafana_foundation_sdk.builders.common import (
    GraphThresholdsStyleConfig,
    StackingConfig,
    VizLegendOptions,
)
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dm

from paystream_ops.dashboards.analysis import AnalysisQuery, fill_args, query_args
from paystream_ops.dashboards.slo import (
    AVAILABILITY,
    BUDGET_PERIOD_DAYS,
    BURN_TIERS,
    DASHBOARD_UID,
    FAILED_OUTCOMES,
    JOB,
    LATENCY,
    LATENCY_THRESHOLD_SECONDS,
    NETWORK,
    NETWORK_ROLE,
    Slo,
    recorded,
)
from paystream_ops.errors import UserError
from paystream_ops.judge.template import ROLLOUT_NAME

DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
POD_PATTERN = "auth-service-[a-z0-9]+-[a-z0-9]+"
ROLLOUT_EVENT_REASONS = (
    "RolloutUpdated",
    "RolloutStepCompleted",
    "TrafficWeightUpdated",
    "RolloutPaused",
    "RolloutResumed",
    "RolloutAborted",
    "RolloutCompleted",
)
# Analysis args that are dashboard variables of their own (not free-text thresholds).
ARG_VARIABLES: dict[str, str] = {
    "namespace": "namespace",
    "canary-hash": "canary_hash",
    "stable-hash": "stable_hash",
    "window": "window",
}
SERVICE = f'job="{JOB}", namespace="$namespace"'
NETWORKS = f'{SERVICE}, network=~"$network"'
RECORDED = 'namespace="$namespace", network=~"$network"'


def variable_name(arg: str) -> str:
    """The dashboard variable an analysis arg is bound to (`max-p99-ratio` -> `max_p99_ratio`)."""
    return ARG_VARIABLES.get(arg, arg.replace("-", "_").replace(".", "_"))


def dashboard_query(query: AnalysisQuery) -> str:
    """An analysis query with each `{{args.X}}` replaced by its dashboard variable."""
    values = {arg: f"${variable_name(arg)}" for arg in query.args}
    return fill_args(query.query, values, where=f"{query.template} {query.metric}")


def _target(expr: str, legend: str, ref: str = "A") -> gp.Dataquery:
    return gp.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(DATASOURCE)


def _legend() -> VizLegendOptions:
    return (
        VizLegendOptions()
        .show_legend(True)
        .display_mode(common.LegendDisplayMode.TABLE)
        .placement(common.LegendPlacement.RIGHT)
        .calcs(["lastNotNull", "max"])
    )


def _thresholds(*steps: tuple[float | None, str]) -> gd.ThresholdsConfig:
    return (
        gd.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=value, color=color) for value, color in steps])
    )


def _timeseries(
    panel_id: int, title: str, description: str, unit: str, targets: Sequence[gp.Dataquery]
) -> gts.Panel:
    panel = (
        gts.Panel()
        .id(panel_id)
        .title(title)
        .description(description)
        .unit(unit)
        .height(8)
        .span(12)
        .datasource(DATASOURCE)
        .legend(_legend())
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def _with_line(panel: gts.Panel, value: float) -> gts.Panel:
    """Draw `value` as a red dashed line: the SLO target or the alerting threshold."""
    return panel.thresholds(_thresholds((None, "green"), (value, "red"))).thresholds_style(
        GraphThresholdsStyleConfig().mode(common.GraphTresholdsStyleMode.DASHED)
    )


def _duration_seconds(text: str) -> float:
    """`90s`, `2m`, `1h` -> seconds (the window choices are listed shortest first)."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit) and text[: -len(unit)].isdigit():
            return int(text[: -len(unit)]) * units[unit]
    raise UserError(f"analysis arg window: {text!r} is not a duration like 2m")


def _variables(arg_defaults: Mapping[str, str], analysis: Sequence[AnalysisQuery]) -> list[Any]:
    build_info = f'paystream_auth_build_info{{job="{JOB}"'
    role_hash = (
        "label_values(paystream_auth_build_info"
        f'{{{SERVICE}, role="{{role}}"}}, rollouts_pod_template_hash)'
    )
    variables: list[Any] = [
        gd.DatasourceVariable("datasource").label("Prometheus").type("prometheus"),
        gd.QueryVariable("namespace")
        .label("Namespace")
        .datasource(DATASOURCE)
        .query(f"label_values({build_info}}}, namespace)")
        .refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD),
        gd.QueryVariable("network")
        .label("Card network")
        .datasource(DATASOURCE)
        .query(f"label_values(paystream_auth_requests_total{{{SERVICE}}}, network)")
        .refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD)
        .multi(True)
        .include_all(True)
        .all_value(".*"),
    ]
    for role in ("canary", "stable"):
        variables.append(
            gd.QueryVariable(f"{role}_hash")
            .label(f"{role.capitalize()} pod-template hash")
            .description(f"rollouts-pod-template-hash of the {role} pods (analysis arg).")
            .datasource(DATASOURCE)
            .query(role_hash.replace("{role}", role))
            .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        )
    used = {arg for query in analysis for arg in query.args}
    for arg in sorted(used - set(ARG_VARIABLES)):
        variables.append(
            gd.TextBoxVariable(variable_name(arg))
            .label(arg)
            .description(f"The analysis arg `{arg}` (default: the value the rollout passes).")
            .default_value(arg_defaults[arg])
        )
    if "window" in used:
        default = arg_defaults["window"]
        choices = sorted({default, "1m", "2m", "5m", "10m"}, key=_duration_seconds)
        variables.append(
            gd.CustomVariable("window")
            .label("Analysis window")
            .description("The analysis arg `window`: the range each measurement reads.")
            .values(",".join(choices))
            .current(dm.VariableOption(selected=True, text=default, value=default))
        )
    return variables


def _traffic_panels(next_id: int) -> list[gts.Panel]:
    requests = f"paystream_auth_requests_total{{{NETWORKS}}}"
    synthetic = f"paystream_auth_synthetic_requests_total{{{NETWORKS}}}"
    bucket = f"paystream_auth_request_duration_seconds_bucket{{{NETWORKS}}}"
    quantiles = [
        _target(
            f"histogram_quantile({q}, sum by (network, le) (rate({bucket}[$__rate_interval])))",
            f"{{{{network}}}} {name}",
            ref,
        )
        for ref, name, q in (("A", "p50", 0.5), ("B", "p95", 0.95), ("C", "p99", 0.99))
    ]
    return [
        _timeseries(
            next_id,
            "Requests per second by card network",
            "Every authorization the service answered, by card network (all outcomes); "
            "`synthetic`: the part that carried a published test card (staging's synthetic "
            "load, docs/synthetic-load.md).",
            "reqps",
            [
                _target(
                    f"sum by (network) (rate({requests}[$__rate_interval]))",
                    "{{network}}",
                ),
                _target(
                    f"sum by (network) (rate({synthetic}[$__rate_interval]))",
                    "{{network}} synthetic",
                    "B",
                ),
            ],
        ),
        _timeseries(
            next_id + 1,
            "Outcome mix: $network",
            "Share of each outcome per card network. Declines are answers and `invalid` is "
            "the client's fault: neither counts against the SLO.",
            "percentunit",
            [
                _target(
                    f"sum by (network, outcome) (rate({requests}[$__rate_interval]))\n"
                    "/ ignoring (outcome) group_left ()\n"
                    f"sum by (network) (rate({requests}[$__rate_interval]))",
                    "{{outcome}}",
                )
            ],
        )
        .stacking(StackingConfig().mode(common.StackingMode.NORMAL))
        .fill_opacity(60)
        .max(1)
        .repeat("network")
        .repeat_direction("h"),
        _with_line(
            _timeseries(
                next_id + 2,
                "Latency percentiles by card network",
                f"P50, P95 and P99 from the service's histogram; the latency SLO is 99% under "
                f"{LATENCY_THRESHOLD_SECONDS} s.",
                "s",
                quantiles,
            ),
            float(LATENCY_THRESHOLD_SECONDS),
        ),
        _with_line(
            _timeseries(
                next_id + 3,
                "Failure ratio by card network (5m)",
                f"{' + '.join(FAILED_OUTCOMES)} over eligible requests; the availability SLO "
                f"allows {100 * AVAILABILITY.budget:g}%.",
                "percentunit",
                [
                    _target(
                        f"{recorded(NETWORK, AVAILABILITY.bad, '5m', ratio=True)}{{{RECORDED}}}",
                        "{{network}}",
                    )
                ],
            ),
            AVAILABILITY.budget,
        ),
    ]


def _canary_panels(
    next_id: int, analysis: Sequence[AnalysisQuery], arg_defaults: Mapping[str, str]
) -> list[gts.Panel]:
    by_role = f'{RECORDED}, role=~"canary|stable"'
    panels = [
        _timeseries(
            next_id,
            "Eligible requests per second: canary vs stable",
            "The canary's share is its traffic weight; too few canary requests make an "
            "analysis measurement inconclusive.",
            "reqps",
            [
                _target(
                    f"{recorded(NETWORK_ROLE, AVAILABILITY.eligible, '5m')}{{{by_role}}}",
                    "{{network}} {{role}}",
                )
            ],
        ),
        _timeseries(
            next_id + 1,
            "Failure ratio: canary vs stable (5m)",
            "The recorded availability SLI per network and rollout role.",
            "percentunit",
            [
                _target(
                    f"{recorded(NETWORK_ROLE, AVAILABILITY.bad, '5m', ratio=True)}{{{by_role}}}",
                    "{{network}} {{role}}",
                )
            ],
        ),
        _timeseries(
            next_id + 2,
            "P99 latency: canary vs stable (5m)",
            "The recorded P99 per network and rollout role.",
            "s",
            [
                _target(
                    f"network_role:paystream_auth_request_duration_seconds:p99_rate5m{{{by_role}}}",
                    "{{network}} {{role}}",
                )
            ],
        ),
    ]
    for offset, query in enumerate(analysis, start=3):
        conditions = " ".join(
            part
            for part in (
                f"success: `{query.success_condition}`" if query.success_condition else "",
                f"failure: `{query.failure_condition}`" if query.failure_condition else "",
            )
            if part
        )
        panel = _timeseries(
            next_id + offset,
            f"Analysis {query.title}",
            f"The exact query of {query.template}, metric `{query.metric}`, with its args "
            f"bound to the dashboard variables; NaN means too few canary requests "
            f"(inconclusive). {conditions}".strip(),
            "short",
            [_target(dashboard_query(query), "{{network}}")],
        )
        # The failure condition's threshold arg (prod's value) as the line to stay under.
        limits = [arg_defaults[a] for a in query_args(query.failure_condition) if a in arg_defaults]
        panels.append(_with_line(panel, float(limits[0])) if len(limits) == 1 else panel)
    return panels


def _burn_panels(next_id: int) -> list[gts.Panel]:
    panels: list[gts.Panel] = []
    for slo in (AVAILABILITY, LATENCY):
        for severity in ("page", "ticket"):
            tiers = [t for t in BURN_TIERS if t.severity == severity]
            targets = [
                _target(
                    f"{recorded(NETWORK, slo.bad, t.long_window, ratio=True)}{{{RECORDED}}}"
                    f" / {slo.budget:g}",
                    f"{{{{network}}}} {t.long_window}",
                    chr(ord("A") + i),
                )
                for i, t in enumerate(tiers)
            ]
            panel = _timeseries(
                next_id + len(panels),
                f"{slo.name.capitalize()} burn rate ({severity} windows)",
                f"Bad-event ratio over the {severity} tiers' long windows divided by the budget "
                f"({slo.budget:g}); 1 spends exactly the 30-day budget. The alert fires above "
                + ", ".join(f"{t.burn_rate:g} ({t.long_window})" for t in tiers)
                + " when the short window agrees.",
                "x",
                targets,
            )
            panels.append(_with_line(panel, min(t.burn_rate for t in tiers)))
    return panels


def _budget_stats(next_id: int) -> list[gstat.Panel]:
    def stat(panel_id: int, slo: Slo) -> gstat.Panel:
        ratio = f"{recorded(NETWORK, slo.bad, '3d', ratio=True)}{{{RECORDED}}}"
        expr = f"{ratio} / {slo.budget:g} * 3 / {BUDGET_PERIOD_DAYS}"
        return (
            gstat.Panel()
            .id(panel_id)
            .title(f"{slo.name.capitalize()} budget spent in the last 3 days")
            .description("Share of the 30-day error budget the last 3 days used, per network.")
            .unit("percentunit")
            .height(6)
            .span(12)
            .datasource(DATASOURCE)
            .thresholds(_thresholds((None, "green"), (0.1, "orange"), (0.5, "red")))
            .with_target(_target(expr, "{{network}}"))
        )

    return [stat(next_id, AVAILABILITY), stat(next_id + 1, LATENCY)]


def _breaker_panels(next_id: int) -> list[Any]:
    closed, half_open, is_open = (
        dm.ValueMappingResult(text="closed", color="green"),
        dm.ValueMappingResult(text="half-open", color="orange"),
        dm.ValueMappingResult(text="open", color="red"),
    )
    state = (
        gstate.Panel()
        .id(next_id)
        .title("Circuit breaker state by card network and role")
        .description("Worst state over the role's pods: 0 closed, 1 half-open, 2 open.")
        .height(8)
        .span(12)
        .datasource(DATASOURCE)
        .mappings([dm.ValueMap(options={"0": closed, "1": half_open, "2": is_open})])
        .with_target(
            _target(
                f"max by (network, role) (paystream_auth_circuit_breaker_state{{{NETWORKS}}})",
                "{{network}} {{role}}",
            )
        )
    )
    transitions = _timeseries(
        next_id + 1,
        "Circuit breaker transitions",
        "State changes per network and target state, summed over pods.",
        "short",
        [
            _target(
                "sum by (network, to) (increase(paystream_auth_circuit_breaker_transitions_total"
                f"{{{NETWORKS}}}[$__rate_interval]))",
                "{{network}} -> {{to}}",
            )
        ],
    )
    return [state, transitions]


def _rollout_panels(next_id: int) -> list[Any]:
    pods = f'namespace="$namespace", pod=~"{POD_PATTERN}"'
    return [
        _timeseries(
            next_id,
            "Pods by version and role",
            "Scraped pods per build version and rollout role.",
            "short",
            [
                _target(
                    f"count by (version, role) (paystream_auth_build_info{{{SERVICE}}})",
                    "{{version}} {{role}}",
                )
            ],
        ),
        gstate.Panel()
        .id(next_id + 1)
        .title("Rollout phase")
        .description("Argo Rollouts' phase for the auth-service Rollout.")
        .height(8)
        .span(12)
        .datasource(DATASOURCE)
        .with_target(
            _target(
                f'max by (phase) (rollout_info{{namespace="$namespace", name="{ROLLOUT_NAME}"}})',
                "{{phase}}",
            )
        ),
        _timeseries(
            next_id + 2,
            "Pod readiness",
            "auth-service pods by Ready condition (kube-state-metrics).",
            "short",
            [
                _target(
                    f"sum by (condition) (kube_pod_status_ready{{{pods}}})",
                    "ready={{condition}}",
                )
            ],
        ),
    ]


def rollout_annotation_expr() -> str:
    reasons = "|".join(ROLLOUT_EVENT_REASONS)
    return (
        "sum by (reason) (increase(rollout_events_total"
        f'{{namespace="$namespace", name="{ROLLOUT_NAME}", reason=~"{reasons}"}}[2m])) > 0'
    )


def build_dashboard(
    analysis: Sequence[AnalysisQuery], arg_defaults: Mapping[str, str]
) -> dict[str, Any]:
    """The dashboard as the JSON object Grafana loads."""
    annotation = (
        gd.AnnotationQuery()
        .name("Rollout steps")
        .datasource(DATASOURCE)
        .enable(True)
        .icon_color("purple")
        .expr(rollout_annotation_expr())
    )
    builder = (
        gd.Dashboard("PayStream auth-service")
        .uid(DASHBOARD_UID)
        .description(
            "Card authorizations per network, canary vs stable with the analysis queries, "
            "error-budget burn, circuit breakers and the rollout."
        )
        .tags(["paystream", "auth-service", "slo"])
        .editable()
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .time("now-3h", "now")
        .refresh("30s")
        .timezone("utc")
        .variables(_variables(arg_defaults, analysis))
        .annotation(annotation)
    )
    sections: list[tuple[str, Sequence[Any]]] = [
        ("Traffic by card network", _traffic_panels(1)),
        ("Canary vs stable", _canary_panels(10, analysis, arg_defaults)),
        ("Error budget", [*_burn_panels(40), *_budget_stats(50)]),
        ("Circuit breakers", _breaker_panels(60)),
        ("Rollout", _rollout_panels(70)),
    ]
    for row_id, (title, panels) in enumerate(sections, start=100):
        builder = builder.with_row(gd.Row(title).id(row_id))
        for panel in panels:
            builder = builder.with_panel(panel)
    encoded: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    return encoded


def dashboard_json(analysis: Sequence[AnalysisQuery], arg_defaults: Mapping[str, str]) -> str:
    return json.dumps(build_dashboard(analysis, arg_defaults), indent=2) + "\n"
