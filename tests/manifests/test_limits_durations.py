"""The limits check reads Gateway API and Istio durations as the proxies do."""

from __future__ import annotations

import pytest
from paystream_ops.validate.checks.limits import seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3s", 3.0), ("500ms", 0.5), ("1.5s", 1.5), ("1h30m", 5400.0), ("2m3s", 123.0)],
)
def test_durations_in_seconds(text: str, expected: float) -> None:
    assert seconds(text) == expected


@pytest.mark.parametrize("text", ["3", "", "s", "3 s", "3sec", "-1s", None])
def test_anything_else_is_not_a_duration(text: object) -> None:
    assert seconds(text) is None
