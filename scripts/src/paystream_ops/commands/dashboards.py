"""`paystream-ops dashboards`: regenerate the SLO rules and the Grafana dashboard from code."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dashboards",
        help="regenerate the AnalysisTemplate, the SLO PrometheusRule and the Grafana dashboard "
        "(or --check them)",
        description="Build base/analysis/analysis-canary-vs-stable.yaml and its transformer "
        "from the canary judge (paystream_ops/judge/), then "
        "base/monitoring/prometheusrule-auth-service-slo.yaml and "
        "base/monitoring/dashboards/paystream-auth-service.json from the SLO spec "
        "(paystream_ops/dashboards/slo.py) and the analysis template as overlays/prod "
        "renders it, and write the files that changed. With --check, write nothing and "
        "exit 1 when a committed file is stale.",
    )
    parser.add_argument("--repo", type=Path, default=None, help="the repository root")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a committed artifact is stale"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from paystream_ops.dashboards.generate import artifacts_for, stale, write_all
    from paystream_ops.paths import repo_root

    root = repo_root(args.repo)
    if args.check:
        artifacts = artifacts_for(root)
        outdated = stale(root, artifacts)
        for path in outdated:
            print(f"{path}: stale; run `make dashboards` and commit the result")
        if not outdated:
            print(f"{len(artifacts)} generated files are up to date")
        return 1 if outdated else 0
    changed = write_all(root)
    for path in changed:
        print(f"wrote {path}")
    if not changed:
        print("every generated file already up to date")
    return 0
