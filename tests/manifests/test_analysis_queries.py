"""The prod AnalysisTemplate's queries, as rendered and with prod's thresholds, evaluated by the
real promtool on synthetic canary/stable series: each metric judges one network and one signal,
reads NaN when the canary served too few requests unless the evidence is already over the bar,
nothing when the canary served none, counts declines as answers and ignores invalid requests."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from paystream_ops.judge.budget import LATENCY_BOUNDARIES, boundary_margin
from paystream_ops.judge.figures import FIGURES_TEMPLATE_NAME
from paystream_ops.judge.template import TEMPLATE_NAME
from paystream_ops.render import render

CANARY, STABLE = "c4n4ry", "st4b1e"
SELECTOR = 'job="auth-service", namespace="paystream", rollouts_pod_template_hash="{hash}"'
REQ = "paystream_auth_requests_total"
BUCKET = "paystream_auth_request_duration_seconds_bucket"
COUNT = "paystream_auth_request_duration_seconds_count"
NAN = float("nan")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def template(repo_root: Path) -> dict[str, Any]:
    if shutil.which("promtool") is None:
        pytest.fail("promtool not found: run `make setup` (Debian package)")
    objects = render(repo_root / "overlays" / "prod")
    found: dict[str, Any] = next(
        o
        for o in objects
        if o["kind"] == "AnalysisTemplate" and o["metadata"]["name"] == TEMPLATE_NAME
    )
    return found


@pytest.fixture(scope="module")
def figures(repo_root: Path) -> dict[str, Any]:
    objects = render(repo_root / "overlays" / "prod")
    found: dict[str, Any] = next(
        o
        for o in objects
        if o["kind"] == "AnalysisTemplate" and o["metadata"]["name"] == FIGURES_TEMPLATE_NAME
    )
    return found


def _args(template: dict[str, Any]) -> dict[str, str]:
    return {a["name"]: a.get("value", "") for a in template["spec"]["args"]}


def _filled(template: dict[str, Any]) -> dict[str, str]:
    values = _args(template)
    values.update({"canary-hash": CANARY, "stable-hash": STABLE})
    return {
        metric["name"]: re.sub(
            r"\{\{\s*args\.([\w-]+)\s*\}\}",
            lambda m: values[m.group(1)],
            metric["provider"]["prometheus"]["query"],
        )
        for metric in template["spec"]["metrics"]
    }


def _steps(template: dict[str, Any]) -> int:
    """10 s samples per window (the series below are per 10 s)."""
    match = re.fullmatch(r"(\d+)([sm])", _args(template)["window"])
    assert match, "the test understands s/m windows only"
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1) // 10


def _counter(name: str, pod_hash: str, labels: str, per_10s: int) -> dict[str, str]:
    return {
        "series": f"{name}{{{SELECTOR.format(hash=pod_hash)}, {labels}}}",
        "values": f"0+{per_10s}x60",
    }


def score(xc: float, nc: float, xs: float, ns: float, margin: float = 0.0) -> float:
    """The judge's two-sample score (paystream_ops/judge/signals.py), recomputed here; latency
    raises stable's ratio by the margin first (docs/decisions/0110)."""
    excess = xc - nc * (xs / ns + margin)
    return float(excess / (nc * (xc + xs) / (nc + ns) * (1 + nc / ns) + 1) ** 0.5)


def margin_at(args: dict[str, str], le: str) -> float:
    """The latency margin at one boundary, shaped by the stall (docs/decisions/0135)."""
    return boundary_margin(
        float(le), float(args["latency-margin"]), float(args["latency-stall-seconds"])
    )


def _exact(query: str, expected: float) -> list[dict[str, Any]]:
    """promtool 2.42 compares floats exactly and never equates NaN: compare micro-units, and
    separately whether the value is NaN (``q != bool q`` is 1 only for NaN)."""
    network = re.search(r'network="(\w+)"', query)
    assert network
    labels = f'{{network="{network.group(1)}"}}'
    cases: list[dict[str, Any]] = [
        {
            "expr": f"({query}) != bool ({query})",
            "eval_time": "5m",
            "exp_samples": [{"labels": labels, "value": 1 if expected != expected else 0}],
        },
    ]
    if expected == expected:
        cases.append(
            {
                "expr": f"round(1e6 * ({query}))",
                "eval_time": "5m",
                "exp_samples": [{"labels": labels, "value": round(expected * 1e6)}],
            }
        )
    return cases


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
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_one_metric_per_network_and_signal(template: dict[str, Any]) -> None:
    names = [m["name"] for m in template["spec"]["metrics"]]
    for network in ("visa", "mastercard", "amex", "discover"):
        for signal in ("failures", "approvals", "latency"):
            assert f"{network}-{signal}" in names
    assert len(names) == 12
    assert {m["failureLimit"] for m in template["spec"]["metrics"]} == {0}


