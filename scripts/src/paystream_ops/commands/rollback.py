"""`paystream-ops rollback ENV [--to COMMIT]`: revert the last image change of ENV."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "rollback",
        help="git revert the last (or the given) image change of ENV",
        description="Find the newest image change of overlays/ENV that is still live (reverts "
        "and reverts of reverts are followed, merged pull requests too) and make its git "
        "revert commit, on the current branch or on a new --branch built in a throw-away "
        "worktree. Exit 3 when there is nothing to revert or --expect-image does not match. "
        "Never refused by a change freeze: during one it says which manual sync applies the "
        "merged revert.",
    )
    parser.add_argument("env", metavar="ENV")
    parser.add_argument("--to", metavar="COMMIT", help="revert this image change instead")
    parser.add_argument(
        "--expect-image",
        metavar="REF",
        help="only revert if the change set this image (the one that aborted)",
    )
    parser.add_argument("--reason", help="a line for the commit body (e.g. the abort message)")
    parser.add_argument(
        "--failed-metrics",
        metavar="NAME=VALUE;...",
        help="the analysis metrics that failed, as the abort notification sends them "
        "(visa-failures=[9.31]); written into the body as 'Visa: failures, score 9.31'",
    )
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the GitOps checkout")
    parser.add_argument("--branch", help="commit on this new branch instead of the current one")
    parser.add_argument("--push", action="store_true", help="push --branch to --remote")
    parser.add_argument("--remote", default="origin")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from paystream_ops.freeze.gate import manual_sync_command, until
    from paystream_ops.gitops.messages import verdict_lines
    from paystream_ops.gitops.rollback import rollback

    result = rollback(
        args.repo,
        args.env,
        to=args.to,
        expect_image=args.expect_image,
        reason=args.reason,
        failed_metrics=args.failed_metrics,
        branch=args.branch,
        push=args.push,
        remote=args.remote,
    )
    if args.json:
        payload = {
            "environment": result.env,
            "commit": result.commit,
            "reverted": result.reverted.commit,
            "from": str(result.reverted.new),
            "to": str(result.reverted.old),
            "branch": result.branch,
            "pushed": result.pushed,
            "title": result.title,
            "message": result.message,
            "verdicts": verdict_lines(args.failed_metrics),
            "frozen": result.freeze.frozen if result.freeze else None,
            "manual_sync": (
                manual_sync_command(result.freeze)
                if result.freeze and result.freeze.frozen
                else None
            ),
            "frozen_until": (
                result.freeze.current.end.isoformat()
                if result.freeze and result.freeze.current
                else None
            ),
        }
        print(json.dumps(payload))
    else:
        print(result.commit)
        print(f"{result.env}: {result.title}")
    if result.freeze is not None and result.freeze.frozen:
        print(
            f"{result.env} is in a change freeze{until(result.freeze)}: after merging, apply the "
            f"revert with `{manual_sync_command(result.freeze)}` (break-glass role, RUNBOOK.md)",
            file=sys.stderr,
        )
    return 0
