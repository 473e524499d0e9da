"""Where things live in the repository, found from the working directory or this package."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from paystream_ops.errors import UserError

ENVIRONMENTS: tuple[str, ...] = ("staging", "prod")


def repo_root(start: Path | None = None) -> Path:
    """The repository root: the nearest parent holding both `overlays/` and `base/`."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "overlays").is_dir() and (candidate / "base").is_dir():
            return candidate
    package_guess = Path(__file__).resolve().parents[3]
    if (package_guess / "overlays").is_dir():
        return package_guess
    raise UserError(f"{here}: not inside the PayStream GitOps repository (no overlays/ and base/)")


def overlay_dir(env: str, root: Path | None = None) -> Path:
    if env not in ENVIRONMENTS:
        raise UserError(f"unknown environment {env!r}: expected one of {', '.join(ENVIRONMENTS)}")
    return repo_root(root) / "overlays" / env


def pinned_tool(name: str) -> str:
    """A tool the lock file pins (kubectl, trivy, ...): this environment's bin directory first,
    then PATH; missing is a one-line error that says how to install it."""
    pinned = Path(sys.executable).parent / name
    if pinned.exists():
        return str(pinned)
    found = shutil.which(name)
    if found is None:
        raise UserError(f"{name} not found: run `make setup` (it installs the pinned {name})")
    return found
