"""The one-screen summary of a bench run (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from paystream_ops.bench.runner import ScenarioResult, Settings, spread


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def render(
    results: list[ScenarioResult], settings: Settings, target_ratio: float, keyed_target: float
) -> None:
    console = Console(width=max(Console().width, 110))
    table = Table(
        title=f"POST /v1/authorize, wrk -c{settings.connections} -t{settings.threads}, "
        f"{settings.rounds} x {settings.duration_seconds:g} s per app, alternating "
        "(median round; ratio = median of per-round ratios)"
    )
    for column in ("scenario", "app", "req/s", "p50", "p99", "service/bare", "round spread"):
        table.add_column(column, justify="right" if column not in ("scenario", "app") else "left")
    for result in results:
        bare, service = result.bare_median, result.service_median
        scenario = result.scenario
        pins = f"server CPUs {scenario.server_cpus}, wrk CPUs {scenario.client_cpus or 'shared'}"
        table.add_row(
            f"{result.scenario.name}\n[dim]{pins}[/dim]",
            "bare granian ASGI",
            f"{bare.requests_per_second:,.0f}",
            _ms(bare.p50_seconds),
            _ms(bare.p99_seconds),
            "",
            f"{spread([r.requests_per_second for r in result.bare]):.0%}",
        )
        verdict = "green" if result.throughput_ratio >= target_ratio else "red"
        table.add_row(
            "",
            "paystream-auth, no key",
            f"{service.requests_per_second:,.0f}",
            _ms(service.p50_seconds),
            _ms(service.p99_seconds),
            f"[{verdict}]{result.throughput_ratio:.2f}[/{verdict}]",
            f"{spread([r.requests_per_second for r in result.service]):.0%}",
        )
        keyed = result.keyed_median
        verdict = "green" if result.keyed_ratio >= keyed_target else "red"
        table.add_row(
            "",
            "paystream-auth, shared store, key per request",
            f"{keyed.requests_per_second:,.0f}",
            _ms(keyed.p50_seconds),
            _ms(keyed.p99_seconds),
            f"[{verdict}]{result.keyed_ratio:.2f}[/{verdict}]",
            f"{spread([r.requests_per_second for r in result.keyed]):.0%}",
            end_section=True,
        )
    console.print(table)
    ratios = ", ".join(f"{r.scenario.name}: {r.throughput_ratio:.2f}" for r in results)
    console.print(f"throughput ratio without a key (target >= {target_ratio}): {ratios}")
    keyed_ratios = ", ".join(f"{r.scenario.name}: {r.keyed_ratio:.2f}" for r in results)
    console.print(f"with a key on the shared store (target >= {keyed_target}): {keyed_ratios}")
    console.print(
        "[dim]A large round spread means the machine was busy: compare ratios, not absolutes.[/dim]"
    )
