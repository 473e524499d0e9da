"""Which versions a rotation keeps: the grace-period rule as a pure function."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paystream_ops.errors import UserError
from paystream_ops.vault.version_retention import (
    SecretMetadata,
    VersionInfo,
    parse_metadata,
    parse_vault_time,
    plan_rotation,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def meta(
    created_minutes_ago: list[int],
    grace_minutes: int = 60,
    max_versions: int = 10,
    readable: list[bool] | None = None,
) -> SecretMetadata:
    flags = readable or [True] * len(created_minutes_ago)
    versions = tuple(
        VersionInfo(i + 1, NOW - timedelta(minutes=ago), ok)
        for i, (ago, ok) in enumerate(zip(created_minutes_ago, flags, strict=True))
    )
    return SecretMetadata(
        path="paystream/prod/auth-service/admin-token",
        current_version=len(versions),
        max_versions=max_versions,
        grace=timedelta(minutes=grace_minutes),
        delete_version_after="0s",
        versions=versions,
    )


def test_the_previous_version_is_kept_for_the_grace_period() -> None:
    plan = plan_rotation(meta([300, 200]), NOW)

    assert plan.new_version == 3 and plan.previous_version == 2
    assert plan.previous_readable
    assert plan.previous_kept_until == NOW + timedelta(minutes=60)
    # v1 was superseded by v2 200 minutes ago: past its 60-minute grace.
    assert plan.retire == (1,)


def test_a_version_superseded_within_the_grace_period_is_kept() -> None:
    plan = plan_rotation(meta([300, 30]), NOW)  # v2 created 30 min ago: v1 still in grace

    assert plan.retire == ()


def test_already_deleted_versions_are_left_alone() -> None:
    plan = plan_rotation(meta([300, 200, 100], readable=[False, True, True]), NOW)

    assert plan.retire == (2,)


def test_a_deleted_current_version_has_nothing_to_keep() -> None:
    plan = plan_rotation(meta([10], readable=[False]), NOW)

    assert not plan.previous_readable and plan.new_version == 2


def test_max_versions_that_would_destroy_a_version_in_grace_is_reported() -> None:
    plan = plan_rotation(meta([20, 10], max_versions=2), NOW)

    assert plan.evicted_in_grace == (1,)


def test_delete_version_after_on_the_secret_is_refused() -> None:
    stamped = meta([10])
    object.__setattr__(stamped, "delete_version_after", "720h0m0s")

    with pytest.raises(UserError, match="would also expire the current version"):
        plan_rotation(stamped, NOW)


@given(
    ages=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=12).map(
        lambda xs: sorted(xs, reverse=True)
    ),
    grace=st.integers(min_value=0, max_value=5_000),
    max_versions=st.integers(min_value=2, max_value=12),
)
def test_no_version_inside_its_grace_period_is_ever_retired(
    ages: list[int], grace: int, max_versions: int
) -> None:
    m = meta(ages, grace_minutes=grace, max_versions=max_versions)

    plan = plan_rotation(m, NOW)

    assert m.current_version not in plan.retire
    assert m.current_version not in plan.evicted_in_grace  # max_versions >= 2
    for number in plan.retire:
        successor = m.version(number + 1)
        assert successor is not None
        assert successor.created + m.grace <= NOW
    assert set(plan.retire).isdisjoint(plan.evicted_in_grace)


def test_vault_timestamps_with_nanoseconds_parse() -> None:
    assert parse_vault_time("2026-11-25T22:18:22.435291493Z", "t") == datetime(
        2026, 11, 25, 22, 18, 22, 435291, tzinfo=UTC
    )
    assert parse_vault_time("2026-11-25T22:18:22Z", "t").second == 22
    with pytest.raises(UserError, match="unexpected timestamp"):
        parse_vault_time("yesterday", "t")


def test_metadata_not_written_by_bootstrap_is_refused() -> None:
    raw = {"current_version": 1, "max_versions": 0, "versions": {}, "custom_metadata": None}

    with pytest.raises(UserError, match="run it for this environment first"):
        parse_metadata(raw, "paystream/prod/auth-service/admin-token", NOW)
