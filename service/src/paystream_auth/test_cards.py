"""Published test card numbers: how the service tells synthetic load from customers' payments.

A request is synthetic when its card number is one the networks publish for testing. The client
cannot use this to hide a real payment (a real card is never a test card), the label's values are
fixed (no client-chosen text reaches a metric), and no header or token is trusted. See
docs/decisions/0091-synthetic-traffic-is-told-by-test-cards.md.
"""

from __future__ import annotations

from typing import Final

# The networks' published test numbers (the sets the major gateways document); the synthetic
# load generator (paystream_loadgen.cards) sends a subset, which its tests check.
PUBLISHED_TEST_CARDS: Final[frozenset[str]] = frozenset(
    {
        # Visa
        "4111111111111111",
        "4012888888881881",
        "4242424242424242",
        "4000056655665556",
        "4222222222222",
        # Mastercard
        "5555555555554444",
        "5105105105105100",
        "5454545454545454",
        "2223003122003222",
        "5200828282828210",
        # American Express
        "378282246310005",
        "371449635398431",
        "378734493671000",
        # Discover
        "6011111111111117",
        "6011000990139424",
        "6011000400000000",
        "6011981111111113",
    }
)


def is_test_card(card_number: str) -> bool:
    """True for a published test card number (exact digits)."""
    return card_number in PUBLISHED_TEST_CARDS
