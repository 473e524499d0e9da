"""What every handler needs: the runtime of the app and JSON/problem responses."""

from __future__ import annotations

from typing import Any, Final

import msgspec
from litestar import Response
from litestar.connection import ASGIConnection
from litestar.enums import MediaType
from litestar.types import Scope

from paystream_auth.problems import Problem
from paystream_auth.runtime import Runtime

MAX_BODY_BYTES: Final = 16 * 1024
_ENCODER: Final = msgspec.json.Encoder()


def runtime_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Runtime:
    return runtime_from_scope(connection.scope)


def runtime_from_scope(scope: Scope) -> Runtime:
    runtime = scope["litestar_app"].state["runtime"]
    if not isinstance(runtime, Runtime):  # pragma: no cover - wiring error, caught by any test
        raise TypeError("app.state.runtime is not a Runtime")
    return runtime


def json_response(document: Any, status_code: int = 200) -> Response[bytes]:
    return Response(_ENCODER.encode(document), status_code=status_code, media_type=MediaType.JSON)


def is_json_media_type(content_type: bytes | str | None) -> bool:
    """`application/json`, optionally with `charset=utf-8` (any other charset is refused)."""
    if content_type is None:
        return False
    if content_type == b"application/json":  # what nearly every client sends
        return True
    text = content_type.decode("latin-1") if isinstance(content_type, bytes) else content_type
    media_type, _, params = text.partition(";")
    if media_type.strip().lower() != "application/json":
        return False
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            return False
    return True


def unsupported_media_type() -> Problem:
    return Problem(
        status=415,
        slug="unsupported-media-type",
        detail="send the body as application/json",
        field="Content-Type",
    )


def body_timeout(total_seconds: float, idle_seconds: float) -> Problem:
    # Connection: close: the rest of the body may still arrive, and must not be read as a request.
    return Problem(
        status=408,
        slug="body-timeout",
        detail=f"the body must arrive within {total_seconds:g} s, with no pause longer than "
        f"{idle_seconds:g} s",
        field="body",
        headers={"Connection": "close"},
    )


def body_too_large() -> Problem:
    return Problem(
        status=413,
        slug="body-too-large",
        detail=f"the body must be at most {MAX_BODY_BYTES} bytes",
        field="body",
    )
