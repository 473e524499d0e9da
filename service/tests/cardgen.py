"""Card numbers for tests: complete a prefix with the Luhn check digit."""

from __future__ import annotations


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
