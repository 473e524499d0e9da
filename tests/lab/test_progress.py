"""Progress output: one line per event off a terminal, a panel with every metric on one."""

from __future__ import annotations

from paystream_ops.lab.progress import Progress, Status
from rich.console import Console


def test_events_are_plain_lines_with_real_time_equivalent_stamps() -> None:
    console = Console(record=True, width=100)
    with Progress(console, live=False) as progress:
        progress.event(6.0, 10.0, "canary available")
    assert "[  1m00s] canary available" in console.export_text()


def test_quiet_progress_prints_nothing() -> None:
    console = Console(record=True, width=100)
    with Progress(console, live=False, quiet=True) as progress:
        progress.event(1.0, 10.0, "step 1: analysis")
    assert console.export_text() == ""


def test_live_panel_shows_step_weight_and_each_metric() -> None:
    status = Status(
        "incident-visa-timeouts",
        10.0,
        lab_seconds=4.2,
        step="step 1: analysis t",
        weight=10,
        canary_ready=True,
        target_rate=300,
        achieved_rate=299.5,
    )
    status.latest["failure-ratio-delta"] = ("step 1", "Failed", "[0.03,0,NaN,NaN]")
    console = Console(record=True, width=120)
    progress = Progress(console, live=True)
    console.print(progress._render(status))
    text = console.export_text()
    assert "incident-visa-timeouts" in text and "canary weight 10%" in text
    assert "failure-ratio-delta" in text and "Failed" in text and "[0.03,0,NaN,NaN]" in text
