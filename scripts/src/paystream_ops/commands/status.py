"""`paystream-ops status`: the on-call's one screen for a release, from a cluster or a lab run."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paystream_ops.errors import UserError
from paystream_ops.paths import ENVIRONMENTS

DEFAULT_ROLLOUT = "auth-service"


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "status",
        help="a release on one screen: Rollout, analysis per network, Argo CD, freeze",
        description=(
            "Read the Rollout, its AnalysisRuns and ReplicaSets and Argo CD's Applications "
            "through the Kubernetes API (the kubeconfig context kubectl would use; read-only, "
            "see scripts/rbac/status-reader.yaml), or the objects a lab run wrote "
            "(--from-lab), and show the phase, step, canary weight, images and revisions, each "
            "measurement per network and signal against its threshold, what decided, the "
            "Applications' sync and health and whether a sync window blocks the environment now."
        ),
    )
    parser.add_argument("--env", choices=ENVIRONMENTS, default="prod", help="default prod")
    parser.add_argument("--context", help="kube context (default: the current one)")
    parser.add_argument(
        "--namespace", help="the Rollout's namespace (default: overlays/ENV's namespace)"
    )
    parser.add_argument("--rollout", default=DEFAULT_ROLLOUT, help=f"default {DEFAULT_ROLLOUT}")
    parser.add_argument(
        "--from-lab",
        type=Path,
        metavar="DIR",
        help="read a lab run's objects (`paystream-ops lab --report DIR`) instead of a cluster",
    )
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.add_argument("--watch", action="store_true", help="refresh in place until Ctrl-C")
    parser.add_argument(
        "--interval", type=float, default=5.0, help="seconds between refreshes (default 5)"
    )
    parser.set_defaults(handler=run)


def overlay_namespace(env: str) -> str:
    import yaml

    from paystream_ops.paths import overlay_dir

    path = overlay_dir(env) / "kustomization.yaml"
    namespace = (yaml.safe_load(path.read_text()) or {}).get("namespace")
    if not namespace:
        raise UserError(f"{path}: namespace: not set; pass --namespace")
    return str(namespace)


def _loader(args: argparse.Namespace) -> Callable[[], Any]:
    if args.from_lab is not None:
        from paystream_ops.status.lab_dir import lab_status

        return lambda: lab_status(args.from_lab, args.env)
    from paystream_ops.status.kube import ClusterReader, api_client, cluster_status

    namespace = args.namespace or overlay_namespace(args.env)
    api, context = api_client(args.context)
    reader = ClusterReader(api, context)
    return lambda: cluster_status(reader, args.env, namespace, args.rollout)


def _refreshed(load: Callable[[], Any], render: Callable[[Any], Any], interval: float) -> Any:
    """The next screen; a failed refresh (the API server blipped) shows its error and retries."""
    from rich.text import Text

    try:
        return render(load())
    except UserError as exc:
        return Text(f"error: {exc} (retrying every {interval:g}s)", style="bold red")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from paystream_ops.status.render import render, to_json

    if args.interval <= 0:
        raise UserError("--interval: expected a positive number of seconds")
    if args.json and args.watch:
        raise UserError("--json and --watch: choose one (pipe --json into a loop to follow)")
    load = _loader(args)
    if args.json:
        print(json.dumps(to_json(load()), indent=2))
        return 0
    console = Console()
    if not args.watch:
        console.print(render(load()))
        return 0
    from rich.live import Live

    with Live(render(load()), console=console, screen=False, auto_refresh=False) as live:
        try:
            while True:
                time.sleep(args.interval)
                live.update(_refreshed(load, render, args.interval), refresh=True)
        except KeyboardInterrupt:  # Ctrl-C is how a watch ends
            return 0
