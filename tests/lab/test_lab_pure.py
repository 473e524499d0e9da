"""Small pure parts of the lab: durations, the scrape job from a PodMonitor, cost accounting,
the Prometheus response as Argo's provider reads it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from paystream_ops.errors import UserError
from paystream_ops.lab.accounting import Sample, cost, first_canary_traffic, rate_report
from paystream_ops.lab.durations import (
    format_prometheus_duration,
    parse_go_duration,
    parse_pause_duration,
    scale_prometheus_duration,
)
from paystream_ops.lab.loadgen import CLASSES, NETWORKS, TARGETS, TEST_CARDS, counter_index
from paystream_ops.lab.manifests import read_manifests
from paystream_ops.lab.provider import format_result, go_float, parse_response
from paystream_ops.lab.targets import PodTarget, scrape_job
from paystream_ops.render import parse_objects

FIXTURE = Path(__file__).parent / "fixtures" / "rendered.yaml"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("1m30s", 90), ("1.5h", 5400), ("250ms", 0.25), ("0", 0), ("2m", 120)],
)
def test_go_durations_parse_like_time_parse_duration(text: str, seconds: float) -> None:
    assert parse_go_duration(text, "w") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "30", "5 m", "1d", "m"])
def test_bad_go_durations_name_the_field(text: str) -> None:
    with pytest.raises(UserError, match=r"^spec\.interval: "):
        parse_go_duration(text, "spec.interval")


def test_pause_takes_seconds_or_a_duration() -> None:
    assert parse_pause_duration(45, "w") == 45
    assert parse_pause_duration("45", "w") == 45
    assert parse_pause_duration("2m", "w") == 120


@pytest.mark.parametrize(
    ("text", "scale", "scaled"),
    [("2m", 10, "12s"), ("1m", 10, "6s"), ("90s", 10, "9s"), ("1m", 8, "7500ms"), ("1h", 60, "1m")],
)
def test_prometheus_ranges_scale_to_exact_ranges(text: str, scale: float, scaled: str) -> None:
    assert scale_prometheus_duration(text, scale, "w") == scaled


def test_prometheus_duration_format_rounds_to_milliseconds() -> None:
    assert format_prometheus_duration(0.0004) == "1ms"
    assert format_prometheus_duration(1.5) == "1500ms"


# --- scrape job ---------------------------------------------------------------------------


def targets(namespace: str = "paystream") -> list[PodTarget]:
    return [
        PodTarget(
            "127.0.0.1:1",
            namespace,
            "auth-service-abc-x",
            {
                "app.kubernetes.io/name": "auth-service",
                "role": "stable",
                "rollouts-pod-template-hash": "abc",
            },
            "auth-service",
            "http",
            8080,
        )
    ]


def monitor() -> dict[str, object]:
    objs = parse_objects(FIXTURE.read_text(), "f")
    found: dict[str, object] = next(o for o in objs if o["kind"] == "PodMonitor")
    return found


def test_scrape_job_follows_the_operator_and_scales_the_interval() -> None:
    plan = scrape_job(monitor(), targets(), 10, "overlays/test")  # type: ignore[arg-type]
    job = plan.job
    assert job["job_name"] == "podMonitor/paystream/auth-service/0"
    assert job["scrape_interval"] == "1s"
    assert plan.cluster_interval_seconds == 10 and not plan.clamped
    labels = job["static_configs"][0]["labels"]
    assert labels["__meta_kubernetes_pod_label_rollouts_pod_template_hash"] == "abc"
    assert labels["__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name"] == "true"
    relabel = job["relabel_configs"]
    assert {
        "action": "keep",
        "source_labels": [
            "__meta_kubernetes_pod_label_app_kubernetes_io_name",
            "__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name",
        ],
        "regex": "(auth-service);true",
    } in relabel
    assert relabel[-1] == {
        "action": "replace",
        "source_labels": ["__meta_kubernetes_pod_label_rollouts_pod_template_hash"],
        "target_label": "rollouts_pod_template_hash",
    }
    job_rules = [r for r in relabel if r.get("target_label") == "job"]
    assert job_rules[-1]["source_labels"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]


def test_scrape_interval_is_clamped_on_a_tiny_scaled_value() -> None:
    plan = scrape_job(monitor(), targets(), 100, "overlays/test")  # type: ignore[arg-type]
    assert plan.interval_seconds == 0.5 and plan.clamped


def test_a_podmonitor_in_another_namespace_without_selector_is_rejected() -> None:
    with pytest.raises(UserError, match="namespaceSelector does not include"):
        scrape_job(monitor(), targets(namespace="elsewhere"), 10, "overlays/test")  # type: ignore[arg-type]


def test_a_missing_podmonitor_is_an_error() -> None:
    with pytest.raises(UserError, match="no PodMonitor"):
        scrape_job(None, targets(), 10, "overlays/test")


def test_manifests_find_the_podmonitor() -> None:
    manifests = read_manifests(parse_objects(FIXTURE.read_text(), "f"), "overlays/test", 10)
    assert manifests.pod_monitor is not None


# --- accounting ---------------------------------------------------------------------------


def sample(at: float, counts: dict[tuple[str, str, str], int]) -> Sample:
    flat = [0] * (len(TARGETS) * len(NETWORKS) * len(CLASSES))
    for (target, network, outcome), value in counts.items():
        flat[
            counter_index(TARGETS.index(target), NETWORKS.index(network), CLASSES.index(outcome))
        ] = value
    total = sum(flat)
    return Sample(at, total, total, 0, tuple(flat))


def test_affected_counts_only_failures_beyond_stables_ratio() -> None:
    start = sample(0, {("stable", "visa", "ok"): 1000, ("stable", "visa", "fail"): 10})
    end = sample(
        60,
        {
            ("stable", "visa", "ok"): 10000,
            ("stable", "visa", "fail"): 100,  # 90 / 9090 ~ 0.99% while exposed
            ("canary", "visa", "ok"): 970,
            ("canary", "visa", "fail"): 30,
            ("canary", "amex", "invalid"): 5,  # client errors are not failures
        },
    )
    result = cost([start, end], exposure_start=0)
    visa = next(n for n in result.per_network if n.network == "visa")
    assert visa.canary_requests == 1000
    assert visa.expected_canary_failures == pytest.approx(1000 * 90 / 9090)
    assert result.affected_transactions == round(30 - 1000 * 90 / 9090)
    assert result.total_transactions == 10000 + 100 + 970 + 30 + 5


def test_a_canary_better_than_stable_affects_nobody() -> None:
    end = sample(
        10,
        {
            ("stable", "visa", "ok"): 900,
            ("stable", "visa", "fail"): 100,
            ("canary", "visa", "ok"): 100,
        },
    )
    assert cost([end], exposure_start=None).affected_transactions == 0


def test_a_better_network_does_not_offset_a_worse_one() -> None:
    """Visa's canary fails 20 customers beyond stable's ratio; Amex's canary fails 10 fewer than
    stable's ratio predicts. 20 customers were hurt, not 10."""
    end = sample(
        10,
        {
            ("stable", "visa", "ok"): 1000,
            ("canary", "visa", "ok"): 80,
            ("canary", "visa", "fail"): 20,
            ("stable", "amex", "ok"): 900,
            ("stable", "amex", "fail"): 100,
            ("canary", "amex", "ok"): 100,
        },
    )
    assert cost([end], exposure_start=None).affected_transactions == 20