def test_failures_decide_on_evidence(template: dict[str, Any], tmp_path: Path) -> None:
    s, args, queries = _steps(template), _args(template), _filled(template)
    assert s < int(args["min-requests"]) < 29 * s  # Visa and Mastercard enough, Amex not
    bar = float(args["max-failures-score"])
    series = [
        # Visa: the canary times out 1 in 29 answered; stable never fails (no failure series).
        # Declines are answers, invalid is ignored.
        _counter(REQ, CANARY, 'network="visa", outcome="approved"', 26),
        _counter(REQ, CANARY, 'network="visa", outcome="declined"', 2),
        _counter(REQ, CANARY, 'network="visa", outcome="timeout"', 1),
        _counter(REQ, CANARY, 'network="visa", outcome="invalid"', 100),
        _counter(REQ, STABLE, 'network="visa", outcome="approved"', 300),
        # Mastercard: both fail, the canary twice as often: within chance at this count.
        _counter(REQ, CANARY, 'network="mastercard", outcome="approved"', 28),
        _counter(REQ, CANARY, 'network="mastercard", outcome="processor_error"', 2),
        _counter(REQ, STABLE, 'network="mastercard", outcome="approved"', 290),
        _counter(REQ, STABLE, 'network="mastercard", outcome="processor_error"', 10),
        # Amex: below min-requests, but 1 in 7 failing against none: overwhelming.
        _counter(REQ, CANARY, 'network="amex", outcome="approved"', 6),
        _counter(REQ, CANARY, 'network="amex", outcome="circuit_open"', 1),
        _counter(REQ, STABLE, 'network="amex", outcome="approved"', 70),
        # Discover: below min-requests and healthy: not enough data.
        _counter(REQ, CANARY, 'network="discover", outcome="approved"', 1),
        _counter(REQ, STABLE, 'network="discover", outcome="approved"', 50),
    ]
    visa = score(s, 29 * s, 0, 300 * s)
    mastercard = score(2 * s, 30 * s, 10 * s, 300 * s)
    amex = score(s, 7 * s, 0, 70 * s)
    assert mastercard < bar < min(visa, amex), (mastercard, bar, visa, amex)
    cases = (
        _exact(queries["visa-failures"], visa)
        + _exact(queries["mastercard-failures"], mastercard)
        + _exact(queries["amex-failures"], amex)
        + _exact(queries["discover-failures"], NAN)
        # Before the canary has served anything: an empty result (len(result) == 0).
        + [
            {
                "expr": queries["visa-failures"].replace(CANARY, "n0ne"),
                "eval_time": "5m",
                "exp_samples": [],
            }
        ]
    )
    _promtool(tmp_path, series, cases)


def test_approvals_compare_declines_among_answers(template: dict[str, Any], tmp_path: Path) -> None:
    s, args, queries = _steps(template), _args(template), _filled(template)
    bar = float(args["max-approvals-score"])
    series = [
        # Visa: the canary declines 1 in 5 valid cards, stable 6 in 100 (a false-decline bug);
        # a timeout and invalid requests are not answers.
        _counter(REQ, CANARY, 'network="visa", outcome="approved"', 24),
        _counter(REQ, CANARY, 'network="visa", outcome="declined"', 6),
        _counter(REQ, CANARY, 'network="visa", outcome="timeout"', 1),
        _counter(REQ, CANARY, 'network="visa", outcome="invalid"', 50),
        _counter(REQ, STABLE, 'network="visa", outcome="approved"', 282),
        _counter(REQ, STABLE, 'network="visa", outcome="declined"', 18),
        # Mastercard: everyday decline noise (2 in 30 against 18 in 300).
        _counter(REQ, CANARY, 'network="mastercard", outcome="approved"', 28),
        _counter(REQ, CANARY, 'network="mastercard", outcome="declined"', 2),
        _counter(REQ, STABLE, 'network="mastercard", outcome="approved"', 282),
        _counter(REQ, STABLE, 'network="mastercard", outcome="declined"', 18),
        # Amex: no decline on either side yet (no declined series): 0, not no data.
        _counter(REQ, CANARY, 'network="amex", outcome="approved"', 30),
        _counter(REQ, STABLE, 'network="amex", outcome="approved"', 300),
        # Discover: too few answers.
        _counter(REQ, CANARY, 'network="discover", outcome="approved"', 1),
        _counter(REQ, STABLE, 'network="discover", outcome="approved"', 50),
    ]
    visa = score(6 * s, 30 * s, 18 * s, 300 * s)
    mastercard = score(2 * s, 30 * s, 18 * s, 300 * s)
    assert mastercard < bar < visa, (mastercard, bar, visa)
    cases = (
        _exact(queries["visa-approvals"], visa)
        + _exact(queries["mastercard-approvals"], mastercard)
        + _exact(queries["amex-approvals"], 0.0)
        + _exact(queries["discover-approvals"], NAN)
    )
    _promtool(tmp_path, series, cases)


