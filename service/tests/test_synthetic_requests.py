"""Synthetic load is told apart by the card number itself: a published test card is counted in
`paystream_auth_synthetic_requests_total` (fixed labels); any other card never is."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from paystream_auth.cards import luhn_valid, network_for
from paystream_auth.test_cards import PUBLISHED_TEST_CARDS, is_test_card

from .inprocess import count, make_runtime, request_body, samples

SYNTHETIC = "paystream_auth_synthetic_requests_total"


@pytest.mark.parametrize("card", sorted(PUBLISHED_TEST_CARDS))
def test_every_published_test_card_is_a_valid_card_of_a_routed_network(card: str) -> None:
    assert luhn_valid(card)
    assert network_for(card) is not None


def test_a_card_one_digit_away_from_a_test_card_is_not_one() -> None:
    assert is_test_card("4111111111111111")
    assert not is_test_card("4111111111111129")  # Luhn-valid, not published
    assert not is_test_card(" 4111111111111111")


def _authorize_all(tmp_path: Path, cards: list[str]) -> bytes:
    runtime, _ = make_runtime(tmp_path)

    async def main() -> None:
        await runtime.prepare()
        for card in cards:
            await runtime.service.authorize(request_body(card), None, time.perf_counter())

    asyncio.run(main())
    return runtime.metrics.exposition()


def test_test_cards_are_counted_as_synthetic_and_live_cards_are_not(tmp_path: Path) -> None:
    exposition = _authorize_all(tmp_path, ["4111111111111111"] * 3 + ["4111111111111129"] * 2)
    synthetic = {labels: value for labels, value in samples(exposition, SYNTHETIC).items() if value}
    total = sum(synthetic.values())
    assert total == 3
    assert all(dict(labels)["network"] == "visa" for labels in synthetic)
    # Every request, synthetic or not, is in the main family the analysis reads.
    assert sum(count(exposition, "visa", o) for o in ("approved", "declined")) == 5


def test_synthetic_series_exist_at_zero_with_fixed_labels_only(tmp_path: Path) -> None:
    exposition = _authorize_all(tmp_path, [])
    found = samples(exposition, SYNTHETIC)
    assert found and all(value == 0 for value in found.values())
    assert {tuple(k for k, _ in labels) for labels in found} == {("network", "outcome")}
