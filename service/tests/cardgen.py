"""Card numbers for tests: complete a prefix with the Luhn check digit; disguise them."""

from __future__ import annotations

from hypothesis import strategies as st


def luhn_check_digit(partial: str) -> str:
    total = 0
    for position, char in enumerate(reversed(partial)):
        digit = int(char)
        if position % 2 == 0:  # these positions are doubled once the check digit is appended
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def card(prefix: str, length: int = 16) -> str:
    body = prefix + "0" * (length - 1 - len(prefix))
    return body + luhn_check_digit(body)


VISA = card("411111")
MASTERCARD = card("555555")
AMEX = card("378282", 15)
DISCOVER = card("601111")
CARDS = {"visa": VISA, "mastercard": MASTERCARD, "amex": AMEX, "discover": DISCOVER}


def body(card_number: str = VISA, **overrides: object) -> dict[str, object]:
    request: dict[str, object] = {
        "card_number": card_number,
        "amount": 1999,
        "currency": "USD",
        "merchant_id": "m_42",
    }
    request.update(overrides)
    return request


# Card numbers as a client might disguise them (hypothesis strategies).
SEPARATORS = " -_./"


def luhn_numbers(min_digits: int = 13, max_digits: int = 19) -> st.SearchStrategy[str]:
    """Luhn-valid digit strings of every length a card number may have."""
    return st.text(alphabet="0123456789", min_size=min_digits - 1, max_size=max_digits - 1).map(
        lambda partial: partial + luhn_check_digit(partial)
    )


@st.composite
def disguised(draw: st.DrawFn, number: str) -> str:
    """`number` split into groups, joined by separators (one kind or mixed, or none at all)."""
    cuts = sorted(draw(st.sets(st.integers(1, len(number) - 1), max_size=len(number) - 1)))
    groups = [number[a:b] for a, b in zip([0, *cuts], [*cuts, len(number)], strict=True)]
    if draw(st.booleans()):
        separator = draw(st.sampled_from(["", *SEPARATORS]))
        return separator.join(groups)
    return "".join(
        group
        + (
            draw(st.text(alphabet=SEPARATORS, min_size=1, max_size=3))
            if i < len(groups) - 1
            else ""
        )
        for i, group in enumerate(groups)
    )


def card_disguises() -> st.SearchStrategy[tuple[str, str]]:
    """(the card number's digits, how it is written)."""
    return luhn_numbers().flatmap(lambda number: st.tuples(st.just(number), disguised(number)))
