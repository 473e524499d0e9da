"""`GET /metrics`: the Prometheus text exposition."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from paystream_auth.handlers.common import runtime_of
from paystream_auth.metrics import CONTENT_TYPE


@get("/metrics")
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    return Response(runtime_of(request).metrics.exposition(), media_type=CONTENT_TYPE)
