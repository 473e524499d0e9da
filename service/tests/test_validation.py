from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paystream_auth.problems import Problem
from paystream_auth.validation import CardProblem, check_idempotency_key, decode_authorize

from .cardgen import AMEX, CARDS, VISA, body, card


def encode(document: object) -> bytes:
    return json.dumps(document).encode()


@pytest.mark.parametrize(("network", "number"), sorted(CARDS.items()))
def test_a_valid_request_decodes_with_its_network(network: str, number: str) -> None:
    request, found = decode_authorize(encode(body(number)))
    assert found == network
    assert request.amount == 1999


@pytest.mark.parametrize(
    ("raw", "status", "field"),
    [
        (b"{", 400, "body"),
        (b"\xff\xfe", 400, "body"),
        (b"", 400, "body"),
        (b"[]", 422, "body"),
        (b"null", 422, "body"),
        (encode(body(amount=0)), 422, "amount"),
        (encode(body(amount=100_000_001)), 422, "amount"),
        (encode(body(amount=19.99)), 422, "amount"),
        (encode(body(amount=True)), 422, "amount"),
        (encode(body(amount="1999")), 422, "amount"),
        (encode(body(currency="usd")), 422, "currency"),
        (encode(body(currency="XXX")), 422, "currency"),
        (encode(body(merchant_id="")), 422, "merchant_id"),
        (encode(body(merchant_id="m 42")), 422, "merchant_id"),
        (encode(body(merchant_id="m_42\n")), 422, "merchant_id"),
        (encode(body(merchant_id="x" * 65)), 422, "merchant_id"),
        (encode(body(card_number="4111 1111 1111 1111")), 422, "card_number"),
        (encode(body(card_number="41111111111")), 422, "card_number"),
        (encode(body(card_number=4111111111111111)), 422, "card_number"),
        (encode(body(card_number=card("300000"))), 422, "card_number"),
        (encode(body(card_number="4111111111111112")), 422, "card_number"),
        (encode(body(card_number=VISA + "\n")), 422, "card_number"),
        (encode({k: v for k, v in body().items() if k != "amount"}), 422, "amount"),
        (encode({**body(), "cvv": "123"}), 422, "body"),
        (encode({**body(), "x4556-7375-8689-9855": 1}), 422, "body"),
        (encode(body())[:-1] + b', "amount": 100000}', 400, "amount"),
        (encode(body())[:-1] + b', "card_number": "5555555555554444"}', 400, "card_number"),
        (encode(body())[:-1] + b', "card\\u005fnumber": "5555555555554444"}', 400, "card_number"),
        (b'{"merchant_id" : "a", ' + encode(body())[1:], 400, "merchant_id"),
    ],
)
def test_bad_bodies_are_problems_naming_the_field(raw: bytes, status: int, field: str) -> None:
    with pytest.raises(Problem) as caught:
        decode_authorize(raw)
    assert caught.value.status == status
    assert caught.value.field == field


def test_a_field_name_as_a_value_is_not_a_repeated_field() -> None:
    request, _ = decode_authorize(encode(body(merchant_id="card_number")))
    assert request.merchant_id == "card_number"
    spaced = b'{"merchant_id": "amount", "card_number" : "%s", "amount": 1, "currency": "USD"}'
    assert decode_authorize(spaced % VISA.encode())[0].amount == 1


def test_a_luhn_failure_still_knows_its_network() -> None:
    with pytest.raises(CardProblem) as caught:
        decode_authorize(encode(body(AMEX[:-1] + str((int(AMEX[-1]) + 1) % 10))))
    assert caught.value.network == "amex"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_a_client_problem(raw: bytes) -> None:
    try:
        decode_authorize(raw)
    except Problem as problem:
        assert problem.status in (400, 422)


@given(
    st.dictionaries(
        st.sampled_from(["card_number", "amount", "currency", "merchant_id", "extra"]),
        json_values,
    )
)
def test_any_json_object_decodes_or_raises_a_client_problem(document: dict[str, object]) -> None:
    try:
        decode_authorize(encode(document))
    except Problem as problem:
        assert problem.status == 422
        assert problem.field


@given(
    st.sampled_from(["card_number", "amount", "currency", "merchant_id", "4111111111111111"]),
    st.sampled_from(["prefix-", "", " "]),
)
def test_a_card_number_is_never_echoed_in_a_problem(where: str, prefix: str) -> None:
    pan = "4111111111111111"
    document = {**body(card_number="4111111111111112"), where: prefix + pan}
    try:
        decode_authorize(encode(document))
    except Problem as problem:
        rendered = msgspec.json.encode(problem.body()).decode()
        assert pan not in rendered


@pytest.mark.parametrize("key", ["k", "a" * 255, "order-42:retry/1", "~!"])
def test_visible_ascii_idempotency_keys_are_accepted(key: str) -> None:
    assert check_idempotency_key(key) == key


@pytest.mark.parametrize("key", ["", "a" * 256, "has space", "tab\t", "é", "line\n"])
def test_other_idempotency_keys_are_a_422_naming_the_header(key: str) -> None:
    with pytest.raises(Problem) as caught:
        check_idempotency_key(key)
    assert (caught.value.status, caught.value.field) == (422, "Idempotency-Key")
