"""Probes and the health summary: `/livez`, `/readyz`, `/health`.

The kubelet probes the same answers on its own listener (probe_listener.py); these routes on the
main port serve everything else (the lab, `docker run`'s HEALTHCHECK, people).
"""

from __future__ import annotations

import os
from typing import Any, Final, Literal

import msgspec
from litestar import Request, Response, get

from paystream_auth.handlers.common import json_response, runtime_of
from paystream_auth.networks import NETWORKS
from paystream_auth.problems import Problem
from paystream_auth.runtime import Runtime


class ProbeStatus(msgspec.Struct, frozen=True):
    status: str


ALIVE: Final = ProbeStatus("alive")
READY: Final = ProbeStatus("ready")


def not_ready(reason: str) -> Problem:
    return Problem(status=503, slug="not-ready", detail=reason)


def readiness_problem(runtime: Runtime) -> Problem | None:
    ready, reason = runtime.readiness()
    return None if ready else not_ready(reason)


class SecretStatus(msgspec.Struct, frozen=True):
    loaded: bool
    generation: int


class HealthDocument(msgspec.Struct, frozen=True):
    status: Literal["ok", "degraded", "starting", "draining"]
    version: str
    revision: str
    pid: int
    breakers: dict[str, str]
    latency_p95_ms: float | None
    success_rate: float | None
    window_seconds: float
    window_requests: int
    faults_source: Literal["startup", "admin"]
    secrets: dict[str, SecretStatus]


@get("/livez")
async def livez() -> Response[bytes]:
    # Alive means the event loop answers: never depends on secrets or card networks, so an
    # outage of a network can not make the kubelet restart healthy pods.
    return json_response(ALIVE)


@get("/readyz")
async def readyz(request: Request[Any, Any, Any]) -> Response[bytes]:
    ready, reason = runtime_of(request).readiness()
    if not ready:
        # Raised without a local name for it: see handlers/authorize.py (reference cycles).
        raise not_ready(reason)
    return json_response(READY)


@get("/health")
async def health(request: Request[Any, Any, Any]) -> Response[bytes]:
    runtime = runtime_of(request)
    summary = runtime.window.summary()
    breakers = runtime.breakers.states()
    ready, _ = runtime.readiness()
    status: Literal["ok", "degraded", "starting", "draining"]
    if runtime.drain.draining:
        status = "draining"
    elif not runtime.started:
        status = "starting"
    elif not ready or any(state != "closed" for state in breakers.values()):
        status = "degraded"
    else:
        status = "ok"
    document = runtime.faults.document()
    return json_response(
        HealthDocument(
            status=status,
            version=runtime.settings.version,
            revision=runtime.settings.revision,
            pid=os.getpid(),
            breakers={network: breakers[network] for network in NETWORKS},
            latency_p95_ms=summary.latency_p95_ms,
            success_rate=summary.success_rate,
            window_seconds=runtime.window.window_seconds,
            window_requests=summary.requests,
            faults_source=document.source,
            secrets={
                name: SecretStatus(secret.value is not None, secret.generation)
                for name, secret in runtime.secrets.files.items()
            },
        )
    )
