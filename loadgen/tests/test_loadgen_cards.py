"""The generator's cards: synthetic load sends only numbers the service counts as test cards; the
lab's scenario traffic sends numbers it never does."""

from __future__ import annotations

import random

import pytest
from paystream_auth.cards import luhn_valid, network_for
from paystream_auth.test_cards import is_test_card
from paystream_loadgen.cards import TEST_CARDS, cards_for, live_like_card
from paystream_loadgen.engine import NETWORKS, request_payloads


@pytest.mark.parametrize("network", NETWORKS)
def test_every_synthetic_card_is_a_published_test_card_the_service_recognises(
    network: str,
) -> None:
    for card in TEST_CARDS[network]:
        assert is_test_card(card)
        assert network_for(card) == network


@pytest.mark.parametrize("network", NETWORKS)
def test_live_like_cards_are_valid_routed_and_never_test_cards(network: str) -> None:
    rng = random.Random(7)
    for _ in range(500):
        card = live_like_card(network, rng)
        assert luhn_valid(card)
        assert network_for(card) == network
        assert not is_test_card(card)


def test_synthetic_payloads_carry_only_test_cards() -> None:
    rng = random.Random(1)
    for network in NETWORKS:
        for payload in request_payloads(network, "auth-service:8080", 16, rng, "test", "s"):
            body = payload.split(b"\r\n\r\n", 1)[1].decode()
            card = body.split('"card_number":"')[1].split('"')[0]
            assert is_test_card(card)
            assert b"Host: auth-service:8080\r\n" in payload


def test_a_test_card_source_needs_no_randomness() -> None:
    """Seeded lab runs replay exactly: the test source draws nothing from the generator's rng."""
    rng = random.Random(3)
    state = rng.getstate()
    cards_for("visa", "test", 16, rng)
    assert rng.getstate() == state
