"""`paystream-ops vault bootstrap|rotate`: Vault for External Secrets, values never on argv."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paystream_ops.errors import UserError
from paystream_ops.paths import ENVIRONMENTS
from paystream_ops.vault.contract import SECRET_NAMES

if TYPE_CHECKING:
    from paystream_ops.vault.values import SecretValue

ARGV_REFUSAL = (
    "refusing a secret value on the command line (it would land in shell history, `ps` and CI "
    "logs): pipe it on stdin"
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "vault",
        help="bootstrap Vault for External Secrets and rotate secrets",
        description="Set up Vault (KV v2, least-privilege policy, Kubernetes auth for External "
        "Secrets) per environment, and rotate secrets without restarting pods. Talks to "
        "VAULT_ADDR with VAULT_TOKEN.",
    )
    actions = parser.add_subparsers(dest="vault_command", metavar="ACTION", required=True)

    boot = actions.add_parser(
        "bootstrap",
        help="idempotently create mounts, policy, auth and the initial secrets",
        description="Idempotent: prints a plan (create/update/unchanged) and applies it; a "
        "second run changes nothing. Initial values come from --secrets-file (a JSON object "
        '{"processor-api-key": "...", "admin-token": "..."}, `-` for stdin) or --generate; '
        "existing secrets are never overwritten.",
    )
    boot.add_argument("--env", required=True, choices=ENVIRONMENTS)
    boot.add_argument(
        "--secrets-file",
        metavar="PATH",
        help="JSON object of initial values; `-` reads stdin. Never a value itself.",
    )
    boot.add_argument(
        "--generate",
        action="store_true",
        help="generate any missing secret not given in --secrets-file",
    )
    boot.add_argument(
        "--kubernetes-host",
        default=os.environ.get("PAYSTREAM_KUBERNETES_HOST", "https://kubernetes.default.svc:443"),
        help="the cluster API server Vault reviews tokens against "
        "[$PAYSTREAM_KUBERNETES_HOST or %(default)s]",
    )
    boot.add_argument(
        "--kubernetes-ca-file",
        metavar="PATH",
        default=os.environ.get("PAYSTREAM_KUBERNETES_CA_FILE"),
        help="PEM CA of that API server; set when Vault runs outside the cluster "
        "[$PAYSTREAM_KUBERNETES_CA_FILE]",
    )
    boot.add_argument(
        "--rotation-grace-seconds",
        type=int,
        default=24 * 3600,
        help="how long a rotated-out version stays readable [%(default)s]",
    )
    boot.add_argument(
        "--max-versions",
        type=int,
        default=10,
        help="versions Vault keeps per secret, at least 2 [%(default)s]",
    )
    boot.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    boot.add_argument("--json", action="store_true", help="machine-readable plan on stdout")
    boot.add_argument("--value", "--secret", dest="argv_value", help=argparse.SUPPRESS)
    boot.set_defaults(handler=run_bootstrap)

    rot = actions.add_parser(
        "rotate",
        help="write a new version of one secret; the previous stays readable for the grace period",
        description="Writes the next version (generated, or read from stdin), soft-deletes "
        "versions whose grace period is over, and prints the new version number, never the "
        "value. Pods pick it up through External Secrets without a restart.",
    )
    rot.add_argument("--env", required=True, choices=ENVIRONMENTS)
    rot.add_argument("--key", required=True, choices=SECRET_NAMES, help="the secret to rotate")
    source = rot.add_mutually_exclusive_group(required=True)
    source.add_argument("--generate", action="store_true", help="generate the new value")
    source.add_argument(
        "--stdin",
        action="store_true",
        help="read the new value from stdin (prompted without echo on a terminal)",
    )
    rot.add_argument(
        "--force",
        action="store_true",
        help="rotate even if max_versions would destroy a version still in its grace period",
    )
    rot.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    rot.add_argument("--value", "--secret", dest="argv_value", help=argparse.SUPPRESS)
    rot.set_defaults(handler=run_rotate)


def _refuse_argv_value(args: argparse.Namespace) -> None:
    if args.argv_value is not None:
        raise UserError(f"--value: {ARGV_REFUSAL}")


def _read_seeds(args: argparse.Namespace) -> dict[str, SecretValue]:
    from paystream_ops.vault.values import looks_like_a_value, parse_seeds

    if args.secrets_file is None:
        return {}
    if args.secrets_file == "-":
        return parse_seeds(sys.stdin.read(), "stdin")
    if looks_like_a_value(args.secrets_file):
        raise UserError(f"--secrets-file takes a path, not values: {ARGV_REFUSAL}")
    path = Path(args.secrets_file)
    try:
        text = path.read_text()
    except OSError as exc:
        raise UserError(f"{path}: cannot read secrets file: {exc.strerror}") from None
    return parse_seeds(text, str(path))


def _read_ca(args: argparse.Namespace) -> str | None:
    if not args.kubernetes_ca_file:
        return None
    path = Path(args.kubernetes_ca_file)
    try:
        pem = path.read_text()
    except OSError as exc:
        raise UserError(f"{path}: cannot read --kubernetes-ca-file: {exc.strerror}") from None
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise UserError(f"{path}: --kubernetes-ca-file is not a PEM certificate")
    return pem


def run_bootstrap(args: argparse.Namespace) -> int:
    _refuse_argv_value(args)
    from paystream_ops.vault.bootstrap import apply_plan, plan_bootstrap
    from paystream_ops.vault.client import VaultClient
    from paystream_ops.vault.desired import BootstrapSettings, KubernetesAuth
    from paystream_ops.vault.report import plan_document, plan_lines
    from paystream_ops.vault.values import generate

    settings = BootstrapSettings(
        env=args.env,
        kubernetes=KubernetesAuth(host=args.kubernetes_host, ca_cert_pem=_read_ca(args)),
        rotation_grace_seconds=args.rotation_grace_seconds,
        max_versions=args.max_versions,
    )
    seeds = _read_seeds(args)
    client = VaultClient.from_environment(os.environ)
    client.check_token()
    plan = plan_bootstrap(client, settings, seeds, generate if args.generate else None)
    if not args.dry_run:
        apply_plan(client, plan)
    if args.json:
        print(json.dumps(plan_document(plan, args.env, applied=not args.dry_run), indent=2))
    else:
        print("\n".join(plan_lines(plan, args.env, client.address, applied=not args.dry_run)))
    return 0


def _read_new_value(args: argparse.Namespace) -> SecretValue:
    from paystream_ops.vault.values import check_value, generate, read_single

    if args.generate:
        return generate()
    if sys.stdin.isatty():
        return check_value(getpass.getpass(f"new value for {args.key}: "), "prompt")
    return read_single(sys.stdin)


def run_rotate(args: argparse.Namespace) -> int:
    _refuse_argv_value(args)
    from paystream_ops.vault import contract
    from paystream_ops.vault.client import VaultClient
    from paystream_ops.vault.report import rotation_document, rotation_lines
    from paystream_ops.vault.rotate import rotate

    contract.check_rotatable(args.key)
    value = _read_new_value(args)
    client = VaultClient.from_environment(os.environ)
    client.check_token()
    result = rotate(client, args.env, args.key, value, force=args.force)
    if args.json:
        print(json.dumps(rotation_document(result), indent=2))
    else:
        print("\n".join(rotation_lines(result)))
    return 0
