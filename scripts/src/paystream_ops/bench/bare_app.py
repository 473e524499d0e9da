"""The baseline: the least an ASGI app on granian can do for one authorize-sized exchange.

It reads the request body and answers a fixed JSON of the service's response size (and its own
pid, so the launcher can tell when every worker is up). Whatever the service costs beyond this
is the price of Litestar, validation, the breaker, metrics and logging.
"""

from __future__ import annotations

import os
from typing import Any

_BODY = (
    b'{"transaction_id":"txn_000000000000000000000000","status":"approved","network":"visa",'
    b'"amount":1999,"currency":"USD","version":"bench","processing_ms":0.05,'
    b'"authorization_code":"A1B2C3","pid":' + str(os.getpid()).encode() + b"}"
)
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})
