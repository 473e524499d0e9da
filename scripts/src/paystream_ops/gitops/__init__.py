"""Delivery by Git: image bumps, promotion, rollback by revert and the rendered diff.

Pure core (image references, the kustomization `images:` edit, commit messages, history of
image changes, object diff, risk classification, markdown) with thin adapters for git and
kustomize at the edges (`git.py`, `render_tree.py`).
"""

from __future__ import annotations

from paystream_ops.errors import UserError

# The one image every overlay pins (DESIGN.md, "Contracts between the parts").
IMAGE_NAME = "ghcr.io/paystream/auth-service"
# The short name used in commit subjects and branch names.
IMAGE_SHORT_NAME = "auth-service"
# Environments whose overlay must pin a digest: a tag alone can be re-pushed under our feet.
DIGEST_REQUIRED: frozenset[str] = frozenset({"prod"})


class NothingToDo(UserError):
    """The request is valid but would change nothing (no-op bump, prod already equal, soak not
    over, no bump to revert). Exit code 3, so a scheduled workflow can tell "nothing to do"
    apart from a real failure (exit 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=3)


def overlay_file(env: str) -> str:
    """The repository-relative path of an environment's kustomization."""
    return f"overlays/{env}/kustomization.yaml"
