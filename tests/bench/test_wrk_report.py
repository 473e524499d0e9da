"""`paystream-ops bench`: reading wrk's report, and one short real run."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from paystream_ops.bench.runner import Scenario, Settings, run_bench
from paystream_ops.bench.wrk import parse_report
from paystream_ops.errors import UserError
from paystream_ops.processes import ServiceProcess

REPORT = """Running 10s test @ http://127.0.0.1:41234/v1/authorize
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.61ms  412.11us  21.37ms   91.20%
    Req/Sec    24.53k     1.21k   26.40k    73.00%
  Latency Distribution
     50%    2.59ms
     75%    2.71ms
     90%    2.88ms
     99%    4.86ms
  244012 requests in 10.00s, 74.46MB read
Requests/sec:  24397.53
Transfer/sec:      7.44MB
"""


def test_a_wrk_report_gives_throughput_and_percentiles() -> None:
    result = parse_report(REPORT)
    assert result.requests_per_second == 24397.53
    assert result.p50_seconds == pytest.approx(0.00259)
    assert result.p99_seconds == pytest.approx(0.00486)
    assert result.non_2xx == 0


def test_units_are_converted_and_non_2xx_counted() -> None:
    report = REPORT.replace("99%    4.86ms", "99%    1.02s").replace(
        "Requests/sec", "  Non-2xx or 3xx responses: 17\nRequests/sec"
    )
    result = parse_report(report.replace("50%    2.59ms", "50%  812.00us"))
    assert result.p99_seconds == pytest.approx(1.02)
    assert result.p50_seconds == pytest.approx(0.000812)
    assert result.non_2xx == 17


def test_a_report_without_numbers_is_a_user_error() -> None:
    with pytest.raises(UserError, match="unexpected report"):
        parse_report("unable to connect to 127.0.0.1:1 Connection refused\n")


@pytest.mark.integration
@pytest.mark.slow
def test_a_short_real_run_measures_both_apps() -> None:
    (result,) = run_bench(
        Settings(duration_seconds=1, warmup_seconds=1, connections=8, rounds=1),
        [Scenario("smoke", 1, None, None)],
    )
    assert result.bare_median.requests_per_second > 0
    assert result.service_median.requests_per_second > 0
    assert result.throughput_ratio > 0
    assert result.keyed_median.requests_per_second > 0 and result.keyed_ratio > 0
    assert result.as_dict()["round_ratios"] == [round(result.throughput_ratio, 3)]


@pytest.mark.integration
def test_the_bare_app_answers_every_worker_with_its_pid() -> None:
    bare = ServiceProcess(workers=2, target="paystream_ops.bench.bare_app:app", cpus="0")
    bare.start()
    try:
        answer = httpx.post(f"{bare.base_url}/v1/authorize", content=b"{}").json()
        assert answer["status"] == "approved"
        assert isinstance(answer["pid"], int)
        assert bare.proc is not None
        status = Path(f"/proc/{answer['pid']}/status").read_text().splitlines()
        assert "Cpus_allowed_list:\t0" in status
    finally:
        bare.stop()
