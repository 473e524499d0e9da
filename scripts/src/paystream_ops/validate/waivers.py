"""The committed waiver file: each scanner finding that is not fixed is waived one by one.

    waivers:
      - check: KSV-0109
        target: overlays/prod          # or "*"
        object: ConfigMap/environment  # Kind/name, or "*"
        reason: why this finding does not apply, or what compensates for it

A waiver without a reason, or one that matches no finding, is itself a problem.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import yaml

from paystream_ops.errors import UserError

WAIVERS_FILE = "validate-waivers.yaml"


@dataclass(frozen=True)
class Waiver:
    index: int
    check: str
    target: str
    obj: str
    reason: str

    def matches(self, check: str, target: str, obj: str) -> bool:
        return (
            self.check == check
            and fnmatch.fnmatchcase(target, self.target)
            and fnmatch.fnmatchcase(obj, self.obj)
        )


def load_waivers(path: Path) -> list[Waiver]:
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: invalid YAML: {exc}") from exc
    entries = data.get("waivers") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise UserError(f"{path}: waivers: expected a list")
    waivers = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise UserError(f"{path}: waivers[{i}]: expected a mapping")
        missing = [k for k in ("check", "target", "object", "reason") if not entry.get(k)]
        if missing:
            raise UserError(
                f"{path}: waivers[{i}]: missing {', '.join(missing)} (every waiver "
                "names what it waives and why)"
            )
        waivers.append(
            Waiver(
                i,
                str(entry["check"]),
                str(entry["target"]),
                str(entry["object"]),
                str(entry["reason"]).strip(),
            )
        )
    return waivers
