"""Secret values: generated, parsed from a file or stdin, never shown."""

from __future__ import annotations

import io

import pytest
from paystream_ops.errors import UserError
from paystream_ops.vault.values import (
    GENERATED_PATTERN,
    generate,
    looks_like_a_value,
    parse_seeds,
    read_single,
)


def test_generated_values_are_unique_prefixed_and_256_bit() -> None:
    values = {generate().reveal() for _ in range(200)}

    assert len(values) == 200
    assert all(GENERATED_PATTERN.fullmatch(value) for value in values)


def test_a_value_does_not_show_in_repr_str_or_format() -> None:
    value = generate()

    shown = f"{value} {value!r} {[value]} { ({'k': value}) }"
    assert value.reveal() not in shown
    assert "***" in shown


def test_seeds_parse_a_json_object_of_known_names() -> None:
    seeds = parse_seeds('{"admin-token": "0123456789abcdef0123"}', "seeds.json")

    assert list(seeds) == ["admin-token"]
    assert seeds["admin-token"].reveal() == "0123456789abcdef0123"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"admin_token": "0123456789abcdef0123"}', r"'admin_token': unknown secret"),
        ('{"admin-token": "short"}', "at least 16"),
        ('{"admin-token": "has a space in it!!"}', "one line of printable ASCII"),
        ('{"admin-token": "two\\nlines-of-secret-value"}', "one line of printable ASCII"),
        ('{"admin-token": 12345678901234567890}', "expected a JSON object of strings"),
        ("admin-token=0123456789abcdef0123", "not valid JSON"),
    ],
)
def test_bad_seeds_name_the_file_and_field_and_never_echo_the_value(
    text: str, message: str
) -> None:
    with pytest.raises(UserError, match=message) as caught:
        parse_seeds(text, "seeds.json")

    assert str(caught.value).startswith("seeds.json: ")
    assert "0123456789abcdef" not in str(caught.value)
    assert "lines-of-secret" not in str(caught.value)


def test_stdin_value_may_end_in_one_newline() -> None:
    assert read_single(io.StringIO("0123456789abcdef0123\n")).reveal() == "0123456789abcdef0123"
    with pytest.raises(UserError, match="empty"):
        read_single(io.StringIO("\n"))


@pytest.mark.parametrize(
    ("argument", "is_value"),
    [
        ("seeds.json", False),
        ("/run/user/1000/paystream-seeds.json", False),
        ('{"admin-token": "x"}', True),
        ("admin-token=abc", True),
        ("paystream_" + "A" * 43, True),
    ],
)
def test_values_passed_where_a_path_belongs_are_recognised(argument: str, is_value: bool) -> None:
    assert looks_like_a_value(argument) is is_value


def test_the_idempotency_hmac_key_is_never_rotated_the_store_password_is() -> None:
    from paystream_ops.vault import contract

    with pytest.raises(UserError, match="idempotency-hmac-key is not rotated"):
        contract.check_rotatable("idempotency-hmac-key")
    assert contract.check_rotatable("idempotency-store-password") == "idempotency-store-password"
    with pytest.raises(UserError, match="unknown secret"):
        contract.check_rotatable("nope")
