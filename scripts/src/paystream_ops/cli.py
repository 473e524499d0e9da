"""`paystream-ops`: the single entry point for every operator task.

Each sub-command lives in its own module under ``paystream_ops.commands`` and exposes
``register(subparsers)``. Registration must stay cheap: import heavy libraries (matplotlib, hvac,
kubernetes-validate) inside the command's handler, not at module level, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from paystream_ops.errors import UserError

# Order is the order `paystream-ops --help` lists them in.
COMMAND_MODULES: tuple[str, ...] = (
    "status",
    "lab",
    "validate",
    "fetch_crds",
    "bootstrap",
    "diff",
    "bump",
    "promote",
    "evidence",
    "rollback",
    "freeze",
    "vault",
    "dashboards",
    "bench",
    "bench_hostile",
)

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paystream-ops",
        description="PayStream release-safety tooling: canary lab, manifest validation, "
        "rendered diff, image bumps, promotion, rollback and Vault bootstrap.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"paystream_ops.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except UserError as exc:
        print(f"paystream-ops {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"paystream-ops {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("PAYSTREAM_DEBUG"):
            raise
        print(
            f"paystream-ops {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(set PAYSTREAM_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
