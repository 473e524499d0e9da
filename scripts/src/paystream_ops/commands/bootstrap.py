"""`paystream-ops bootstrap`: install a pinned Argo CD into a cluster and apply its root app."""

from __future__ import annotations

import argparse
import subprocess
from typing import Any

from paystream_ops.errors import UserError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bootstrap",
        help="install the pinned Argo CD and the root Application into the current kube context",
        description=(
            "Install Argo CD (pinned release manifest) into the current kube context and apply "
            "clusters/ENV (AppProject, argocd-cm, the root Application and its children); from "
            "then on Argo CD syncs the cluster from Git. Prints the plan with --dry-run; "
            "executing requires --yes."
        ),
    )
    parser.add_argument(
        "--env",
        required=True,
        choices=("staging", "prod"),
        help="which cluster folder to apply (clusters/ENV)",
    )
    parser.add_argument(
        "--context", default=None, help="kube context (default: the current context)"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the commands and what they apply; change nothing",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="really install into the context (guards against the wrong cluster)",
    )
    parser.set_defaults(handler=run)


def _current_context(kubectl: str) -> str | None:
    proc = subprocess.run(
        [kubectl, "config", "current-context"], capture_output=True, text=True, check=False
    )
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def run(args: argparse.Namespace) -> int:
    from paystream_ops.bootstrap.plan import build_plan
    from paystream_ops.paths import repo_root
    from paystream_ops.render import kubectl_binary, render

    kubectl = kubectl_binary()
    root = repo_root()
    objects = render(root / "clusters" / args.env)
    context = args.context or _current_context(kubectl)
    if context is None:
        if not args.dry_run:
            raise UserError("no current kube context: pass --context NAME")
        context = "<current-context>"
    plan = build_plan(args.env, objects, kubectl, context)
    print(f"bootstrap {args.env} into kube context {context!r}:")
    for index, step in enumerate(plan, 1):
        print(f"\n# {index}. {step.description}\n{step.shell()}")
    if args.dry_run:
        return 0
    if not args.yes:
        raise UserError(
            f"refusing to install into context {context!r} without --yes "
            "(read the plan above, or use --dry-run)"
        )
    for index, step in enumerate(plan, 1):
        print(f"\n==> {index}/{len(plan)} {step.description}", flush=True)
        proc = subprocess.run(step.argv, input=step.stdin, text=True, check=False)
        if proc.returncode != 0:
            raise UserError(
                f"bootstrap step {index} ({step.description}) failed with exit code "
                f"{proc.returncode}; fix it and re-run (every step is idempotent)"
            )
    print(f"\nbootstrap done: Argo CD now syncs clusters/{args.env} from Git")
    return 0
