"""Card numbers the generator sends: the networks' published test cards, or made-up live-like ones.

Synthetic load (staging, the lab's generator) sends only published test card numbers, which no
issuer ever authorizes for real: the service counts them as synthetic (paystream_auth.test_cards)
and a real customer's card can never be mistaken for one. The lab's scenario traffic plays real
callers, so it sends random Luhn-valid numbers from each network's ranges instead.
"""

from __future__ import annotations

import random
from typing import Final, Literal

CardSource = Literal["test", "live"]
CARD_SOURCES: Final[tuple[CardSource, ...]] = ("test", "live")

# Published by the networks' acquirer test programmes (and reproduced by every major gateway's
# testing page); never issued to a cardholder.
TEST_CARDS: Final[dict[str, tuple[str, ...]]] = {
    "visa": ("4111111111111111", "4012888888881881", "4242424242424242"),
    "mastercard": ("5555555555554444", "5105105105105100", "5454545454545454"),
    "amex": ("378282246310005", "371449635398431", "378734493671000"),
    "discover": ("6011111111111117", "6011000990139424", "6011000400000000"),
}

# (prefix, length) per network for live-like numbers: inside the service's BIN ranges.
_LIVE_PREFIXES: Final[dict[str, tuple[tuple[str, int], ...]]] = {
    "visa": (("4", 16),),
    "mastercard": (("51", 16), ("52", 16), ("53", 16), ("54", 16)),
    "amex": (("34", 15), ("37", 15)),
    "discover": (("6011", 16), ("65", 16)),
}


def luhn_check_digit(partial: str) -> str:
    """The digit that makes `partial + digit` pass the Luhn check."""
    total = 0
    for i, char in enumerate(reversed(partial)):
        digit = int(char)
        if i % 2 == 0:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str((10 - total % 10) % 10)


def live_like_card(network: str, rng: random.Random) -> str:
    """A random Luhn-valid number in the network's ranges that is not a published test card."""
    while True:
        prefix, length = rng.choice(_LIVE_PREFIXES[network])
        body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
        card = body + luhn_check_digit(body)
        if card not in TEST_CARDS[network]:
            return card


def cards_for(network: str, source: CardSource, count: int, rng: random.Random) -> list[str]:
    """`count` card numbers for one network from the given source."""
    if source == "test":
        cards = TEST_CARDS[network]
        return [cards[i % len(cards)] for i in range(count)]
    return [live_like_card(network, rng) for _ in range(count)]
