from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paystream_auth.cards import (
    holds_card_number,
    luhn_valid,
    mask_pan,
    network_for,
    scrub_card_numbers,
)

from .cardgen import (
    AMEX,
    DISCOVER,
    MASTERCARD,
    SEPARATORS,
    VISA,
    card,
    card_disguises,
    luhn_check_digit,
)

digits = st.text(alphabet="0123456789", min_size=11, max_size=18)


def test_known_test_cards_pass_luhn() -> None:
    for number in ("4111111111111111", "5555555555554444", "378282246310005", "6011111111111117"):
        assert luhn_valid(number)


@given(digits)
def test_completing_with_the_check_digit_always_passes_luhn(partial: str) -> None:
    assert luhn_valid(partial + luhn_check_digit(partial))


@given(digits, st.integers(min_value=0), st.integers(min_value=1, max_value=9))
def test_changing_one_digit_always_breaks_luhn(partial: str, where: int, delta: int) -> None:
    number = partial + luhn_check_digit(partial)
    index = where % len(number)
    changed = number[:index] + str((int(number[index]) + delta) % 10) + number[index + 1 :]
    assert not luhn_valid(changed)


@given(st.text(max_size=30))
def test_luhn_never_raises_and_rejects_non_digits(text: str) -> None:
    result = luhn_valid(text)
    if not (text.isascii() and text.isdigit()):
        assert result is False


@pytest.mark.parametrize(
    ("number", "network"),
    [
        (VISA, "visa"),
        (MASTERCARD, "mastercard"),
        (card("222100"), "mastercard"),
        (card("272099"), "mastercard"),
        (AMEX, "amex"),
        (card("340000", 15), "amex"),
        (DISCOVER, "discover"),
        (card("650000"), "discover"),
        (card("622126"), "discover"),
        (card("644000"), "discover"),
    ],
)
def test_bin_maps_to_network(number: str, network: str) -> None:
    assert network_for(number) == network


@pytest.mark.parametrize(
    "prefix", ["300000", "352800", "222099", "272100", "601200", "622125", "622926", "900000"]
)
def test_bins_outside_the_supported_networks_have_no_network(prefix: str) -> None:
    assert network_for(card(prefix)) is None


def test_mask_keeps_at_most_first_six_and_last_four() -> None:
    assert mask_pan("4111111111111111") == "411111******1111"
    assert mask_pan("411111111111") == "********1111"


def digits_only(text: str) -> str:
    return "".join(c for c in text if c not in SEPARATORS)


@given(card_disguises(), st.text(max_size=20), st.text(max_size=20))
def test_scrubbing_never_leaves_a_card_number_in_any_disguise(
    card_number: tuple[str, str], prefix: str, suffix: str
) -> None:
    digits, written = card_number
    scrubbed = scrub_card_numbers(f"{prefix}{written}{suffix}")
    assert digits not in digits_only(scrubbed)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("merchant 4556-7375-8689-9855", "merchant 455673******9855"),
        ("x4556_7375_8689_9855", "x455673******9855"),
        ("4556 7375 8689 9855", "455673******9855"),
        ("4556.7375.8689.9855", "455673******9855"),
        ("4556/7375/8689/9855", "455673******9855"),
        ("4556 - 7375 - 8689 - 9855", "455673******9855"),
        ("order 2026-12-05 10.30", "order 2026-12-05 10.30"),  # 12 digits, not Luhn-valid
        ("call 415-555-0100", "call 415-555-0100"),  # too few digits
        ("12345678901234567890123", "123456*************0123"),  # longer than a card: masked
    ],
)
def test_scrubbing_examples(text: str, expected: str) -> None:
    assert scrub_card_numbers(text) == expected


@given(st.text(alphabet="0123456789abc-", max_size=40))
def test_scrubbing_leaves_text_without_a_card_number_alone(text: str) -> None:
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) < 12:
        assert scrub_card_numbers(text) == text


@given(st.text(alphabet="0123456789", min_size=12, max_size=40))
def test_the_window_check_agrees_with_trying_every_window(digits: str) -> None:
    every = any(
        luhn_valid(digits[start:end])
        for end in range(len(digits) + 1)
        for start in range(end)
        if 12 <= end - start <= 19
    )
    assert holds_card_number(digits) == every
