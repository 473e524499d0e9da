"""The kubelet's own listener: `/livez` and `/readyz` on `PAYSTREAM_PROBE_PORT`, apart from granian.

granian serves one app on one socket and counts every connection against `--backpressure`; a
client holding them all would starve the probes and get a pod restarted that is only being held.
So every worker of a server process also listens on the probe port (`SO_REUSEPORT`: the workers
share it) with a minimal HTTP/1.1 server on the app's own event loop. Liveness is answered by
that loop (a stuck loop still fails it) and readiness by the same runtime as on the main port.
Each connection gets one answer and is closed; at most `MAX_CONNECTIONS` are open at a time, for
at most `DEADLINE_SECONDS` each, so this listener cannot be held either. Only the kubelet may
reach the port (NetworkPolicy; the mesh's L4 policy does not allow it).
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Final, cast

import msgspec

from paystream_auth.handlers.probes import ALIVE, READY, readiness_problem
from paystream_auth.problems import MEDIA_TYPE, Problem, encode_problem, http_problem
from paystream_auth.runtime import Runtime

MAX_CONNECTIONS: Final = 16
DEADLINE_SECONDS: Final = 2.0
MAX_REQUEST_BYTES: Final = 4096
_ENCODER: Final = msgspec.json.Encoder()


def _response(status: int, content_type: str, body: bytes, extra: str = "") -> bytes:
    phrase = HTTPStatus(status).phrase
    return (
        f"HTTP/1.1 {status} {phrase}\r\ncontent-type: {content_type}\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n{extra}\r\n"
    ).encode() + body


def _problem(problem: Problem, extra: str = "") -> bytes:
    return _response(problem.status, MEDIA_TYPE, encode_problem(problem), extra)


def answer(runtime: Runtime, request_head: bytes) -> bytes:
    """The whole HTTP response for one request head (request line and headers)."""
    parts = request_head.split(b"\r\n", 1)[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        return _problem(http_problem(400))
    method, path = parts[0], parts[1].split(b"?", 1)[0]
    if path not in (b"/livez", b"/readyz"):
        return _problem(http_problem(404))
    if method not in (b"GET", b"HEAD"):
        return _problem(http_problem(405), "allow: GET, HEAD\r\n")
    if path == b"/livez":
        response = _response(200, "application/json", _ENCODER.encode(ALIVE))
    elif (problem := readiness_problem(runtime)) is not None:
        response = _problem(problem)
    else:
        response = _response(200, "application/json", _ENCODER.encode(READY))
    if method == b"HEAD":
        return response.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    return response


class _ProbeConnection(asyncio.Protocol):
    def __init__(self, listener: ProbeListener) -> None:
        self._listener = listener
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._transport = transport
        if self._listener.open_connections >= MAX_CONNECTIONS:
            transport.abort()
            return
        self._listener.open_connections += 1
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(DEADLINE_SECONDS, transport.abort)

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_REQUEST_BYTES:
                transport.write(_problem(http_problem(431)))
                transport.close()
            return
        transport.write(answer(self._listener.runtime, self._buffer[:end]))
        transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._listener.open_connections -= 1


class ProbeListener:
    """Started and stopped with the app (Litestar lifespan hooks), in server processes only."""

    def __init__(self, runtime: Runtime, port: int) -> None:
        self.runtime = runtime
        self.port = port
        self.open_connections = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        # Not in a test client's thread (no signal handlers there: `drain.installed` is False),
        # and not when no port is configured.
        if not self.port or not self.runtime.drain.installed:
            return
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: _ProbeConnection(self), port=self.port, reuse_port=True
            )
        except OSError as exc:
            self.runtime.log.event(
                "probes.listen_failed", level="error", port=self.port, error=exc.strerror
            )
            raise
        self.runtime.log.event("probes.listening", port=self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
