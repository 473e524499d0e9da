"""The figures page's hostile-client section from `paystream-ops bench-hostile` (its JSON shape).

Pure: the settings and the two phases' `as_dict()` in, markdown out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from paystream_ops.figures.catalogue import Section
from paystream_ops.figures.provenance import Provenance


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.2f} ms"


def hostile_section(
    section: Section,
    provenance: Provenance,
    settings: Mapping[str, Any],
    phases: Sequence[Mapping[str, Any]],
) -> str:
    lines = [
        f"## {section.title}",
        "",
        provenance.line(),
        "",
        f"Normal `POST /v1/authorize` at {settings['rate_per_second']:g}/s for "
        f"{settings['duration_seconds']:g} s per phase against one pod (one worker on its own "
        f"CPU), first idle, then while {settings['connections']:,} hostile connections (silent, "
        "idle keep-alive, slow headers, unfinished bodies) are held; latency from each request's "
        "scheduled time (open loop).",
        "",
        "| phase | answered | failed | p50 | p99 | max | probes p99 (failed) |",
        "|---|---|---|---|---|---|---|",
    ]
    for phase in phases:
        probes = ", ".join(
            f"{name} {_ms(probe['p99_seconds'])} ({probe['failures']})"
            for name, probe in sorted(phase.get("probes", {}).items())
        )
        answered = phase["requests"] - phase["failures"]
        lines.append(
            f"| {phase['name']} | {answered:,} | {phase['failures']:,} | "
            f"{_ms(phase['p50_seconds'])} | {_ms(phase['p99_seconds'])} | "
            f"{_ms(phase['max_seconds'])} | {probes or '-'} |"
        )
    return "\n".join(lines) + "\n"
