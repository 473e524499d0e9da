"""`paystream-ops fetch-crds DIR`: download the pinned upstream CRDs and verify them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "fetch-crds",
        help="download the pinned upstream CRDs (what validate checks against) into a directory",
        description=(
            "Download the CRDs of the pinned releases (Argo Rollouts, Argo CD, Gateway API, "
            "Istio, External Secrets, prometheus-operator) into DIR, verifying every file's git "
            "blob id; Istio's are cut out of its CRD bundle. Point validate at DIR with --crds "
            "or PAYSTREAM_CRDS_DIR."
        ),
    )
    parser.add_argument("directory", type=Path, metavar="DIR", help="where to write the CRDs")
    parser.add_argument(
        "--base-url",
        default=None,
        help="raw file server (default: https://raw.githubusercontent.com)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from paystream_ops.validate.fetch import DEFAULT_BASE_URL, fetch_all, http_fetcher

    fetched = fetch_all(args.directory, http_fetcher(), args.base_url or DEFAULT_BASE_URL)
    for item in fetched:
        print(f"{item.dest}  blob {item.blob[:12]}  {item.source}")
    print(f"fetch-crds: {len(fetched)} CRDs verified and written to {args.directory}")
    return 0
