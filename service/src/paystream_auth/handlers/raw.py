"""Plain ASGI pieces for the hot path: read a body with a size limit, send a finished JSON body.

`read_body` reads straight from ASGI `receive` (Litestar's `request.body()` goes through an
async generator), and `RawJSON` sends a body that is already encoded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class BodyTooLarge(Exception):
    pass


class ClientDisconnected(Exception):
    pass


def content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def read_body(receive: Any, announced: int | None, limit: int) -> bytes:
    if announced is not None and announced > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
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
