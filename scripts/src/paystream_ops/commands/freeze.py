"""`paystream-ops freeze`: is prod frozen now (or at --at), and which windows are current and
next, read from the rendered AppProject with Argo CD's own sync-window rules."""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from paystream_ops.errors import UserError


def operator_zone(name: str | None = None) -> ZoneInfo:
    """--tz, else $TZ, else /etc/localtime's IANA name, else UTC."""
    from paystream_ops.freeze.syncwindows import resolve_zone

    candidate = name or os.environ.get("TZ", "").lstrip(":")
    if not candidate:
        link = Path("/etc/localtime")
        if link.is_symlink() and "zoneinfo/" in str(link.resolve()):
            candidate = str(link.resolve()).split("zoneinfo/", 1)[1]
    zone = resolve_zone(candidate or "UTC")
    if zone is None:
        raise UserError(f"--tz: {candidate!r} is not an IANA time zone (e.g. America/New_York)")
    return zone


def parse_at(text: str | None, zone: ZoneInfo) -> datetime:
    """ISO 8601; without an offset it is read in the operator's zone. Default: now."""
    if not text or text == "now":
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UserError(
            f"--at: {text!r} is not an ISO 8601 time (e.g. 2026-11-27T12:00 or 2026-11-27T17:00Z)"
        ) from exc
    return at.replace(tzinfo=zone) if at.tzinfo is None else at


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "freeze",
        help="is ENV in a change freeze now (or --at), and its current and next windows",
        description="Render clusters/ENV, take the sync windows of the AppProject of the "
        "Application that deploys overlays/ENV, and evaluate them as Argo CD does: are "
        "automated and manual syncs allowed at that moment, which deny windows are current "
        "and which come next, in your time zone and UTC. Exit 0 either way.",
    )
    parser.add_argument("--env", default="prod", help="environment (default prod)")
    parser.add_argument("--at", help="another moment, ISO 8601 (no offset: --tz's zone)")
    parser.add_argument("--tz", help="your time zone (default $TZ or the system's)")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the GitOps checkout")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from paystream_ops.freeze.cluster import load_cluster
    from paystream_ops.freeze.gate import all_freezes, service_freeze
    from paystream_ops.freeze.report import to_json, to_text
    from paystream_ops.paths import overlay_dir, repo_root

    overlay_dir(args.env)  # a one-line error for an unknown environment
    zone = operator_zone(args.tz)
    at = parse_at(args.at, zone)
    cluster = load_cluster(repo_root(args.repo), args.env)
    service = service_freeze(cluster, at)
    apps = all_freezes(cluster, at)
    if args.json:
        print(json.dumps(to_json(args.env, service, apps, zone)))
    else:
        print(to_text(args.env, service, apps, zone))
    return 0
