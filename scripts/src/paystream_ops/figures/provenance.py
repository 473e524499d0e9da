"""Which command wrote a section, when, and on which code: the line under its heading."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Provenance:
    command: str  # as typed, e.g. `paystream-ops lab --scenario healthy --record-figures`
    when: datetime  # timezone-aware
    commit: str | None  # short hash of HEAD, None outside a git checkout
    dirty: bool  # the working tree had changes to tracked files

    def line(self) -> str:
        code = "outside a git checkout" if self.commit is None else f"commit `{self.commit}`"
        if self.commit is not None and self.dirty:
            code += " with uncommitted changes"
        return (
            f"_Written by `{self.command}` on {self.when:%Y-%m-%d %H:%M} {self.when:%Z}, {code}._"
        )
