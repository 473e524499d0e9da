"""Card numbers: Luhn, BIN to network, masking. Pure functions, no I/O."""

from __future__ import annotations

import re
from typing import Final

from paystream_auth.networks import Network

# Doubling a digit and subtracting 9 when it exceeds 9, precomputed.
_DOUBLED: Final = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


# Digit characters to their value, and to their Luhn-doubled value, for bytes.translate.
_VALUE: Final = bytes.maketrans(b"0123456789", bytes(range(10)))
_DOUBLED_VALUE: Final = bytes.maketrans(b"0123456789", bytes(_DOUBLED))


def luhn_valid(digits: str) -> bool:
    """True when an all-digit string passes the Luhn (mod 10) check."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    # From the right: odd positions count as they are, even positions doubled. translate + sum
    # run in C, which matters on the hot path.
    reverse = digits.encode()[::-1]
    total = sum(reverse[0::2].translate(_VALUE)) + sum(reverse[1::2].translate(_DOUBLED_VALUE))
    return total % 10 == 0


# (first, last, network) over the first six digits of the card number (the BIN/IIN).
_BIN_RANGES: Final[tuple[tuple[int, int, Network], ...]] = (
    (400000, 499999, "visa"),
    (510000, 559999, "mastercard"),
    (222100, 272099, "mastercard"),
    (340000, 349999, "amex"),
    (370000, 379999, "amex"),
    (601100, 601199, "discover"),
    (622126, 622925, "discover"),
    (644000, 659999, "discover"),
)


_BY_FIRST_DIGIT: Final[dict[str, tuple[tuple[int, int, Network], ...]]] = {
    digit: tuple(r for r in _BIN_RANGES if str(r[0])[0] == digit) for digit in "23456"
}


def network_for(card_number: str) -> Network | None:
    """The network a card number's BIN belongs to, or None for a BIN the service does not route."""
    candidates = _BY_FIRST_DIGIT.get(card_number[:1])
    if candidates is None or len(card_number) < 6 or not card_number[:6].isdigit():
        return None
    bin6 = int(card_number[:6])
    for first, last, network in candidates:
        if first <= bin6 <= last:
            return network
    return None


def mask_pan(card_number: str) -> str:
    """First 6 and last 4 digits at most (PCI DSS display rule); shorter inputs keep last 4."""
    if len(card_number) >= 13:
        return f"{card_number[:6]}{'*' * (len(card_number) - 10)}{card_number[-4:]}"
    return f"{'*' * max(len(card_number) - 4, 0)}{card_number[-4:]}"


_DIGIT_RUN: Final = re.compile(r"\d{12,}")


def scrub_card_numbers(text: str) -> str:
    """Mask every run of 12 or more digits: a last line of defence for anything echoed back."""
    return _DIGIT_RUN.sub(lambda match: mask_pan(match.group(0)), text)
