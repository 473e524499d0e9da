"""`paystream-ops dashboards`: regenerate the SLO rules and the Grafana dashboard from code."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dashboards",
        help="regenerate the SLO PrometheusRule and the Grafana dashboard JSON (or --check them)",
        description="Build base/monitoring/prometheusrule-auth-service-slo.yaml and "
        "base/monitoring/dashboards/paystream-auth-service.json from the SLO spec "
        "(paystream_ops/dashboards/slo.py) and the analysis templates as overlays/prod "
        "renders them, and write the files that changed. With --check, write nothing and "
        "exit 1 when a committed file is stale.",
    )
    parser.add_argument("--repo", type=Path, default=None, help="the repository root")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a committed artifact is stale"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from paystream_ops.dashboards.generate import artifacts_for, stale, write
    from paystream_ops.paths import repo_root

    root = repo_root(args.repo)
    artifacts = artifacts_for(root)
    if args.check:
        outdated = stale(root, artifacts)
        for path in outdated:
            print(f"{path}: stale; run `make dashboards` and commit the result")
        if not outdated:
            print(f"{len(artifacts)} generated monitoring files are up to date")
        return 1 if outdated else 0
    changed = write(root, artifacts)
    for path in changed:
        print(f"wrote {path}")
    if not changed:
        print(f"{len(artifacts)} generated monitoring files already up to date")
    return 0
