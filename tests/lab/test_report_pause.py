"""The report names both moments of a held pause: when the Rollout paused, and how it ended."""

from __future__ import annotations

from paystream_ops.lab.report import pause_text
from paystream_ops.lab.rollout import Outcome, Verdict


def outcome(verdict: Verdict, at: float, paused_at: float | None, ended: float | None) -> Outcome:
    return Outcome(
        verdict, at, 1, "background analysis", "", paused_at=paused_at, hold_ended_at=ended
    )


def test_a_pause_that_ended_in_an_abort_shows_both_moments_in_real_time() -> None:
    text = pause_text(outcome(Verdict.ABORTED, 36.0, 6.0, 36.0), scale=10)
    assert text == "paused at 1m00s; aborted at 6m00s"


def test_a_pause_still_held_at_the_end_says_so() -> None:
    text = pause_text(outcome(Verdict.PAUSED_INCONCLUSIVE, 6.0, 6.0, 9.0), scale=10)
    assert text == "paused at 1m00s; still paused at the end of the hold, 1m30s"


def test_a_verdict_without_a_pause_has_no_pause_line() -> None:
    assert pause_text(outcome(Verdict.ABORTED, 6.0, None, None), scale=10) is None
    assert pause_text(outcome(Verdict.PROMOTED, 6.0, None, None), scale=10) is None
