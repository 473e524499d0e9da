"""`paystream-ops bench-hostile`: normal requests' latency idle and under a connection attack."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bench-hostile",
        help="p50/p99 of normal requests idle and while hostile clients hold N connections",
        description="Start the service as the image does (one worker, the production granian "
        "command line) on its own CPU, send normal POST /v1/authorize requests at a fixed rate "
        "(open loop) and sample /livez on granian's port and on the probe listener, first idle, "
        "then while N hostile connections (silent, idle keep-alive, slow headers, unfinished "
        "bodies; each reopened when cut) are held; print both side by side. Not a test: the "
        "figures depend on the machine and what else runs on it.",
    )
    parser.add_argument("--connections", type=int, default=2000, help="hostile connections (2000)")
    parser.add_argument("--rate", type=float, default=200.0, help="normal requests/s (200)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase (10)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--record-figures",
        action="store_true",
        help="also write the figures into their section of docs/figures.md",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from paystream_ops.bench.hostile import HostileSettings, as_json, run_hostile
    from paystream_ops.bench.hostile_report import render
    from paystream_ops.errors import UserError

    if args.connections < 1 or args.rate <= 0 or args.duration <= 0:
        raise UserError("bench-hostile: --connections, --rate and --duration must be positive")
    settings = HostileSettings(
        connections=args.connections, rate_per_second=args.rate, duration_seconds=args.duration
    )
    idle, attacked = run_hostile(settings)
    if args.json:
        print(as_json(settings, (idle, attacked)))
    else:
        render(settings, idle, attacked)
    if args.record_figures:
        from dataclasses import asdict

        from paystream_ops.figures.record import record_hostile

        record_hostile(asdict(settings), [idle.as_dict(), attacked.as_dict()])
    return 0
