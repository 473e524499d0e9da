"""Hostile clients: hold N connections against a server, the way the 1,025-connection outage did.

Each connection is one of these kinds (spread evenly), and is opened again whenever the server
cuts it, so N stay held for as long as the attack runs:

- `silent`: connects and sends nothing;
- `idle`: one complete request, then an idle keep-alive;
- `slow-headers`: a request line, then one header byte a second, never the blank line;
- `unfinished-body`: headers announcing 1,000 bytes, then one byte.

Used by `paystream-ops bench-hostile` (in its own process: `python -m paystream_ops.bench.attack`,
JSON lines of counts on stdout) and by the service's tests (`AttackThread`, in a thread).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Final

KINDS: Final = ("silent", "idle", "slow-headers", "unfinished-body")
OPEN_TIMEOUT_SECONDS: Final = 5.0
REOPEN_PAUSE_SECONDS: Final = 0.05


@dataclass
class AttackCounts:
    """What the attack saw; `held` is how many connections are open right now."""

    held: int = 0
    opened: int = 0
    cut_by_server: int = 0
    refused: int = 0
    # Status codes of answers the server gave to hostile requests (408 for unfinished bodies).
    answers: dict[str, int] = field(default_factory=dict)


class Attack:
    def __init__(
        self, host: str, port: int, connections: int, kinds: tuple[str, ...] = KINDS
    ) -> None:
        self.host = host
        self.port = port
        self.connections = connections
        self.kinds = kinds
        self.counts = AttackCounts()

    async def run(self, stop: asyncio.Event) -> None:
        holders = [
            asyncio.create_task(self._hold(self.kinds[i % len(self.kinds)], stop))
            for i in range(self.connections)
        ]
        await stop.wait()
        for task in holders:
            task.cancel()
        await asyncio.gather(*holders, return_exceptions=True)

    async def _hold(self, kind: str, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), OPEN_TIMEOUT_SECONDS
                )
            except (OSError, TimeoutError):
                self.counts.refused += 1
                await asyncio.sleep(REOPEN_PAUSE_SECONDS)
                continue
            self.counts.opened += 1
            self.counts.held += 1
            try:
                await self._misbehave(kind, reader, writer)
                self.counts.cut_by_server += 1
            except (OSError, asyncio.IncompleteReadError):
                self.counts.cut_by_server += 1
            finally:
                self.counts.held -= 1
                writer.close()
            await asyncio.sleep(REOPEN_PAUSE_SECONDS)

    async def _misbehave(
        self, kind: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Hold the connection the `kind`'s way; return when the server closes it."""
        host = f"Host: {self.host}\r\n".encode()
        if kind == "idle":
            writer.write(b"GET /livez HTTP/1.1\r\n" + host + b"\r\n")
            self._count(await reader.readuntil(b"\r\n\r\n"))
        elif kind == "unfinished-body":
            writer.write(
                b"POST /v1/authorize HTTP/1.1\r\n"
                + host
                + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            )
        elif kind == "slow-headers":
            writer.write(b"POST /v1/authorize HTTP/1.1\r\n" + host + b"X-Slow: ")
            while not reader.at_eof():
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    data = await asyncio.wait_for(reader.read(4096), 1.0)
                    if not data:
                        return
                    self._count(data)
                writer.write(b"a")
            return
        await writer.drain()
        while data := await reader.read(4096):
            self._count(data)

    def _count(self, data: bytes) -> None:
        if data.startswith(b"HTTP/1.1 "):
            status = data[9:12].decode(errors="replace")
            self.counts.answers[status] = self.counts.answers.get(status, 0) + 1


class AttackThread:
    """An attack on its own event loop in a thread (for tests): `with AttackThread(...) as a:`."""

    def __init__(self, host: str, port: int, connections: int, kinds: tuple[str, ...] = KINDS):
        self.attack = Attack(host, port, connections, kinds)
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = threading.Event()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            self._stop = asyncio.Event()
            self._started.set()
            await self.attack.run(self._stop)

        self._loop.run_until_complete(main())
        self._loop.close()

    @property
    def counts(self) -> AttackCounts:
        return self.attack.counts

    def wait_held(self, count: int, timeout_seconds: float) -> float:
        """Wait until `count` connections are held; the seconds it took (raises if never)."""
        started = time.monotonic()
        while self.counts.held < count:
            if time.monotonic() - started > timeout_seconds:
                raise TimeoutError(
                    f"only {self.counts.held} of {count} connections held after "
                    f"{timeout_seconds:g} s ({self.counts})"
                )
            time.sleep(0.05)
        return time.monotonic() - started

    def __enter__(self) -> AttackThread:
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)


async def _report(attack: Attack, every_seconds: float) -> None:
    while True:
        print(json.dumps(asdict(attack.counts)), flush=True)
        await asyncio.sleep(every_seconds)


async def _main(host: str, port: int, connections: int) -> None:
    attack = Attack(host, port, connections)
    stop = asyncio.Event()
    reporter = asyncio.create_task(_report(attack, 0.25))
    loop = asyncio.get_running_loop()
    # The parent stops the attack by closing stdin.
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    runner = asyncio.create_task(attack.run(stop))
    await reader.read()
    stop.set()
    await runner
    reporter.cancel()
    print(json.dumps(asdict(attack.counts)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(_main(args.host, args.port, args.connections))


if __name__ == "__main__":
    main()
