"""Live progress of a lab run: a rich panel on a terminal, plain lines otherwise."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from types import TracebackType

from paystream_ops.lab.durations import format_seconds
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

_PHASE_STYLE = {
    "Successful": "green",
    "Failed": "bold red",
    "Error": "red",
    "Inconclusive": "yellow",
    "Running": "cyan",
    "Pending": "dim",
}


@dataclass
class Status:
    """What the display shows; the runner fills it in every tick."""

    scenario: str
    time_scale: float
    lab_seconds: float = 0.0
    step: str = ""
    weight: int = 0
    canary_ready: bool = False
    target_rate: float = 0.0  # real-time-equivalent requests/s
    achieved_rate: float = 0.0
    canary_requests: int = 0
    canary_failures: int = 0
    latest: dict[str, tuple[str, str, str]] = field(
        default_factory=dict
    )  # metric -> run, phase, value


class Progress:
    """Shows `Status` and events; `live=False` prints one line per event (CI, pipes, tests)."""

    def __init__(self, console: Console, *, live: bool, quiet: bool = False) -> None:
        self.console = console
        self.live_enabled = live and not quiet
        self.quiet = quiet
        self.events: deque[str] = deque(maxlen=8)
        self.status: Status | None = None
        self._live: Live | None = None

    def __enter__(self) -> Progress:
        if self.live_enabled:
            self._live = Live(console=self.console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None

    def event(self, lab_seconds: float, time_scale: float, text: str) -> None:
        line = f"[{format_seconds(lab_seconds * time_scale):>7}] {text}"
        self.events.append(line)
        if self._live is not None:
            self._live.console.print(Text(line), highlight=False)
        elif not self.quiet:
            self.console.print(line, highlight=False)

    def update(self, status: Status) -> None:
        self.status = status
        if self._live is not None:
            self._live.update(self._render(status))

    def _render(self, status: Status) -> Panel:
        head = Table.grid(padding=(0, 2))
        head.add_row(
            f"[bold]{status.scenario}[/]",
            f"t={format_seconds(status.lab_seconds * status.time_scale)} real-time "
            f"({format_seconds(status.lab_seconds)} at {status.time_scale:g}x)",
        )
        head.add_row(
            f"{status.step}",
            f"canary weight {status.weight}%"
            + ("" if status.canary_ready else " (canary not ready)"),
        )
        head.add_row(
            f"traffic {status.achieved_rate:,.0f}/{status.target_rate:,.0f} auth/s",
            f"canary {status.canary_requests:,} requests, {status.canary_failures:,} failed",
        )
        metrics = Table(box=None, padding=(0, 1), show_header=True, header_style="dim")
        metrics.add_column("analysis")
        metrics.add_column("metric")
        metrics.add_column("last")
        metrics.add_column("value", overflow="fold")
        for name, (run, phase, value) in sorted(status.latest.items()):
            style = _PHASE_STYLE.get(phase, "")
            metrics.add_row(run, name, f"[{style}]{phase}[/]", value[:60])
        return Panel(Group(head, metrics), title="canary lab", border_style="blue")
