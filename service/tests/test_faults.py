from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paystream_auth.faults import (
    FaultProfile,
    FaultProfileError,
    FaultState,
    NetworkFaults,
    Override,
    parse_profile,
)


def test_the_issue_example_parses() -> None:
    profile = parse_profile(b'{"visa": {"timeout_rate": 0.03}, "amex": {"added_latency_ms": 400}}')
    assert profile.visa == NetworkFaults(timeout_rate=0.03)
    assert profile.amex == NetworkFaults(added_latency_ms=400)
    assert profile.mastercard is None


def test_a_tail_latency_pair_parses() -> None:
    profile = parse_profile(b'{"visa": {"slow_rate": 0.02, "slow_latency_ms": 1500}}')
    assert profile.visa == NetworkFaults(slow_rate=0.02, slow_latency_ms=1500)


def test_an_exception_rate_parses() -> None:
    profile = parse_profile(b'{"visa": {"exception_rate": 0.03, "error_rate": 0.01}}')
    assert profile.visa == NetworkFaults(exception_rate=0.03, error_rate=0.01)


def test_the_unknown_outcome_and_reversal_faults_parse() -> None:
    profile = parse_profile(
        b'{"visa": {"timeout_rate": 0.03, "timeout_authorized_rate": 0.5,'
        b' "reversal_error_rate": 0.2, "reversal_timeout_rate": 0.1, "reversal_latency_ms": 40}}'
    )
    assert profile.visa == NetworkFaults(
        timeout_rate=0.03,
        timeout_authorized_rate=0.5,
        reversal_error_rate=0.2,
        reversal_timeout_rate=0.1,
        reversal_latency_ms=40,
    )


def test_an_empty_object_is_no_faults() -> None:
    assert parse_profile(b"{}").is_empty()


@pytest.mark.parametrize(
    ("raw", "message", "field"),
    [
        ('{"vias": {"timeout_rate": 0.1}}', "unknown network (expected visa,", None),
        ('{"visa": {"timeout": 0.1}}', "visa: unknown field (expected added_latency_ms", "visa"),
        ('{"visa": {}, "visa": {"error_rate": 1}}', "visa appears more than once", "visa"),
        ('{"amex": {"error_rate": 0, "error_rate": 1}}', "error_rate appears more than", None),
        ('{"visa": {}, "x": 1, "x": 2}', "a key appears more than once", None),
        ('{"visa": {"timeout_rate": 1.5}}', "visa.timeout_rate: expected a fraction", None),
        ('{"visa": {"timeout_rate": -0.1}}', "visa.timeout_rate: expected a fraction", None),
        ('{"visa": {"decline_rate": 2}}', "visa.decline_rate: expected a fraction", None),
        ('{"visa": {"error_rate": "0.1"}}', "visa.error_rate: expected a number", None),
        ('{"visa": {"error_rate": true}}', "visa.error_rate: expected a number", None),
        ('{"amex": {"added_latency_ms": -1}}', "amex.added_latency_ms: expected ms", None),
        ('{"amex": {"added_latency_ms": 1e9}}', "amex.added_latency_ms: expected ms", None),
        ('{"visa": {"timeout_rate": 0.6, "error_rate": 0.6}}', "must not exceed 1", None),
        ('{"visa": {"exception_rate": 1.01}}', "visa.exception_rate: expected a fraction", None),
        ('{"visa": {"exception_rate": -0.01}}', "visa.exception_rate: expected a fraction", None),
        ('{"visa": {"exception_rate": "0.1"}}', "visa.exception_rate: expected a number", None),
        ('{"visa": {"exception_rate": null}}', "visa.exception_rate: expected a number", None),
        ('{"visa": {"exception_rate": 0.5, "timeout_rate": 0.6}}', "must not exceed 1", None),
        ('{"visa": {"exception": 0.1}}', "visa: unknown field (expected added_latency_ms", "visa"),
        ('{"visa": {"slow_rate": 0.1}}', "slow_latency_ms: required", None),
        ('{"visa": 0.1}', "visa: expected an object", "visa"),
        ('{"visa": {"timeout_authorized_rate": 1.5}}', "visa.timeout_authorized_rate: expec", None),
        ('{"visa": {"timeout_authorized_rate": "1"}}', "visa.timeout_authorized_rate: expec", None),
        ('{"amex": {"reversal_error_rate": -0.1}}', "amex.reversal_error_rate: expected a", None),
        ('{"amex": {"reversal_latency_ms": -1}}', "amex.reversal_latency_ms: expected ms", None),
        (
            '{"visa": {"reversal_timeout_rate": 0.6, "reversal_error_rate": 0.6}}',
            "visa: reversal_timeout_rate + reversal_error_rate must not exceed 1",
            None,
        ),
        ("[1]", "expected a JSON object", None),
        ("{", "not valid JSON", None),
    ],
)
def test_bad_profiles_are_refused_naming_network_and_field(
    raw: str, message: str, field: str | None
) -> None:
    with pytest.raises(FaultProfileError) as caught:
        parse_profile(raw)
    assert message in str(caught.value)
    if field is not None:
        assert caught.value.field == field


@given(st.dictionaries(st.text(max_size=10), st.dictionaries(st.text(max_size=10), st.floats())))
def test_parsing_never_raises_anything_but_a_profile_error(document: dict[str, object]) -> None:
    with contextlib.suppress(FaultProfileError):
        parse_profile(json.dumps(document))


def test_an_override_wins_until_it_expires_then_startup_returns() -> None:
    startup = parse_profile(b'{"visa": {"timeout_rate": 0.03}}')
    drill = parse_profile(b'{"amex": {"error_rate": 1}}')
    state = FaultState(startup)
    state.set_override(Override(drill, expires_at=100.0))
    assert state.effective(99.0) == drill
    assert state.effective(100.0) == startup
    assert state.expired(99.0) is None
    expired = state.expired(100.0)
    assert expired is not None and expired.profile == drill
    assert state.override is None


def test_profile_for_network_reads_the_network() -> None:
    profile = FaultProfile(discover=NetworkFaults(error_rate=0.5))
    assert profile.for_network("discover") == NetworkFaults(error_rate=0.5)
    assert profile.for_network("visa") is None