def _histogram(
    pod_hash: str, network: str, under: dict[str, int], total: int
) -> list[dict[str, str]]:
    """Per 10 s: `under[le]` requests at or under each boundary (the rest at `total`)."""
    out = [
        _counter(BUCKET, pod_hash, f'network="{network}", le="{le}"', under.get(le, total))
        for le in LATENCY_BOUNDARIES
    ]
    out.append(_counter(BUCKET, pod_hash, f'network="{network}", le="+Inf"', total))
    out.append(_counter(COUNT, pod_hash, f'network="{network}"', total))
    return out


def test_latency_compares_the_distributions(template: dict[str, Any], tmp_path: Path) -> None:
    s, args, queries = _steps(template), _args(template), _filled(template)
    bar = float(args["max-latency-score"])
    assert s < int(args["min-latency-requests"]) < 30 * s
    series = (
        # Visa: every canary request over 50 ms, stable's 1 in 30 between 30 and 50 ms: the
        # largest score is at 50 ms (a whole-network slowdown).
        _histogram(CANARY, "visa", {"0.03": 0, "0.05": 0}, 30)
        + _histogram(STABLE, "visa", {"0.03": 290}, 300)
        # Mastercard: the same distribution on both sides.
        + _histogram(CANARY, "mastercard", {"0.03": 29}, 30)
        + _histogram(STABLE, "mastercard", {"0.03": 290}, 300)
        # Amex: 1 in 10 canary requests over 0.5 s where stable has none: a slow tail.
        + _histogram(CANARY, "amex", {"0.03": 27, "0.05": 27, "0.1": 27, "0.25": 27, "0.5": 27}, 30)
        + _histogram(STABLE, "amex", {}, 300)
        # Discover: too few canary requests, healthy.
        + _histogram(CANARY, "discover", {}, 1)
        + _histogram(STABLE, "discover", {}, 50)
    )

    def m(le: str) -> float:
        return margin_at(args, le)

    # Each network's score is its largest over the boundaries; past the stall the margin is 0.
    visa = max(
        score(30 * s, 30 * s, 10 * s, 300 * s, m("0.03")),
        score(30 * s, 30 * s, 0, 300 * s, m("0.05")),
    )
    amex = score(3 * s, 30 * s, 0, 300 * s, m("0.5"))
    assert bar < min(visa, amex)
    # Mastercard: below zero at 30 ms, 0 where neither side has any past the stall.
    assert score(s, 30 * s, 10 * s, 300 * s, m("0.03")) < 0
    mastercard = 0.0
    cases = (
        _exact(queries["visa-latency"], visa)
        + _exact(queries["mastercard-latency"], mastercard)
        + _exact(queries["amex-latency"], amex)
        + _exact(queries["discover-latency"], NAN)
    )
    _promtool(tmp_path, series, cases)


def test_latency_forgives_the_share_one_stalled_pod_makes_slow(
    template: dict[str, Any], tmp_path: Path
) -> None:
    """Visa: 1 in 100 canary requests over 30 ms (a stall: all below the stall's length) where
    stable has none: within the margin. Mastercard: 3 in 100, beyond it by chance's five units."""
    s, args, queries = _steps(template), _args(template), _filled(template)
    bar, m = float(args["max-latency-score"]), margin_at(args, "0.03")
    series = (
        _histogram(CANARY, "visa", {"0.03": 396}, 400)
        + _histogram(STABLE, "visa", {}, 400)
        + _histogram(CANARY, "mastercard", {"0.03": 388}, 400)
        + _histogram(STABLE, "mastercard", {}, 400)
    )
    visa = score(4 * s, 400 * s, 0, 400 * s, m)
    mastercard = score(12 * s, 400 * s, 0, 400 * s, m)
    assert 0 < visa <= bar < score(4 * s, 400 * s, 0, 400 * s)  # without the margin: aborted
    assert mastercard > bar
    cases = _exact(queries["visa-latency"], visa)
    _promtool(tmp_path, series, cases + _exact(queries["mastercard-latency"], mastercard))


