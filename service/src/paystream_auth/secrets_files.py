"""Secrets mounted as files, re-read when their content changes, without a restart.

Kubernetes updates a projected or secret volume by writing a new timestamped directory and
swapping the `..data` symlink atomically; the file we open (`admin-token`) is a symlink through
`..data`, so its inode, mtime and even size may or may not change. Comparing the content on each
poll is the one check that works for every update path (symlink swap, in-place write, rename) and
costs one small read per file per poll. A file that vanishes or turns empty mid-update keeps the
last good value: a half-finished rotation must not lock everyone out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

ADMIN_TOKEN: Final = "admin-token"  # noqa: S105 - a file name, not a secret
PROCESSOR_API_KEY: Final = "processor-api-key"
SECRET_NAMES: Final = (ADMIN_TOKEN, PROCESSOR_API_KEY)
MAX_SECRET_BYTES: Final = 64 * 1024

ChangeKind = Literal["loaded", "rotated", "missing", "empty", "unreadable"]


@dataclass(frozen=True, slots=True)
class SecretChange:
    """Something to log: never carries the value."""

    name: str
    kind: ChangeKind
    generation: int


class SecretFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self.value: str | None = None
        self.generation = 0
        self.loaded_at: float | None = None
        self._last_problem: ChangeKind | None = None

    def _problem(self, kind: ChangeKind) -> SecretChange | None:
        if self._last_problem == kind:
            return None
        self._last_problem = kind
        return SecretChange(self.name, kind, self.generation)

    def refresh(self) -> SecretChange | None:
        """Re-read the file; report a change (or a new problem) once, keep the last good value."""
        try:
            with self.path.open("rb") as handle:
                raw = handle.read(MAX_SECRET_BYTES + 1)
        except FileNotFoundError:
            return self._problem("missing")
        except OSError:
            return self._problem("unreadable")
        try:
            value = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            return self._problem("unreadable")
        if not value or len(raw) > MAX_SECRET_BYTES:
            return self._problem("empty" if not value else "unreadable")
        self._last_problem = None
        if value == self.value:
            return None
        first = self.value is None
        self.value = value
        self.generation += 1
        self.loaded_at = time.time()
        return SecretChange(self.name, "loaded" if first else "rotated", self.generation)


class SecretsDirectory:
    """The two files the service needs, under PAYSTREAM_SECRETS_DIR."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files = {name: SecretFile(directory / name) for name in SECRET_NAMES}

    def refresh(self) -> list[SecretChange]:
        changes = [secret.refresh() for secret in self.files.values()]
        return [change for change in changes if change is not None]

    def value(self, name: str) -> str | None:
        return self.files[name].value

    def missing(self) -> list[str]:
        """Secrets never loaded since start-up (readiness fails only for these)."""
        return [name for name, secret in self.files.items() if secret.value is None]
