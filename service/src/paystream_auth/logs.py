"""JSON log lines on stdout: one per request (cheap, pre-built) and rarer events (audit, secrets).

Request lines are collected and written together every 50 ms (or as soon as 3.5 KiB wait), so
the hot path pays a list append instead of a system call. Each write stays below PIPE_BUF
(4 KiB): the lines of several granian workers never interleave mid-line. Events (audit,
secrets, drain, errors) flush what is pending and go out at once, in order. The request line is
a template over values that are already safe for JSON (enums, hex ids, numbers, validated
merchant ids), which avoids a JSON encoder on the hot path. Card numbers never reach a line:
the request line carries no card field, the merchant id (free text a client controls) is
scrubbed, and so is every string in an event (`cards.scrub_card_numbers`: with or without
separators). Numbers are ours (timestamps, latencies) and are left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any, Final

import msgspec

from paystream_auth.cards import scrub_card_numbers

FLUSH_SECONDS: Final = 0.05
FLUSH_BYTES: Final = 3584
# A merchant id shorter than this cannot hold a card number (12 digits at least).
_SHORTEST_SCRUBBED: Final = 12


def scrubbed(value: Any) -> Any:
    """`value` with every string in it (keys included) scrubbed of card numbers."""
    if isinstance(value, str):
        return scrub_card_numbers(value)
    if isinstance(value, dict):
        return {scrubbed(k): scrubbed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrubbed(item) for item in value]
    return value


class JsonLog:
    def __init__(self, fd: int = 1) -> None:
        self._fd = fd
        self._pid = os.getpid()
        self._encoder = msgspec.json.Encoder()
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._scheduled = False

    def _write(self, data: bytes) -> None:
        # Logging must never fail a request (a closed or full pipe is an operator problem).
        with contextlib.suppress(OSError):
            os.write(self._fd, data)

    def flush(self) -> None:
        self._scheduled = False
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._pending_bytes = 0
            self._write(data)

    def request(
        self,
        *,
        transaction_id: str | None,
        network: str,
        outcome: str,
        status: int,
        latency_seconds: float,
        merchant_id: str | None,
        replay: bool,
    ) -> None:
        txn = f'"{transaction_id}"' if transaction_id else "null"
        if merchant_id is None:
            merchant = "null"
        elif len(merchant_id) < _SHORTEST_SCRUBBED:
            merchant = f'"{merchant_id}"'
        else:
            merchant = f'"{scrub_card_numbers(merchant_id)}"'
        line = (
            f'{{"ts":{time.time():.3f},"level":"info","event":"authorize","pid":{self._pid},'
            f'"transaction_id":{txn},"network":"{network}","outcome":"{outcome}",'
            f'"status":{status},"latency_ms":{latency_seconds * 1000.0:.3f},'
            f'"merchant_id":{merchant},"idempotent_replay":{"true" if replay else "false"}}}\n'
        ).encode()
        self._pending.append(line)
        self._pending_bytes += len(line)
        if self._pending_bytes >= FLUSH_BYTES:
            self.flush()
        elif not self._scheduled:
            try:
                asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)
            except RuntimeError:  # no event loop (a script, a test): write now
                self.flush()
                return
            self._scheduled = True

    def event(self, event: str, level: str = "info", **fields: Any) -> None:
        record = {"ts": round(time.time(), 3), "level": level, "event": event, "pid": self._pid}
        record.update(scrubbed(fields))
        line = self._encoder.encode(record) + b"\n"
        self.flush()
        self._write(line)
