"""`paystream-ops evidence record|show`: staging's completed rollouts, kept in Git for promote."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "evidence",
        help="record a completed staging rollout as promotion evidence, or show it",
        description="Staging evidence (docs/delivery.md#staging-evidence): one file "
        "evidence/staging/sha256-<digest>.json per image, written from Argo Rollouts' "
        "completed-rollout notification and read by `promote`.",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    rec = verbs.add_parser(
        "record",
        help="check a completed-rollout payload and commit its evidence file",
        description="Read the dispatch's client_payload (JSON) from --payload, refuse anything "
        "that is not a healthy completion of the image staging's overlay runs now (wrong or "
        "stale digest, older or replayed revision, failed or aborted analysis, missing or "
        "malformed fields: one line naming the field, nothing written), then commit "
        "evidence/staging/sha256-<digest>.json on the current branch. Exit 3 when there is "
        "nothing to record (a prod event, a replay, a stale or older event, a completion the "
        "analysis did not decide), 2 when the event is refused.",
    )
    rec.add_argument("--payload", type=Path, required=True, help="client_payload as a JSON file")
    rec.add_argument("--repo", type=Path, default=Path.cwd(), help="the GitOps checkout")
    rec.add_argument("--push", action="store_true", help="fetch first, push, retry on a race")
    rec.add_argument("--remote", default="origin")
    rec.add_argument("--json", action="store_true", help="print the result as JSON")
    rec.set_defaults(handler=run_record)
    show = verbs.add_parser(
        "show",
        help="print the evidence promote would put in the pull request for staging's image",
        description="Print, as Markdown, the recorded evidence for the image staging's overlay "
        "runs at --base. Exit 5 when there is none (promote would refuse).",
    )
    show.add_argument("--repo", type=Path, default=Path.cwd(), help="the GitOps checkout")
    show.add_argument("--base", default="HEAD", help="the commit to read")
    show.set_defaults(handler=run_show)


def run_record(args: argparse.Namespace) -> int:
    from paystream_ops.errors import UserError
    from paystream_ops.gitops.evidence_record import record

    try:
        text = args.payload.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{args.payload}: cannot read ({exc})") from None
    result = record(args.repo, text, str(args.payload), push=args.push, remote=args.remote)
    event = result.evidence.event
    if args.json:
        print(
            json.dumps(
                {
                    "path": result.path,
                    "commit": result.commit,
                    "pushed": result.pushed,
                    "image": str(event.image),
                    "revision": event.revision,
                    "staging_commit": result.evidence.staging_commit,
                }
            )
        )
    else:
        print(result.commit)
        print(f"{result.path}: revision {event.revision} of {event.image.short}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from paystream_ops.gitops.evidence_markdown import evidence_markdown
    from paystream_ops.gitops.evidence_record import (
        NoEvidence,
        evidence_problem,
        image_commit,
        read_evidence,
        staging_image,
    )
    from paystream_ops.gitops.git import Git

    git = Git(Git(args.repo).toplevel())
    rev = git.rev(args.base)
    image = staging_image(git, rev)
    path, evidence = read_evidence(git, rev, image)
    problem = evidence_problem(evidence, path, image, image_commit(git, rev))
    if problem is not None or evidence is None:
        raise NoEvidence(problem or path)
    sys.stdout.write(evidence_markdown(evidence, path, None))
    return 0
