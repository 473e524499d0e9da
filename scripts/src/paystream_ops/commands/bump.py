"""`paystream-ops bump ENV --image REF`: pin a new image in one overlay, as one pushed commit."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from paystream_ops.paths import ENVIRONMENTS


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bump",
        help="pin a new image in overlays/ENV as one commit, pushed with fetch-rebase-retry",
        description="Edit only the images: entry of overlays/ENV/kustomization.yaml, commit it "
        "with a conventional message naming the old and new image, and push it; when another "
        "push wins the race, fetch, re-apply on top and retry, so concurrent bumps all land. "
        "Exit 3 when the overlay already pins the image.",
    )
    parser.add_argument("env", metavar="ENV", help=f"one of: {', '.join(ENVIRONMENTS)}")
    parser.add_argument(
        "--image",
        required=True,
        metavar="REF",
        help="NAME:TAG@sha256:DIGEST or NAME@sha256:DIGEST (prod requires the digest)",
    )
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the GitOps checkout")
    parser.add_argument("--remote", default="origin", help="the remote to push to")
    parser.add_argument("--no-push", action="store_true", help="commit only; do not push")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from paystream_ops.gitops.bump import bump

    result = bump(args.repo, args.env, args.image, push=not args.no_push, remote=args.remote)
    if args.json:
        payload: dict[str, Any] = {
            "environment": result.env,
            "commit": result.commit,
            "from": str(result.old),
            "to": str(result.new),
            "branch": result.branch,
            "pushed": result.pushed,
            "attempts": result.attempts,
        }
        print(json.dumps(payload))
    elif result.commit is None:
        print(f"{result.env}: {result.new} already landed by a concurrent bump; nothing to push")
    else:
        where = f" and pushed to {args.remote}/{result.branch}" if result.pushed else ""
        retries = f" after {result.attempts} attempts" if result.attempts > 1 else ""
        print(f"{result.commit}")
        print(f"{result.env}: {result.old} -> {result.new} committed{where}{retries}")
    return 0
