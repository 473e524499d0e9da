"""Fuzzing `POST /v1/authorize` (and the rest of the API) on a real granian: zero 5xx.

Two generators: schemathesis derives valid and schema-violating requests from the app's own
OpenAPI document and checks every answer against it; hypothesis throws hostile bodies and
headers that no schema describes. Only the intended 5xx may appear (503 circuit open, 504
timeout), and no fault is configured here, so in practice none at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paystream_auth.openapi import build_document
from paystream_ops.processes import ServiceProcess
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .cardgen import CARDS
from .conftest import service_process

pytestmark = pytest.mark.integration

INTENDED_5XX = {503, 504}


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with service_process(
        tmp_path_factory.mktemp("fuzz"), {"PAYSTREAM_LATENCY_SCALE": "0"}
    ) as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """A new connection per request, as before, without a new client's TLS set-up (~40 ms CPU)
    on each of the hundreds of examples."""
    with httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        yield client


# The document the app serves at /openapi.json, built in-process so tests can be generated at
# collection time (test_openapi.py checks the served document is this one). schemathesis'
# lazy fixture loader does not work with pytest 9 (it sets `node._nodeid`).
schema = schemathesis.openapi.from_dict(build_document("fuzz"))
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=60
)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    case: schemathesis.Case, fuzz_target: ServiceProcess
) -> None:
    response = case.call(base_url=fuzz_target.base_url, timeout=10)
    assert response.status_code < 500 or response.status_code in INTENDED_5XX, response.text
    # Every other check stays on (status documented, body matches its schema, schema-invalid
    # input refused with a 4xx). Schema-valid input may still be a 422 by design: Luhn, the BIN
    # and idempotency-key reuse are rules JSON Schema cannot express.
    case.validate_response(response, excluded_checks=[positive_data_acceptance])


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
json_like = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=6)
    ),
    max_leaves=30,
)
field_names = st.sampled_from(["card_number", "amount", "currency", "merchant_id"]) | st.text(
    max_size=12
)
hostile_bodies = st.one_of(
    st.binary(max_size=2048),
    json_like.map(lambda value: json.dumps(value, allow_nan=True).encode()),
    st.dictionaries(field_names, json_like, max_size=8).map(lambda d: json.dumps(d).encode()),
    st.builds(
        lambda number, extra: json.dumps(
            {"card_number": number, "amount": 1, "currency": "USD", "merchant_id": "m", **extra}
        ).encode(),
        st.sampled_from(list(CARDS.values())) | st.text(alphabet="0123456789 -", max_size=25),
        st.dictionaries(st.text(max_size=8), json_scalars, max_size=2),
    ),
    st.integers(min_value=1, max_value=2000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(min_value=1, max_value=200).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    # Well-formed JSON around bytes that are not UTF-8 inside a string (msgspec raises
    # UnicodeDecodeError there, not DecodeError).
    st.builds(
        lambda field, junk: b'{"' + field.encode() + b'": "4111' + junk + b'", "amount": 1}',
        st.sampled_from(["card_number", "currency", "merchant_id", "x"]),
        st.binary(min_size=1, max_size=4).filter(lambda b: not _is_utf8(b)),
    ),
    # A card number as an unknown field's name must not come back in the problem's `field`.
    st.sampled_from(list(CARDS.values())).map(
        lambda number: json.dumps(
            {"card_number": number, "amount": 1, "currency": "USD", "merchant_id": "m", number: 1}
        ).encode()
    ),
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/json; charset=utf-16",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
        "application/json; charset",
        ";;;",
    ]
)
# httpx refuses to send a header value with surrounding spaces, so those are stripped here.
idempotency_keys = st.none() | st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300
).map(str.strip)


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=hostile_bodies, content_type=content_types, key=idempotency_keys)
def test_hostile_requests_never_get_a_5xx_and_always_a_problem_or_answer(
    fuzz_target: ServiceProcess,
    http: httpx.Client,
    body: bytes,
    content_type: str,
    key: str | None,
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    if key is not None:
        headers["idempotency-key"] = key
    response = http.post(f"{fuzz_target.base_url}/v1/authorize", content=body, headers=headers)
    assert response.status_code < 500 or response.status_code in INTENDED_5XX
    if response.status_code == 200:
        assert response.headers["content-type"] == "application/json"
        assert response.json()["status"] in ("approved", "declined")
    else:
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == response.status_code
        for number in CARDS.values():
            assert number not in response.text


admin_bodies = st.one_of(
    hostile_bodies,
    st.dictionaries(
        st.sampled_from(["visa", "mastercard", "amex", "discover", "ttl_seconds", "x"]),
        json_like,
        max_size=4,
    ).map(lambda d: json.dumps(d).encode()),
    st.integers(min_value=1000, max_value=20000).map(lambda depth: b"[" * depth + b"]" * depth),
)


# Another loopback address than the fuzzers above: their requests without a valid token lock
# 127.0.0.1 out of the admin API (auth_throttle.py), which would leave nothing fuzzed here.
TRUSTED_SOURCE = "127.0.0.2"


@pytest.fixture(scope="module")
def trusted_http() -> Iterator[httpx.Client]:
    """Like `http` (a new connection per request), from the address the throttle never saw."""
    transport = httpx.HTTPTransport(
        local_address=TRUSTED_SOURCE, limits=httpx.Limits(max_keepalive_connections=0)
    )
    with httpx.Client(transport=transport, timeout=10) as client:
        yield client


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=admin_bodies)
def test_hostile_fault_profiles_never_get_a_5xx(
    fuzz_target: ServiceProcess, trusted_http: httpx.Client, body: bytes
) -> None:
    """The admin API with a valid token: bad profiles are a 4xx problem, never a 500."""
    token = {"authorization": f"Bearer {fuzz_target.admin_token}"}
    response = trusted_http.put(
        f"{fuzz_target.base_url}/admin/faults",
        content=body,
        headers={"content-type": "application/json", **token},
    )
    assert response.status_code != 401, "the valid token was refused: nothing was fuzzed"
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
    # Leave no profile behind for the other fuzz tests (they assume no fault is configured).
    trusted_http.delete(f"{fuzz_target.base_url}/admin/faults", headers=token)