def test_first_canary_traffic_and_rate_report() -> None:
    samples = [
        sample(0, {("stable", "visa", "ok"): 10}),
        sample(1, {("stable", "visa", "ok"): 20, ("canary", "visa", "ok"): 1}),
    ]
    assert first_canary_traffic(samples) == 1
    report = rate_report(samples, target_rate=11)
    assert report.achieved_rate == pytest.approx(11)
    assert report.sustained


def test_an_unsustained_rate_is_reported_as_such() -> None:
    samples = [sample(0, {}), sample(10, {("stable", "visa", "ok"): 100})]
    assert not rate_report(samples, target_rate=1000).sustained


def test_test_cards_pass_luhn() -> None:
    def luhn(number: str) -> bool:
        digits = [int(d) for d in reversed(number)]
        total = sum(
            d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits)
        )
        return total % 10 == 0

    assert all(luhn(card) for cards in TEST_CARDS.values() for card in cards)


# --- provider -----------------------------------------------------------------------------


def test_vector_becomes_a_list_of_values_and_scalar_a_float() -> None:
    vector = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": {"network": "visa"}, "value": [1, "0.03"]},
                {"metric": {}, "value": [1, "NaN"]},
            ],
        },
    }
    values = parse_response(vector)
    assert isinstance(values, list) and values[0] == 0.03 and math.isnan(values[1])
    assert format_result(values) == "[0.03,NaN]"
    scalar = {"status": "success", "data": {"resultType": "scalar", "result": [1, "2"]}}
    assert parse_response(scalar) == 2.0
    empty = {"status": "success", "data": {"resultType": "vector", "result": []}}
    assert parse_response(empty) == [] and format_result([]) == "[]"


def test_unsupported_result_types_and_errors_raise() -> None:
    with pytest.raises(ValueError, match="not supported"):
        parse_response({"status": "success", "data": {"resultType": "matrix", "result": []}})
    with pytest.raises(ValueError, match="parse error"):
        parse_response({"status": "error", "error": "parse error"})


def test_go_float_formatting() -> None:
    assert go_float(0.00001) == "0.00001"
    assert go_float(2.0) == "2"
    assert go_float(math.inf) == "+Inf"
