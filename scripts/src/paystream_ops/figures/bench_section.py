"""The figures page's benchmark section from `paystream-ops bench` results (its JSON shape).

Pure: the `as_dict()` of each scenario's result in, markdown out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from paystream_ops.figures.catalogue import Section
from paystream_ops.figures.provenance import Provenance

Result = Mapping[str, Any]


def _ms(value: float) -> str:
    return f"{value * 1000:.2f} ms"


def round_spread(rounds: Sequence[Mapping[str, Any]]) -> str:
    """(max - min) / median of the rounds' requests/s: how busy the machine was."""
    values = sorted(r["requests_per_second"] for r in rounds)
    if not values:
        return "-"
    return f"{(values[-1] - values[0]) / values[len(values) // 2]:.0%}"


def bench_section(
    section: Section,
    provenance: Provenance,
    results: Sequence[Result],
    settings: Mapping[str, Any],
    target_ratio: float,
    keyed_target_ratio: float,
) -> str:
    lines = [
        f"## {section.title}",
        "",
        provenance.line(),
        "",
        f"`POST /v1/authorize` with wrk -c{settings['connections']} -t{settings['threads']}, "
        f"{settings['rounds']} alternating rounds of {settings['duration_seconds']:g} s per app; "
        "each row is the app's median round, the ratio the median of per-round ratios (targets: "
        f"at least {target_ratio:g} without a key, {keyed_target_ratio:g} with a new key on every "
        "request on the shared store, a real redis-server). A large round spread means the "
        "machine was busy: compare ratios, not absolutes.",
        "",
        "| scenario | app | requests/s | p50 | p99 | service/bare | round spread |",
        "|---|---|---|---|---|---|---|",
    ]
    apps = (
        ("bare", "bare granian ASGI", None),
        ("service", "paystream-auth, no key", "throughput_ratio"),
        ("keyed", "paystream-auth, shared store, key per request", "keyed_ratio"),
    )
    for result in results:
        name = result["scenario"]["name"]
        for app, label, ratio_field in apps:
            row = result[app]
            ratio = f"{result[ratio_field]:.2f}" if ratio_field else ""
            lines.append(
                f"| {name if app == 'bare' else ''} | {label} | "
                f"{row['requests_per_second']:,.0f} | {_ms(row['p50_seconds'])} | "
                f"{_ms(row['p99_seconds'])} | {ratio} | {round_spread(result['rounds'][app])} |"
            )
    return "\n".join(lines) + "\n"
