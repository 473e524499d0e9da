"""`paystream-ops promote --from staging --to prod`: the promotion branch, ready for a PR."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any


def _repo_url() -> str | None:
    server, repo = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    return f"{server}/{repo}" if server and repo else None


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "promote",
        help="open a branch setting the target overlay to the exact image the source runs",
        description="Create a branch (in a throw-away worktree; your checkout is untouched) "
        "whose only change sets --to's image to the exact tag and digest --from pins, with a "
        "message linking the commit that put it there and, from staging, the recorded staging "
        "evidence (evidence/staging/, written by `evidence record`) in the pull request body. "
        "Exit 3 when both already match, when the soak time has not passed, or when the branch "
        "already exists. Exit 5 when staging's completed, healthy rollout of that image change "
        "is not recorded, unless --without-evidence gives the reason. During a change "
        "freeze of --to (its AppProject's sync windows deny automated syncs) it writes nothing "
        "and exits 4, unless --break-glass gives the reason, which goes into the commit and "
        "so the pull request.",
    )
    parser.add_argument("--from", dest="from_env", default="staging", help="source environment")
    parser.add_argument("--to", dest="to_env", default="prod", help="target environment")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the GitOps checkout")
    parser.add_argument("--base", default="HEAD", help="the commit to branch from")
    parser.add_argument("--branch", help="branch name (default promote/ENV-TAG-DIGEST12)")
    parser.add_argument("--push", action="store_true", help="push the branch to --remote")
    parser.add_argument("--remote", default="origin")
    parser.add_argument(
        "--min-soak-hours",
        type=float,
        help="refuse (exit 3) until the source image has been in Git this long",
    )
    parser.add_argument(
        "--repo-url",
        default=_repo_url(),
        help="web URL of the repository, for the commit link (default from GITHUB_* env)",
    )
    parser.add_argument(
        "--break-glass",
        metavar="REASON",
        help="promote during a change freeze anyway; the reason is recorded in the pull request",
    )
    parser.add_argument(
        "--without-evidence",
        metavar="REASON",
        help="promote although staging's completed rollout is not recorded; the reason is "
        "recorded in the pull request and a trailer",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from paystream_ops.gitops.promote import promote

    result = promote(
        args.repo,
        args.from_env,
        args.to_env,
        base=args.base,
        branch=args.branch,
        push=args.push,
        remote=args.remote,
        min_soak_hours=args.min_soak_hours,
        repo_url=args.repo_url,
        break_glass=args.break_glass,
        without_evidence=args.without_evidence,
    )
    if args.json:
        payload = {
            "from": result.from_env,
            "to": result.to_env,
            "old": str(result.old),
            "new": str(result.new),
            "source_commit": result.source_commit,
            "branch": result.branch,
            "commit": result.commit,
            "pushed": result.pushed,
            "title": result.title,
            "body": result.body,
            "break_glass": result.break_glass,
            "frozen_until": result.frozen_until.isoformat() if result.frozen_until else None,
            "evidence": result.evidence is not None,
            "without_evidence": result.without_evidence,
        }
        print(json.dumps(payload))
    else:
        print(result.commit)
        print(f"{result.branch}: {result.title}")
    return 0
