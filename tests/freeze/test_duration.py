"""Durations read as Go's time.ParseDuration reads them (Argo CD calls it on `duration`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from paystream_ops.freeze.duration import DurationError, parse_go_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", timedelta(hours=1)),
        ("120h", timedelta(days=5)),
        ("1h30m", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        (".5h", timedelta(minutes=30)),
        ("90s", timedelta(seconds=90)),
        ("1m0.5s", timedelta(seconds=60.5)),
        ("0", timedelta(0)),
        ("-1h", timedelta(hours=-1)),
        ("300ms", timedelta(milliseconds=300)),
        ("2\u00b5s", timedelta(microseconds=2)),
    ],
)
def test_go_accepts(text: str, expected: timedelta) -> None:
    assert parse_go_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "3a", "2a", "1000days", "1d", "h", "1", ".h", "1h-1m", "1 h", "9999999999h"],
)
def test_go_rejects(text: str) -> None:
    with pytest.raises(DurationError):
        parse_go_duration(text)
