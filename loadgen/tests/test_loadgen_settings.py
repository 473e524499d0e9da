"""The Job's settings: what the overlay's ConfigMap may say, and a one-line error otherwise."""

from __future__ import annotations

import math

import pytest
from paystream_loadgen.settings import (
    CARD_MIX,
    DURATION,
    RATE,
    URL,
    SettingsError,
    parse_card_mix,
    parse_settings,
    required_rate_per_second,
)

GOOD = {
    URL: "http://auth-service.paystream-staging.svc.cluster.local:8080",
    RATE: "120",
    CARD_MIX: "visa=50,mastercard=30,amex=12,discover=8",
}


def test_a_good_environment_gives_one_route_target_and_test_cards_only() -> None:
    settings = parse_settings(GOOD)
    config = settings.engine_config()
    assert config["targets"] == [
        {"host": "auth-service.paystream-staging.svc.cluster.local", "port": 8080}
    ]
    assert config["canary_weight"] == 0  # the mesh splits, not the generator
    assert config["cards"] == "test"
    assert config["host_header"] == "auth-service.paystream-staging.svc.cluster.local:8080"
    assert settings.rate_per_second == 120
    assert settings.duration_seconds == 0  # until the AnalysisRun deletes the Job
    assert math.isclose(sum(settings.card_mix.values()), 1.0)
    assert settings.card_mix["discover"] == pytest.approx(0.08)


def test_a_card_mix_may_leave_networks_out_and_is_normalised() -> None:
    assert parse_card_mix("visa=1, amex=3") == {
        "visa": 0.25,
        "mastercard": 0.0,
        "amex": 0.75,
        "discover": 0.0,
    }


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({URL: ""}, URL),
        ({URL: "https://auth-service:8080"}, URL),
        ({URL: "http://auth-service:8080/v1/authorize"}, URL),
        ({RATE: "fast"}, RATE),
        ({RATE: "0"}, RATE),
        ({RATE: "nan"}, RATE),
        ({RATE: "100000"}, RATE),
        ({CARD_MIX: "visa=1,jcb=1"}, CARD_MIX),
        ({CARD_MIX: "visa"}, CARD_MIX),
        ({CARD_MIX: "visa=0"}, CARD_MIX),
        ({CARD_MIX: "visa=1,visa=2"}, CARD_MIX),
        ({CARD_MIX: "visa=-1,amex=2"}, CARD_MIX),
        ({DURATION: "-5"}, DURATION),
        ({"PAYSTREAM_LOADGEN_RATE": "5"}, "PAYSTREAM_LOADGEN_RATE"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_variable(change: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({**GOOD, **change})
    message = str(caught.value)
    assert message.startswith(named + ":")
    assert "\n" not in message


def test_the_required_rate_covers_the_smallest_network_at_the_first_weight() -> None:
    mix = {"visa": 0.5, "mastercard": 0.3, "amex": 0.12, "discover": 0.08}
    # 30 canary Discover requests in 20 s at 10%: 30 / (20 x 0.1 x 0.08).
    assert required_rate_per_second(30, 20, 10, mix) == pytest.approx(187.5)
    uniform = dict.fromkeys(mix, 0.25)
    assert required_rate_per_second(30, 20, 10, uniform) == pytest.approx(60)
    assert required_rate_per_second(30, 20, 10, {**mix, "amex": 0.0}) == math.inf
