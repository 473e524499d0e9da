from __future__ import annotations

from pathlib import Path

import msgspec
from litestar.routes import ASGIRoute, HTTPRoute
from litestar.testing import TestClient
from paystream_auth.app import create_app
from paystream_auth.handlers import authorize
from paystream_auth.openapi import build_document


def served_operations(tmp_path: Path) -> set[tuple[str, str]]:
    app = create_app({"PAYSTREAM_SECRETS_DIR": str(tmp_path)})
    operations = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for method in route.methods
        if method not in ("OPTIONS", "HEAD")
    }
    for route in app.routes:
        if isinstance(route, ASGIRoute):  # the hot path checks its own method
            assert route.path == authorize.PATH
            operations |= {(route.path, method.lower()) for method in authorize.METHODS}
    return operations


def test_every_served_route_is_documented_and_nothing_else(tmp_path: Path) -> None:
    document = build_document("test")
    documented = {
        (path, method) for path, operations in document["paths"].items() for method in operations
    }
    assert served_operations(tmp_path) == documented


def test_the_served_document_is_the_built_one(tmp_path: Path) -> None:
    app = create_app({"PAYSTREAM_SECRETS_DIR": str(tmp_path), "PAYSTREAM_VERSION": "9.9.9"})
    with TestClient(app) as client:
        served = client.get("/openapi.json").json()
    assert served == msgspec.json.decode(msgspec.json.encode(build_document("9.9.9")))


def test_the_request_schema_carries_the_field_rules() -> None:
    schema = build_document("x")["components"]["schemas"]["AuthorizeRequest"]
    assert schema["required"] == ["card_number", "amount", "currency", "merchant_id"]
    assert schema["properties"]["amount"]["maximum"] == 100_000_000
    assert schema["additionalProperties"] is False
    assert "USD" in schema["properties"]["currency"]["enum"]
