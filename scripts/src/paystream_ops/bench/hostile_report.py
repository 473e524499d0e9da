"""The summary of `paystream-ops bench-hostile` (rich): idle and attacked, side by side."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from paystream_ops.bench.hostile import HostileSettings, Phase


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f} ms"


def render(settings: HostileSettings, idle: Phase, attacked: Phase) -> None:
    console = Console(width=max(Console().width, 100))
    table = Table(
        title=f"normal POST /v1/authorize at {settings.rate_per_second:g}/s for "
        f"{settings.duration_seconds:g} s, one pod (one worker on its own CPU)"
    )
    table.add_column("")
    for phase in (idle, attacked):
        table.add_column(phase.name, justify="right")

    def row(label: str, *values: str) -> None:
        table.add_row(label, *values)

    phases = (idle, attacked)
    row(
        "answered (200)",
        *(f"{len(p.latencies):,} / {len(p.latencies) + p.failures:,}" for p in phases),
    )
    row("p50", *(_ms(p.percentile(0.5)) for p in phases))
    row("p99", *(_ms(p.percentile(0.99)) for p in phases))
    row("max", *(_ms(max(p.latencies) if p.latencies else None) for p in phases))
    for name in idle.probes:
        row(
            f"{name}: p99 (failed)",
            *(f"{_ms(p.probe_percentile(name, 0.99))} ({p.probe_failures(name)})" for p in phases),
        )
    row("worker RSS", *("-" if p.rss_mib is None else f"{p.rss_mib:.0f} MiB" for p in phases))
    attack = attacked.attack
    held = sorted(attacked.held)
    row(
        "hostile connections held (median, min)",
        "-",
        f"{held[len(held) // 2]:,}, {held[0]:,} of {settings.connections:,}" if held else "-",
    )
    row(
        "cut by the server, reopened",
        "-",
        f"{attack.get('cut_by_server', 0):,} (answers: {attack.get('answers', {})})",
    )
    console.print(table)
    console.print(
        "[dim]Latency counts from each request's scheduled time (open loop). A busy machine "
        "moves both columns: compare them, not absolutes.[/dim]"
    )
