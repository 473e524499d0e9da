"""`paystream-ops bootstrap`: install a pinned Argo CD into a cluster and apply its root app."""

from __future__ import annotations

import argparse
from typing import Any

from paystream_ops.errors import UserError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bootstrap",
        help="install the pinned Argo CD and the root Application into the current kube context",
        description=(
            "Install Argo CD (pinned release manifest) into the current kube context and apply "
            "clusters/ENV (AppProject, argocd-cm, the root Application and its children) through "
            "the Kubernetes API with server-side apply (field manager paystream-ops-bootstrap, "
            "never forcing a conflict); from then on Argo CD syncs the cluster from Git. "
            "--dry-run is a server-side dry run; executing requires --yes. Prints what changed."
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
        help="server-side dry run (dryRun=All): what would change, nothing persisted",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="really install into the context (guards against the wrong cluster)",
    )
    parser.add_argument(
        "--argocd-manifest",
        default=None,
        metavar="URL|FILE",
        help="the Argo CD install manifest (default: the pinned release's; e.g. a mirror's copy)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from paystream_ops.bootstrap.apply import Applier, fetch_manifest, summary
    from paystream_ops.bootstrap.plan import ARGOCD_INSTALL_URL, build_plan, describe
    from paystream_ops.paths import repo_root
    from paystream_ops.render import render
    from paystream_ops.status.kube import api_client

    objects = render(repo_root() / "clusters" / args.env)
    plan = build_plan(args.env, objects, args.argocd_manifest or ARGOCD_INSTALL_URL)
    api, context = api_client(args.context)
    mode = "server-side dry run" if args.dry_run else "plan"
    print(f"bootstrap {args.env} into kube context {context!r} ({mode}):")
    for index, step in enumerate(plan, 1):
        print(f"  {index}. {describe(step)}")
    if not args.dry_run and not args.yes:
        raise UserError(
            f"refusing to install into context {context!r} without --yes "
            "(read the plan above, or use --dry-run)"
        )
    applier = Applier(api, context, dry_run=args.dry_run)
    changes = applier.run(plan, fetch_manifest)
    if args.dry_run:
        print(f"\ndry run in {context!r}: {summary(changes)}; nothing was changed")
    else:
        print(
            f"\nbootstrap done in {context!r}: {summary(changes)}; Argo CD now syncs "
            f"clusters/{args.env} from Git"
        )
    return 0
