"""The OpenAPI 3.1 document, generated from the same msgspec Structs the handlers decode.

The authorize handler reads the raw body (to tell 400 from 422 and to word its own errors), so
Litestar cannot see a request type to document; rather than a second, hand-kept schema, the
document is built here from the Structs themselves. A test checks that every route the app
serves is documented and vice versa.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from paystream_auth.fault_admin import FaultsDocument
from paystream_auth.faults import FaultProfile
from paystream_auth.handlers.probes import HealthDocument, ProbeStatus
from paystream_auth.problems import MEDIA_TYPE as PROBLEM_MEDIA_TYPE
from paystream_auth.problems import ProblemBody
from paystream_auth.service import AuthorizeResponse
from paystream_auth.validation import AuthorizeRequest

REF: Final = "#/components/schemas/{name}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(name=name)}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _problem(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": _ref("ProblemBody")}},
    }
    if headers:
        response["headers"] = headers
    return response


_RETRY_AFTER: Final = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
_ADMIN_ERRORS: Final = {
    "401": _problem("Missing or wrong bearer token."),
    "503": _problem("The admin token is not loaded yet."),
}


def build_document(version: str) -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        [
            AuthorizeRequest,
            AuthorizeResponse,
            ProblemBody,
            ProbeStatus,
            HealthDocument,
            FaultProfile,
            FaultsDocument,
        ],
        ref_template=REF,
    )
    idempotency_key = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Same merchant, key and body within 24 h returns the first answer again.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "PayStream authorization service", "version": version},
        "paths": {
            "/v1/authorize": {
                "post": {
                    "operationId": "authorize",
                    "summary": "Authorize a card payment (a decline is a 200 answer).",
                    "parameters": [idempotency_key],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("AuthorizeRequest")}},
                    },
                    "responses": {
                        "200": _json("AuthorizeResponse", "Approved or declined."),
                        "400": _problem(
                            "The body is not valid JSON, or gives a field twice (`field`)."
                        ),
                        "408": _problem("The body did not arrive in time (whole, or a pause)."),
                        "413": _problem("The body is larger than 16 KiB."),
                        "415": _problem("The body is not application/json."),
                        "409": _problem(
                            "A request with this Idempotency-Key is still running, or timed out "
                            "and is being reversed.",
                            _RETRY_AFTER,
                        ),
                        "422": _problem("A field is invalid; `field` names it."),
                        "502": _problem(
                            "The card network returned an error, or this Idempotency-Key's "
                            "first request timed out and could not be reversed."
                        ),
                        "503": _problem(
                            "The network's circuit is open, credentials are not loaded, or the "
                            "idempotency store is unavailable (only requests with a key).",
                            _RETRY_AFTER,
                        ),
                        "504": _problem(
                            "The card network did not answer before the deadline; the call is "
                            "reversed, and a retry with the same key waits for the reversal."
                        ),
                    },
                }
            },
            "/livez": {
                "get": {
                    "operationId": "livez",
                    "responses": {"200": _json("ProbeStatus", "The process is alive.")},
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "readyz",
                    "responses": {
                        "200": _json("ProbeStatus", "Ready for traffic."),
                        "503": _problem("Starting, secrets missing, or shutting down."),
                    },
                }
            },
            "/health": {
                "get": {
                    "operationId": "health",
                    "responses": {"200": _json("HealthDocument", "Summary of this process.")},
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "responses": {
                        "200": {
                            "description": "Prometheus text exposition.",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            "/admin/faults": {
                "get": {
                    "operationId": "getFaults",
                    "security": [{"bearer": []}],
                    "responses": {
                        "200": _json("FaultsDocument", "The active fault profile."),
                        **_ADMIN_ERRORS,
                    },
                },
                "put": {
                    "operationId": "putFaults",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("FaultProfile")}},
                    },
                    "responses": {
                        "200": _json("FaultsDocument", "Override set until `expires_at`."),
                        "400": _problem("The body is not valid JSON, or gives a key twice."),
                        "408": _problem("The body did not arrive in time (whole, or a pause)."),
                        "413": _problem("The body is larger than 16 KiB."),
                        "415": _problem("The body is not application/json."),
                        "422": _problem("The profile is invalid; `field` names the field."),
                        **_ADMIN_ERRORS,
                    },
                },
                "delete": {
                    "operationId": "deleteFaults",
                    "security": [{"bearer": []}],
                    "responses": {
                        "200": _json("FaultsDocument", "Back to the start-up profile."),
                        **_ADMIN_ERRORS,
                    },
                },
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "responses": {
                        "200": {
                            "description": "This document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
