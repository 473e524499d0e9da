"""Where things live in the repository, found from the working directory or this package."""

from __future__ import annotations

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
