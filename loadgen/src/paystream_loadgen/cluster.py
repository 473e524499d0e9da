"""`paystream-loadgen`: the staging synthetic-load Job's process.

Reads its settings from the environment (docs/synthetic-load.md), sends published test cards to
the route at the configured rate until SIGTERM (the AnalysisRun deleting the Job) or the optional
duration, logs cumulative counts as JSON lines, and exits 0. A bad setting exits 2 with one line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from typing import Any

from paystream_loadgen.engine import CLASSES, NETWORKS, Generator, drive, run_loop
from paystream_loadgen.settings import KNOWN, Settings, SettingsError, parse_settings


def summary(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Counts per network and answer class (one target: the route), for the log."""
    counts = snapshot["counts"]
    per_network = {
        network: {cls: counts[n * len(CLASSES) + c] for c, cls in enumerate(CLASSES)}
        for n, network in enumerate(NETWORKS)
    }
    out = {k: v for k, v in snapshot.items() if k != "counts"}
    out["counts"] = per_network
    return out


def log_line(snapshot: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps({"event": "synthetic-load", **summary(snapshot)}) + "\n")
    sys.stdout.flush()


async def until_stopped(duration_seconds: float) -> None:
    """Until SIGTERM/SIGINT, or the duration when one is set."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if duration_seconds > 0:
        loop.call_later(duration_seconds, stop.set)
    await stop.wait()


async def run(settings: Settings) -> None:
    gen = Generator(settings.engine_config())
    log_line(
        {
            "t": time.monotonic(),
            "issued": 0,
            "scheduled": 0,
            "pending": 0,
            "counts": gen.counts,
            "started": True,
        }
    )
    await drive(gen, until_stopped(settings.duration_seconds), log_line, settings.report_seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="paystream-loadgen",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="settings (environment): " + ", ".join(KNOWN),
    )
    parser.parse_args(argv)
    try:
        settings = parse_settings(os.environ)
    except SettingsError as exc:
        sys.stderr.write(f"paystream-loadgen: {exc}\n")
        raise SystemExit(2) from None
    run_loop(run(settings))


if __name__ == "__main__":
    main()
