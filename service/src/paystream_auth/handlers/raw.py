"""Plain ASGI pieces for the hot path: read a body with a size limit and deadlines, send a
finished JSON body.

`read_body` reads straight from ASGI `receive` (Litestar's `request.body()` goes through an
async generator) under the body deadlines, and `RawJSON` sends a body that is already encoded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from paystream_auth.body_deadline import BodyDeadlines, BodyTimeout


class BodyTooLarge(Exception):
    pass


class ClientDisconnected(Exception):
    pass


def content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def read_body(
    receive: Any, announced: int | None, limit: int, deadlines: BodyDeadlines, started: float
) -> bytes:
    """The whole body, or BodyTooLarge, ClientDisconnected, BodyTimeout (no deadline: never)."""
    if announced is not None and announced > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    read = deadlines.start(started)
    try:
        while True:
            read.pending = receive()
            try:
                message = await read.pending
            except asyncio.CancelledError:
                if not read.expired:
                    raise
            if read.expired:
                # Raised outside the `except`, with nothing left pointing at granian's receive
                # future: no exception chain keeps the request body alive (granian's graceful
                # shutdown waits for it, and the collector runs rarely, see runtime.py).
                read.pending = None
                raise BodyTimeout
            read.chunks += 1
            if message["type"] == "http.disconnect":
                raise ClientDisconnected
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
    finally:
        read.pending = None
        deadlines.finish(read)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class RawJSON:
    """A finished JSON response as an ASGI app."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if extra:
            self.headers.extend((k.lower().encode(), v.encode()) for k, v in extra.items())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})
