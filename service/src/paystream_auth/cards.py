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


# Digits with separators between them: how people write (or disguise) a card number.
SEPARATORS: Final = " -_./"
_RUN: Final = re.compile(r"\d(?:[ \-_./]*\d)+")
_NOT_DIGITS: Final = str.maketrans("", "", SEPARATORS)
# Card numbers are 12 (some Maestro, accepted by this API) to 19 digits.
MIN_PAN_DIGITS: Final = 12
MAX_PAN_DIGITS: Final = 19


def holds_card_number(digits: str) -> bool:
    """True when some 12-19 digit window of an all-digit string passes the Luhn check.

    Two prefix sums (each digit plain or doubled, by the parity of its index) make every window
    O(1): a window ending at index e - 1 doubles the digits whose index has the other parity.
    """
    values = digits.encode().translate(_VALUE)
    doubled = digits.encode().translate(_DOUBLED_VALUE)
    even_plain = [0]  # index even: plain, odd: doubled
    even_doubled = [0]  # index even: doubled, odd: plain
    for index, (value, double) in enumerate(zip(values, doubled, strict=True)):
        odd = index & 1
        even_plain.append(even_plain[-1] + (double if odd else value))
        even_doubled.append(even_doubled[-1] + (value if odd else double))
    count = len(digits)
    for end in range(MIN_PAN_DIGITS, count + 1):
        sums = even_plain if (end - 1) % 2 == 0 else even_doubled
        for start in range(max(0, end - MAX_PAN_DIGITS), end - MIN_PAN_DIGITS + 1):
            if (sums[end] - sums[start]) % 10 == 0:
                return True
    return False


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = run.translate(_NOT_DIGITS)
    if len(digits) < MIN_PAN_DIGITS:
        return run
    # Longer than any card number: it may hide one among other digits, so it is masked whole.
    if len(digits) > MAX_PAN_DIGITS or holds_card_number(digits):
        return mask_pan(digits)
    return run


def scrub_card_numbers(text: str) -> str:
    """Mask anything that may be a card number, written with or without separators.

    A run of digits with any of `SEPARATORS` between them is masked (first 6, last 4 of its
    digits, separators dropped) when it holds a Luhn-valid 12-19 digit sequence or has more than
    19 digits. Applied to everything a client controls before it is logged or echoed.
    """
    if len(text) < MIN_PAN_DIGITS:
        return text
    return _RUN.sub(_mask_run, text)
