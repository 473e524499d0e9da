"""The ASGI application: `paystream_auth.app:app`, built by the factory `create_app`.

    granian --interface asgi --host 0.0.0.0 --port 8080 paystream_auth.app:app

`app` is created on first access (PEP 562), so importing `create_app` in a test builds nothing.
A configuration error stops the worker with one line on stderr and exit code 2, not a traceback.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException

from paystream_auth.config import ConfigError, load_settings
from paystream_auth.drain import close_while_draining
from paystream_auth.handlers.admin import admin_faults
from paystream_auth.handlers.authorize import authorize
from paystream_auth.handlers.common import MAX_BODY_BYTES, runtime_of
from paystream_auth.handlers.metrics import metrics
from paystream_auth.handlers.probes import health, livez, readyz
from paystream_auth.openapi import build_document
from paystream_auth.probe_listener import ProbeListener
from paystream_auth.problems import MEDIA_TYPE, Problem, encode_problem, http_problem
from paystream_auth.runtime import Runtime


def _problem_response(request: Request[Any, Any, Any], problem: Problem) -> Response[bytes]:
    return Response(
        encode_problem(problem),
        status_code=problem.status,
        media_type=MEDIA_TYPE,
        headers=runtime_of(request).drain.extra_headers(problem.headers) or None,
    )


def on_problem(request: Request[Any, Any, Any], exc: Problem) -> Response[bytes]:
    return _problem_response(request, exc)


def on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    # Litestar's own errors (404, 405, 413, ...): same shape, and only the status phrase as
    # detail, since Litestar's details may quote the path or the input.
    problem = http_problem(exc.status_code)
    problem.headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
    return _problem_response(request, problem)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    runtime_of(request).log.event(
        "unhandled_error", level="error", error=type(exc).__name__, path=request.scope["path"]
    )
    return _problem_response(
        request, Problem(status=500, slug="internal-error", detail="an unexpected error occurred")
    )


def create_app(env: Mapping[str, str] | None = None) -> Litestar:
    """Build the app from environment variables (or `env`); raise ConfigError on a bad value."""
    environment = dict(os.environ if env is None else env)
    settings = load_settings(environment)
    runtime = Runtime.build(settings, environment)
    probes = ProbeListener(runtime, settings.probe_port)
    openapi_body = msgspec.json.encode(build_document(settings.version))

    @get("/openapi.json")
    async def openapi() -> Response[bytes]:
        return Response(openapi_body, media_type="application/json")

    return Litestar(
        route_handlers=[
            authorize,
            livez,
            readyz,
            health,
            metrics,
            admin_faults,
            openapi,
        ],
        state=State({"runtime": runtime}),
        on_startup=[runtime.startup, probes.start],
        on_shutdown=[probes.stop, runtime.shutdown],
        exception_handlers={
            Problem: on_problem,
            HTTPException: on_http_exception,
            Exception: on_unexpected,
        },
        after_request=close_while_draining(runtime.drain),
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=None,
        logging_config=None,
        debug=False,
    )


@functools.cache
def _default_app() -> Litestar:
    """The app granian serves, built from the environment."""
    try:
        application = create_app()
    except ConfigError as exc:
        print(f"paystream-auth: configuration error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    return application


def runtime_of_app(application: Litestar) -> Runtime:
    runtime = application.state["runtime"]
    if not isinstance(runtime, Runtime):  # pragma: no cover - wiring error
        raise TypeError("app.state.runtime is not a Runtime")
    return runtime


def __getattr__(name: str) -> Any:
    if name == "app":
        return _default_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