def test_timeouts_past_the_stall_are_judged_without_the_margin(
    template: dict[str, Any], tmp_path: Path
) -> None:
    """The incident's shape: 1 in 60 Visa canary requests ends at the 2 s deadline (slower than
    1.5 s, under 2.5 s), stable has none. No stall lasts past 1.5 s, so there the margin is 0
    and the score fails; the flat margin of 0110 would have forgiven it (docs/decisions/0135)."""
    s, args, queries = _steps(template), _args(template), _filled(template)
    bar, flat = float(args["max-latency-score"]), float(args["latency-margin"])
    deadline = {le: 59 for le in LATENCY_BOUNDARIES if float(le) < 2}
    series = _histogram(CANARY, "visa", deadline, 60) + _histogram(STABLE, "visa", {}, 600)
    visa = score(s, 60 * s, 0, 600 * s, margin_at(args, "1.5"))
    assert score(s, 60 * s, 0, 600 * s, flat) <= bar < visa
    _promtool(tmp_path, series, _exact(queries["visa-latency"], visa))


def test_a_stable_with_little_traffic_left_cannot_make_a_healthy_canary_fail(
    template: dict[str, Any], tmp_path: Path
) -> None:
    """At 100% weight stable's window empties: its few requests and no failures must not turn
    the canary's everyday failures (1 in 300) into a significant excess."""
    s, args, queries = _steps(template), _args(template), _filled(template)
    series = [
        _counter(REQ, CANARY, 'network="visa", outcome="approved"', 299),
        _counter(REQ, CANARY, 'network="visa", outcome="timeout"', 1),
        _counter(REQ, STABLE, 'network="visa", outcome="approved"', 10),
    ]
    fc, nc, ns = s, 300 * s, 10 * s
    value = score(fc, nc, 0, ns)
    assert value < 1 < float(args["max-failures-score"]) < fc
    _promtool(tmp_path, series, _exact(queries["visa-failures"], value))


def test_the_figures_are_what_the_canary_saw(
    template: dict[str, Any], figures: dict[str, Any], tmp_path: Path
) -> None:
    """Requests as `min-requests` counts them (invalid left out), failures among them, approvals
    among answers, P99 from the canary's histogram; nothing for a network the canary never
    served, and one value per network (the figures keep the network label)."""
    s = _steps(template)
    assert _args(figures)["window"] == _args(template)["window"]  # one value in both
    queries = _filled(figures)
    series = [
        _counter(REQ, CANARY, 'network="visa", outcome="approved"', 24),
        _counter(REQ, CANARY, 'network="visa", outcome="declined"', 6),
        _counter(REQ, CANARY, 'network="visa", outcome="timeout"', 2),
        _counter(REQ, CANARY, 'network="visa", outcome="invalid"', 50),
        # Stable's traffic is never the canary's figure.
        _counter(REQ, STABLE, 'network="visa", outcome="timeout"', 300),
        # Mastercard: no failure series at all: a ratio of 0, not nothing.
        _counter(REQ, CANARY, 'network="mastercard", outcome="approved"', 10),
        *_histogram(CANARY, "visa", {"0.03": 32}, 32),
        *_histogram(CANARY, "amex", {"0.03": 27, "0.05": 27, "0.1": 27, "0.25": 27, "0.5": 27}, 30),
        *_histogram(STABLE, "amex", {}, 300),
    ]
    cases = (
        _exact(queries["visa-canary-requests"], 32 * s)
        + _exact(queries["visa-canary-failure-ratio"], 2 / 32)
        + _exact(queries["visa-canary-approval-ratio"], 24 / 30)
        + _exact(queries["mastercard-canary-failure-ratio"], 0.0)
        + _exact(queries["mastercard-canary-approval-ratio"], 1.0)
        # All under 30 ms: interpolated in the first bucket. Amex: 3 in 30 between 0.5 and
        # 1.5 s: rank 29.7 lies 2.7 of those 3 into that bucket.
        + _exact(queries["visa-canary-p99-seconds"], 0.99 * 0.03)
        + _exact(queries["amex-canary-p99-seconds"], 0.5 + 2.7 / 3 * 1.0)
        + [
            {"expr": queries[f"discover-canary-{f}"], "eval_time": "5m", "exp_samples": []}
            for f in ("requests", "failure-ratio", "approval-ratio")
        ]
    )
    _promtool(tmp_path, series, cases)


