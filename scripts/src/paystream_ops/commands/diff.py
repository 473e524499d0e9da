"""`paystream-ops diff --base REF [--head REF]`: the rendered diff reviewers read."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "diff",
        help="render every overlay and Application path at two refs and compare them",
        description="Render both refs in throw-away git worktrees (your checkout is untouched), "
        "then print a per-target summary, the risky changes (image, canary steps/weights, "
        "analysis thresholds/windows, RBAC, NetworkPolicy, AuthorizationPolicy, secret paths, "
        "Argo CD sync policy) and a unified diff per object. --markdown writes the "
        "pull-request comment, kept under GitHub's 65,536-character limit. A change to a "
        "target whose Application is in a change freeze (now, or at --at) is flagged: it will "
        "wait for the window to close.",
    )
    parser.add_argument("--base", required=True, help="the ref to compare against (e.g. main)")
    parser.add_argument("--head", default="HEAD", help="the ref under review (default HEAD)")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the GitOps checkout")
    parser.add_argument("--markdown", type=Path, help="write the PR comment (markdown) here")
    parser.add_argument("--output", type=Path, help="write the full plain diff here")
    parser.add_argument(
        "--full-diff-hint",
        default="the `rendered-diff` artifact of this run",
        help="where the comment says the full diff is",
    )
    parser.add_argument("--at", help="judge the change freeze at this ISO 8601 time (default now)")
    parser.add_argument("--json", action="store_true", help="print summary and risks as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from paystream_ops.commands.freeze import operator_zone, parse_at
    from paystream_ops.gitops.diff import rendered_diff
    from paystream_ops.gitops.markdown import render_markdown, render_text, summarize

    at = parse_at(args.at, operator_zone()) if args.at else None
    report = rendered_diff(args.repo, args.base, args.head, at)
    full = render_text(report.changes, report.risks)
    if args.output:
        args.output.write_text(full, encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(
            render_markdown(
                report.base,
                report.head,
                report.targets,
                report.changes,
                report.risks,
                full_diff_hint=args.full_diff_hint,
                freeze=report.freeze,
            ),
            encoding="utf-8",
        )
    if args.json:
        payload = {
            "base": report.base,
            "head": report.head,
            "summary": [s.__dict__ for s in summarize(report.targets, report.changes)],
            "risks": [
                {
                    "category": r.category.value,
                    "target": r.target,
                    "object": r.object_id,
                    "field": r.where,
                    "change": r.detail,
                }
                for r in report.risks
            ],
            "freeze": [
                {"target": n.target, "application": n.app, "message": n.line()}
                for n in report.freeze
            ],
        }
        print(json.dumps(payload))
        return 0
    for s in summarize(report.targets, report.changes):
        if s.added or s.removed or s.changed:
            print(f"{s.target}: +{s.added} -{s.removed} ~{s.changed}")
    for note in report.freeze:
        print(f"[freeze] {note.line()}")
    if not report.changes:
        print("no rendered object changes")
    elif not args.output and not args.markdown:
        print(full, end="")
    else:
        for r in report.risks:
            print(f"[{r.category.value}] {r.target} {r.object_id} {r.where}: {r.detail}")
    return 0
