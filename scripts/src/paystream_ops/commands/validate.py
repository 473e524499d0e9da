"""`paystream-ops validate`: render every overlay and Application path and prove it valid."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="render every overlay and Application offline and validate it",
        description=(
            "Render overlays/* and clusters/* (and every path their Argo CD Applications deploy "
            "from this repository) with the pinned kubectl, then check: core kinds against the "
            "pinned Kubernetes schemas, custom resources against their CRDs (unknown fields are "
            "errors), the cross-references between objects, and trivy's misconfiguration checks "
            "(findings fixed or waived in validate-waivers.yaml). One line per problem, a tally, "
            "exit 1 on any problem."
        ),
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="Kustomize paths to validate (default: overlays/* and clusters/*)",
    )
    parser.add_argument(
        "--crds", type=Path, default=None, help="directory of CRDs (default: $PAYSTREAM_CRDS_DIR)"
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="repository root (default: found from the working directory)",
    )
    parser.add_argument(
        "--waivers",
        type=Path,
        default=None,
        help="scanner waiver file (default: <root>/validate-waivers.yaml)",
    )
    parser.add_argument(
        "--no-scan", action="store_true", help="skip the trivy misconfiguration scan"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from paystream_ops.paths import repo_root
    from paystream_ops.validate import report
    from paystream_ops.validate.crds import crds_dir
    from paystream_ops.validate.runner import Options, validate

    root = (args.root or repo_root()).resolve()
    options = Options(
        root=root,
        crds=crds_dir(args.crds, root),
        paths=tuple(args.paths),
        scan=not args.no_scan,
        waivers=args.waivers,
    )
    result = validate(options)
    print(report.as_json(result) if args.json else report.text(result))
    return 0 if result.ok else 1
