"""`paystream-ops bench`: the service vs a bare granian ASGI app, side by side, with wrk."""

from __future__ import annotations

import argparse
import json
from typing import Any

TARGET_RATIO = 0.5
# With the shared idempotency store (redis-server on loopback) and a new key on every request.
KEYED_TARGET_RATIO = 0.45


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bench",
        help="requests/s and p50/p99 of the service against a bare granian ASGI app",
        description="Start the service (POST /v1/authorize, simulated processor latency off) and "
        "a bare granian ASGI app with the same flags, pin both to the same CPUs, load each in "
        "turn with wrk, and print requests/s, p50, p99 and the service/bare ratio, for one "
        "worker on one core and for two workers; also the service on the shared idempotency "
        "store (a real redis-server) with a new Idempotency-Key on every request. Alternating "
        f"rounds; the median is reported. Targets: a ratio of at least {TARGET_RATIO} without a "
        f"key, {KEYED_TARGET_RATIO} with one. Not a test: numbers depend on the machine and on "
        "what else runs on it.",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (10)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per server (2)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per app (3)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--record-figures",
        action="store_true",
        help="write the results into the benchmark section of docs/figures.md",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from paystream_ops.bench.report import render
    from paystream_ops.bench.runner import Settings, run_bench
    from paystream_ops.errors import UserError

    if args.duration <= 0 or args.rounds < 1 or args.connections < 1 or args.threads < 1:
        raise UserError("bench: --duration, --rounds, --connections and --threads must be positive")
    settings = Settings(
        duration_seconds=args.duration,
        warmup_seconds=max(args.warmup, 1),
        connections=args.connections,
        threads=args.threads,
        rounds=args.rounds,
    )
    results = run_bench(settings)
    if args.json:
        print(
            json.dumps(
                {
                    "target_ratio": TARGET_RATIO,
                    "keyed_target_ratio": KEYED_TARGET_RATIO,
                    "scenarios": [r.as_dict() for r in results],
                },
                indent=2,
            )
        )
    else:
        render(results, settings, TARGET_RATIO, KEYED_TARGET_RATIO)
    if args.record_figures:
        from paystream_ops.figures.record import record_bench

        record_bench(results, settings, TARGET_RATIO, KEYED_TARGET_RATIO)
    return 0
