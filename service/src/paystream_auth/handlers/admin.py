"""`/admin/faults` (GET, PUT, DELETE) behind a bearer token read from a mounted secret."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from litestar import Request, Response, route
from litestar.connection import ASGIConnection
from litestar.enums import HttpMethod
from litestar.handlers.base import BaseRouteHandler

from paystream_auth.body_deadline import BodyTimeout
from paystream_auth.faults import FaultProfileError, RepeatedKeyError, parse_profile
from paystream_auth.handlers.common import (
    MAX_BODY_BYTES,
    body_timeout,
    body_too_large,
    is_json_media_type,
    json_response,
    runtime_of,
    unsupported_media_type,
)
from paystream_auth.handlers.raw import (
    BodyTooLarge,
    ClientDisconnected,
    content_length,
    read_body,
)
from paystream_auth.problems import Problem
from paystream_auth.secrets_files import ADMIN_TOKEN


def tokens_match(presented: str, expected: str) -> bool:
    """Constant time in the content and the length: compare fixed-size digests."""
    return hmac.compare_digest(
        hashlib.sha256(presented.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )


def _actor(connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
    client = connection.client
    return {"client": client.host if client else None, "path": connection.scope["path"]}


def _unauthorized(retry_after: int | None) -> Problem:
    headers = {"WWW-Authenticate": 'Bearer realm="paystream-admin"'}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Problem(
        status=401,
        slug="unauthorized",
        detail="a valid bearer token is required",
        headers=headers,
    )


def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """The bearer token, throttled per source (auth_throttle.py); failures are logged by count."""
    runtime = runtime_of(connection)
    expected = runtime.secrets.value(ADMIN_TOKEN)
    if expected is None:
        raise Problem(status=503, slug="not-ready", detail="the admin token is not loaded yet")
    source = connection.client.host if connection.client else "unknown"
    now = time.monotonic()
    throttle = runtime.admin_auth
    retry_after = throttle.retry_after(source, now)
    if retry_after is not None:  # locked out: the token is not even compared
        throttle.failed(source, now)
        raise _unauthorized(retry_after)
    scheme, _, presented = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not tokens_match(presented.strip(), expected):
        throttle.failed(source, now)
        raise _unauthorized(throttle.retry_after(source, now))
    throttle.succeeded(source)


async def _put(request: Request[Any, Any, Any]) -> Response[bytes]:
    runtime = runtime_of(request)
    if not is_json_media_type(request.headers.get("content-type")):
        raise unsupported_media_type()
    deadlines = runtime.bodies
    try:
        body = await read_body(
            request.receive,
            content_length(request.scope["headers"]),
            MAX_BODY_BYTES,
            deadlines,
            time.perf_counter(),
        )
    except BodyTooLarge:
        raise body_too_large() from None
    except BodyTimeout:
        raise body_timeout(deadlines.total_seconds, deadlines.idle_seconds) from None
    except ClientDisconnected:
        raise Problem(status=400, slug="malformed-json", detail="the body was cut short") from None
    try:
        profile = parse_profile(body)
    except RepeatedKeyError as exc:
        raise Problem(
            status=400, slug="duplicate-key", detail=str(exc), field=exc.field or "body"
        ) from None
    except FaultProfileError as exc:
        raise Problem(
            status=422, slug="invalid-field", detail=str(exc), field=exc.field or "body"
        ) from None
    return json_response(runtime.faults.set(profile, _actor(request)))


# One handler for the three methods: with three separate handlers Litestar 2.25 builds the
# path's automatic OPTIONS answer from the first one only (`Allow: GET, OPTIONS`).
@route(
    "/admin/faults",
    http_method=[HttpMethod.GET, HttpMethod.PUT, HttpMethod.DELETE],
    guards=[admin_guard],
    status_code=200,
    request_max_body_size=MAX_BODY_BYTES,
)
async def admin_faults(request: Request[Any, Any, Any]) -> Response[bytes]:
    method = request.scope["method"]
    if method == "PUT":
        return await _put(request)
    faults = runtime_of(request).faults
    if method == "DELETE":
        return json_response(faults.clear(_actor(request)))
    return json_response(faults.document())
