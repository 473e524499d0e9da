"""Setting the fault profile at run time (the admin API), shared by every granian worker.

An override lives `ttl_seconds` so a forgotten drill cannot linger. With several workers the
override is also written (atomically: temp file + rename) to a file in the shared directory and
every worker applies it on its next poll, so a PUT that lands on one worker reaches them all
within one poll interval. Every change is an audit line.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any, Final, Literal

import msgspec

from paystream_auth.faults import FaultProfile, FaultState, Override, OverrideDocument
from paystream_auth.logs import JsonLog

OVERRIDE_FILE: Final = "paystream-faults-override.json"


class FaultsDocument(msgspec.Struct, frozen=True):
    """What `GET/PUT/DELETE /admin/faults` answer."""

    active: FaultProfile
    source: Literal["startup", "admin"]
    expires_at: float | None
    ttl_seconds: float
    startup: FaultProfile


class FaultAdmin:
    def __init__(
        self,
        state: FaultState,
        ttl_seconds: float,
        shared_dir: Path | None,
        log: JsonLog,
    ) -> None:
        self.state = state
        self.ttl_seconds = ttl_seconds
        self.shared_file = shared_dir / OVERRIDE_FILE if shared_dir is not None else None
        self._log = log
        self._seen: bytes | None = None

    def document(self, now: float | None = None) -> FaultsDocument:
        now = time.time() if now is None else now
        override = self.state.override
        active = override is not None and now < override.expires_at
        return FaultsDocument(
            active=self.state.effective(now),
            source="admin" if active else "startup",
            expires_at=override.expires_at if active and override is not None else None,
            ttl_seconds=self.ttl_seconds,
            startup=self.state.startup,
        )

    def set(self, profile: FaultProfile, actor: dict[str, Any]) -> FaultsDocument:
        now = time.time()
        override = Override(profile, now + self.ttl_seconds)
        self.state.set_override(override)
        self._share(OverrideDocument(profile, override.expires_at))
        self._log.event(
            "audit",
            action="faults.set",
            profile=msgspec.to_builtins(profile),
            expires_at=round(override.expires_at, 3),
            **actor,
        )
        return self.document(now)

    def clear(self, actor: dict[str, Any]) -> FaultsDocument:
        self.state.set_override(None)
        self._share(None)
        self._log.event("audit", action="faults.clear", **actor)
        return self.document()

    def poll(self, now: float) -> None:
        """Pick up another worker's change, and log an override that just expired."""
        if self.shared_file is not None:
            self._load_shared()
        expired = self.state.expired(now)
        if expired is not None:
            self._log.event(
                "audit",
                action="faults.expired",
                profile=msgspec.to_builtins(expired.profile),
                expired_at=round(expired.expires_at, 3),
            )

    def _share(self, document: OverrideDocument | None) -> None:
        if self.shared_file is None:
            return
        if document is None:
            with contextlib.suppress(FileNotFoundError):
                self.shared_file.unlink()
            self._seen = b""
            return
        raw = msgspec.json.encode(document)
        tmp = self.shared_file.with_name(f".{OVERRIDE_FILE}.{os.getpid()}.tmp")
        tmp.write_bytes(raw)
        tmp.replace(self.shared_file)
        self._seen = raw

    def _load_shared(self) -> None:
        assert self.shared_file is not None
        try:
            raw = self.shared_file.read_bytes()
        except FileNotFoundError:
            raw = b""
        if raw == self._seen:
            return
        self._seen = raw
        if not raw:
            self.state.set_override(None)
            return
        try:
            document = msgspec.json.decode(raw, type=OverrideDocument)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            self._log.event("faults.shared_file_invalid", level="warning")
            return
        self.state.set_override(Override(document.profile, document.expires_at))
