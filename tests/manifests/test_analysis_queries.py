"""The prod AnalysisTemplate's queries, as rendered and with prod's thresholds, evaluated by the
real promtool on synthetic canary/stable series: they return one value per network, NaN for a
network the canary has not served enough, nothing for a network it never served, count
declines as answers and ignore invalid requests."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from paystream_ops.render import render

CANARY, STABLE = "c4n4ry", "st4b1e"
SELECTOR = 'job="auth-service", namespace="paystream", rollouts_pod_template_hash="{hash}"'


def _template(repo_root: Path) -> dict[str, Any]:
    objects = render(repo_root / "overlays" / "prod")
    return next(o for o in objects if o["kind"] == "AnalysisTemplate")


def _filled(template: dict[str, Any]) -> dict[str, str]:
    values = {a["name"]: a.get("value", "") for a in template["spec"]["args"]}
    values.update({"canary-hash": CANARY, "stable-hash": STABLE})
    queries = {}
    for metric in template["spec"]["metrics"]:
        query = metric["provider"]["prometheus"]["query"]
        queries[metric["name"]] = re.sub(
            r"\{\{\s*args\.([\w-]+)\s*\}\}", lambda m: values[m.group(1)], query
        )
    return queries


def _counter(name: str, pod_hash: str, labels: str, per_10s: int) -> dict[str, str]:
    return {
        "series": f"{name}{{{SELECTOR.format(hash=pod_hash)}, {labels}}}",
        "values": f"0+{per_10s}x60",
    }


def _series() -> list[dict[str, str]]:
    req = "paystream_auth_requests_total"
    bucket = "paystream_auth_request_duration_seconds_bucket"
    count = "paystream_auth_request_duration_seconds_count"
    return [
        # Visa: the canary times out 6 of 186 answered requests a minute; stable never fails
        # (and so has no failure series at all). Declines are answers; invalid is ignored.
        _counter(req, CANARY, 'network="visa", outcome="approved"', 28),
        _counter(req, CANARY, 'network="visa", outcome="declined"', 2),
        _counter(req, CANARY, 'network="visa", outcome="timeout"', 1),
        _counter(req, CANARY, 'network="visa", outcome="invalid"', 100),
        _counter(req, STABLE, 'network="visa", outcome="approved"', 280),
        _counter(req, STABLE, 'network="visa", outcome="declined"', 20),
        # Mastercard: healthy on both sides.
        _counter(req, CANARY, 'network="mastercard", outcome="approved"', 30),
        _counter(req, STABLE, 'network="mastercard", outcome="approved"', 300),
        # Amex: both fail, the canary twice as often (2 vs 1 in 30): 3.3 points worse, but at
        # this count still within what chance gives, so the excess score stays under its bar.
        _counter(req, CANARY, 'network="amex", outcome="approved"', 28),
        _counter(req, CANARY, 'network="amex", outcome="processor_error"', 2),
        _counter(req, STABLE, 'network="amex", outcome="approved"', 290),
        _counter(req, STABLE, 'network="amex", outcome="processor_error"', 10),
        # Discover: the canary saw 6 requests a minute, below min-requests: not enough data.
        _counter(req, CANARY, 'network="discover", outcome="approved"', 1),
        _counter(req, STABLE, 'network="discover", outcome="approved"', 50),
        # Latency, Visa: 12 of 180 canary requests a minute between 50 ms and 2.5 s.
        _counter(bucket, CANARY, 'network="visa", le="0.05"', 28),
        _counter(bucket, CANARY, 'network="visa", le="2.5"', 30),
        _counter(bucket, CANARY, 'network="visa", le="+Inf"', 30),
        _counter(count, CANARY, 'network="visa"', 30),
        _counter(bucket, STABLE, 'network="visa", le="0.05"', 297),
        _counter(bucket, STABLE, 'network="visa", le="2.5"', 300),
        _counter(bucket, STABLE, 'network="visa", le="+Inf"', 300),
        _counter(count, STABLE, 'network="visa"', 300),
    ]


def _exact(query: str, expected: dict[str, float]) -> list[dict[str, Any]]:
    """promtool 2.42 compares floats exactly and never equates NaN: compare micro-units of the
    non-NaN networks, and separately which networks are NaN (``q != bool q`` is 1 only for NaN)."""
    numbers = {n: v for n, v in expected.items() if v == v}
    return [
        {
            "expr": f"round(1e6 * ({query})) and on (network) (({query}) == ({query}))",
            "eval_time": "5m",
            "exp_samples": [
                {"labels": f'{{network="{n}"}}', "value": round(v * 1e6)}
                for n, v in numbers.items()
            ],
        },
        {
            "expr": f"({query}) != bool ({query})",
            "eval_time": "5m",
            "exp_samples": [
                {"labels": f'{{network="{n}"}}', "value": 0 if v == v else 1}
                for n, v in expected.items()
            ],
        },
    ]


def _window_steps(window: str) -> int:
    match = re.fullmatch(r"(\d+)([sm])", window)
    assert match, f"window {window!r}: the test understands s/m ranges only"
    seconds = int(match.group(1)) * (60 if match.group(2) == "m" else 1)
    return seconds // 10


@pytest.mark.integration
def test_analysis_queries_judge_each_network_on_its_own(repo_root: Path, tmp_path: Path) -> None:
    if shutil.which("promtool") is None:
        pytest.fail("promtool not found: run `make setup` (Debian package)")
    template = _template(repo_root)
    args = {a["name"]: a.get("value", "") for a in template["spec"]["args"]}
    steps = _window_steps(args["window"])
    # The series below give, per window, Discover 1 x steps canary requests and Visa 31 x steps:
    # prod's minimum counts must sit between them for the scenario to mean what it says.
    for minimum in ("min-requests", "min-latency-requests"):
        assert steps < int(args[minimum]) <= 30 * steps, f"{minimum}={args[minimum]}"
    queries = _filled(template)
    # Visa canary P99 interpolates to 0.05 + 2.45 * (0.99 * 180 - 168) / 12 = 2.13 s (per
    # minute; the ratios are the same for any window); stable's is 0.05 s, floored to 0.25 s.
    p99 = 0.05 + 2.45 * (0.99 * 180 - 168) / 12
    nan = float("nan")

    # The excess score over one window, (Fc - Nc Fs / Ns) / sqrt(Nc (Fc + Fs) / (Nc + Ns)
    # (1 + Nc / Ns) + 1): Visa's canary failed `steps` times of 31 x steps where stable's ratio
    # (0 of 300 x steps) predicts none; Amex's 2 x steps of 30 x steps where stable's (10 of
    # 300 x steps) predicts steps.
    def score(fc: float, nc: float, fs: float, ns: float) -> float:
        return float((fc - nc * fs / ns) / (nc * (fc + fs) / (nc + ns) * (1 + nc / ns) + 1) ** 0.5)

    s = steps
    visa_score, amex_score = score(s, 31 * s, 0, 300 * s), score(2 * s, 30 * s, 10 * s, 300 * s)
    bar = float(args["max-failure-excess-score"])
    assert amex_score < bar < visa_score, (amex_score, bar, visa_score)
    cases = (
        _exact(
            queries["failure-ratio-delta"],
            {"visa": 6 / 186, "mastercard": 0.0, "amex": 2 / 30 - 10 / 300, "discover": nan},
        )
        + _exact(
            queries["failure-excess-score"],
            {"visa": visa_score, "mastercard": 0.0, "amex": amex_score, "discover": nan},
        )
        + _exact(queries["p99-vs-slo"], {"visa": p99})
        + _exact(queries["p99-vs-stable"], {"visa": p99 / float(args["p99-floor-seconds"])})
        # Before the canary has served anything: an empty result (len(result) == 0).
        + [
            {
                "expr": queries[name].replace(CANARY, "n0ne"),
                "eval_time": "5m",
                "exp_samples": [],
            }
            for name in ("failure-ratio-delta", "failure-excess-score")
        ]
    )
    _promtool(tmp_path, _series(), cases)


def _promtool(tmp_path: Path, series: list[dict[str, str]], cases: list[dict[str, Any]]) -> None:
    tests = {
        "rule_files": [],
        "evaluation_interval": "10s",
        "tests": [{"interval": "10s", "input_series": series, "promql_expr_test": cases}],
    }
    path = tmp_path / "analysis_test.yaml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    proc = subprocess.run(
        ["promtool", "test", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.integration
def test_a_stable_with_little_traffic_left_cannot_make_a_healthy_canary_fail(
    repo_root: Path, tmp_path: Path
) -> None:
    """At 100% weight stable's window empties: its few requests and no failures must not turn
    the canary's everyday failures (1 in 300) into a significant excess. The first version of
    the score took stable's ratio as exact and falsely aborted a healthy lab run this way."""
    if shutil.which("promtool") is None:
        pytest.fail("promtool not found: run `make setup` (Debian package)")
    template = _template(repo_root)
    args = {a["name"]: a.get("value", "") for a in template["spec"]["args"]}
    queries = _filled(template)
    req = "paystream_auth_requests_total"
    series = [
        _counter(req, CANARY, 'network="visa", outcome="approved"', 299),
        _counter(req, CANARY, 'network="visa", outcome="timeout"', 1),
        _counter(req, STABLE, 'network="visa", outcome="approved"', 10),
    ]
    s = _window_steps(args["window"])
    fc, nc, ns = s, 300 * s, 10 * s
    score = fc / (nc * fc / (nc + ns) * (1 + nc / ns) + 1) ** 0.5
    bar = float(args["max-failure-excess-score"])
    assert score < 1 < bar < fc, (score, bar)  # exact stable ratio (0) would have said `fc`
    cases = _exact(queries["failure-excess-score"], {"visa": score}) + _exact(
        queries["failure-ratio-delta"], {"visa": 1 / 300}
    )
    _promtool(tmp_path, series, cases)