def _stepped(name: str, pod_hash: str, labels: str, per_10s: list[int]) -> dict[str, str]:
    """A counter whose increase over each 10 s step is given (31 samples, 0 .. 5m)."""
    values, total = ["0"], 0
    for step in per_10s:
        total += step
        values.append(str(total))
    return {
        "series": f"{name}{{{SELECTOR.format(hash=pod_hash)}, {labels}}}",
        "values": " ".join(values),
    }


def _bursty(pod_hash: str, network: str, total: int, slow: list[int]) -> list[dict[str, str]]:
    """Per 10 s step: `total` requests, `slow[i]` of them slower than every boundary."""
    out = [
        _stepped(BUCKET, pod_hash, f'network="{network}", le="{le}"', [total - s for s in slow])
        for le in LATENCY_BOUNDARIES
    ]
    out.append(_stepped(BUCKET, pod_hash, f'network="{network}", le="+Inf"', [total] * len(slow)))
    out.append(_stepped(COUNT, pod_hash, f'network="{network}"', [total] * len(slow)))
    return out


def test_latency_tells_a_burst_from_a_sustained_regression(
    template: dict[str, Any], tmp_path: Path
) -> None:
    """The same 60 slow canary requests in the window (4.2%, beyond the margin by more than the
    bar): Visa's all inside one 10 s freeze, Mastercard's spread over every step. The burst
    guard (docs/decisions/0130) reads Visa 0 (the other sub-windows show no excess) and leaves
    Mastercard's whole-window score, which fails. Amex: the same freeze with too few canary
    requests per sub-window to check: the whole-window score, as before the guard."""
    args, queries = _args(template), _filled(template)
    # Slower than every boundary: read past the stall, where the margin is 0.
    bar, m = float(args["max-latency-score"]), margin_at(args, LATENCY_BOUNDARIES[-1])
    assert m == 0
    per_sub = int(args["latency-sub-window-requests"])
    assert args["latency-sub-window"] == "30s" and _steps(template) == 12
    per_step = 120  # 360 canary requests a sub-window: checked
    assert 3 * per_step >= per_sub
    freeze = [0] * 30
    freeze[26] = 60  # 4m20s: inside the sub-window (4m00s, 4m30s]
    # 5 a step since a sub-window before the window: Prometheus 2 subqueries include the step
    # at the range's start, whose sub-window ends where the window begins.
    spread = [0] * 15 + [5] * 15
    small = [0] * 30
    small[26] = 6
    series = (
        _bursty(CANARY, "visa", per_step, freeze)
        + _bursty(STABLE, "visa", per_step, [0] * 30)
        + _bursty(CANARY, "mastercard", per_step, spread)
        + _bursty(STABLE, "mastercard", per_step, [0] * 30)
        + _bursty(CANARY, "amex", 12, small)
        + _bursty(STABLE, "amex", 108, [0] * 30)
    )
    n = 12 * per_step
    whole = score(60, n, 0, n, m)
    assert whole > bar  # without the guard the freeze aborts: the false aborts of issue 14
    amex = score(6, 12 * 12, 0, 12 * 108, m)
    cases = (
        _exact(queries["visa-latency"], 0.0)
        + _exact(queries["mastercard-latency"], whole)
        + _exact(queries["amex-latency"], amex)
    )
    _promtool(tmp_path, series, cases)


@pytest.mark.parametrize(("stable_per_step", "vetoed"), [(630, True), (70, False)])
def test_the_burst_guard_checks_fewer_requests_at_a_lower_weight(
    template: dict[str, Any], tmp_path: Path, stable_per_step: int, vetoed: bool
) -> None:
    """210 canary requests a sub-window, one freeze: at the 10% step (stable 9 times the
    canary) the floor is 322 * (1 + 1/9) / 2 = 179, so the clean sub-windows veto the burst; at
    equal traffic 210 is under the floor of 322 and the whole-window score decides, as before
    (docs/decisions/0136)."""
    args, queries = _args(template), _filled(template)
    bar = float(args["max-latency-score"])
    per_step = 70
    freeze = [0] * 30
    freeze[26] = 60
    series = _bursty(CANARY, "discover", per_step, freeze) + _bursty(
        STABLE, "discover", stable_per_step, [0] * 30
    )
    whole = score(60, 12 * per_step, 0, 12 * stable_per_step)
    assert whole > bar
    _promtool(tmp_path, series, _exact(queries["discover-latency"], 0.0 if vetoed else whole))
