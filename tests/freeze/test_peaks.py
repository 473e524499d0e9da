"""Peak periods: parsed from the AppProject annotation, and which years must be listed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from paystream_ops.freeze.peaks import (
    PeakError,
    black_friday,
    cyber_monday,
    missing_peaks,
    parse_peaks,
    required_years,
)

TEXT = """
- {name: black-friday-2026, first-day: 2026-11-27, last-day: 2026-11-30, time-zone: US/Eastern}
- {name: black-friday-2027, first-day: 2027-11-26, last-day: 2027-11-29, time-zone: US/Eastern}
"""


@pytest.mark.parametrize(
    ("year", "friday"),
    [
        (2024, date(2024, 11, 29)),
        (2025, date(2025, 11, 28)),
        (2026, date(2026, 11, 27)),
        (2027, date(2027, 11, 26)),
        (2028, date(2028, 11, 24)),
    ],
)
def test_black_friday_is_the_day_after_the_fourth_thursday(year: int, friday: date) -> None:
    assert black_friday(year) == friday
    assert cyber_monday(year).weekday() == 0


def test_after_cyber_monday_the_current_year_means_this_one_and_the_next() -> None:
    assert required_years(date(2026, 6, 1)) == (2026,)
    assert required_years(date(2026, 11, 30)) == (2026,)
    assert required_years(date(2026, 12, 4)) == (2026, 2027)  # today, per the issue


def test_the_configured_peaks_cover_2026_and_2027_but_not_2028() -> None:
    peaks = parse_peaks(TEXT)
    assert missing_peaks(peaks, date(2026, 12, 4)) == []
    assert missing_peaks(peaks, date(2027, 12, 1)) == [2028]
    assert peaks[0].start == datetime(2026, 11, 27, 5, tzinfo=UTC)
    assert peaks[0].end == datetime(2026, 12, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "non-empty YAML list"),
        ("- {name: x, first-day: 2026-11-27, last-day: 2026-11-30}", "exactly the keys"),
        ("- {name: x, first-day: 2026-13-27, last-day: 2026-11-30, time-zone: UTC}", "not a date"),
        ("- {name: x, first-day: 2026-11-30, last-day: 2026-11-27, time-zone: UTC}", "before"),
        ("- {name: x, first-day: 2026-11-27, last-day: 2026-11-30, time-zone: Mars/Base}", "IANA"),
        ("[", "not YAML"),
    ],
)
def test_a_bad_annotation_says_which_entry_and_field(text: str, message: str) -> None:
    with pytest.raises(PeakError, match=message):
        parse_peaks(text)
