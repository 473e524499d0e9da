"""Run wrk (Debian) and read requests/s and latency percentiles from its report."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from paystream_ops.errors import UserError

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)|Socket errors:.*", re.MULTILINE)


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_seconds: float
    p99_seconds: float
    non_2xx: int


def parse_report(text: str) -> WrkResult:
    """Pure: wrk's `--latency` report to numbers; a report without them is a UserError."""
    rps = _RPS.search(text)
    percentiles = {
        m.group(1): float(m.group(2)) * _UNITS[m.group(3)] for m in _PERCENTILE.finditer(text)
    }
    if rps is None or "50" not in percentiles or "99" not in percentiles:
        raise UserError(
            f"wrk: unexpected report (no Requests/sec or latency distribution): {text[-300:]!r}"
        )
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    return WrkResult(
        requests_per_second=float(rps.group(1)),
        p50_seconds=percentiles["50"],
        p99_seconds=percentiles["99"],
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def post_script(path: Path, body: dict[str, object]) -> Path:
    """A wrk Lua script that POSTs `body` as JSON."""
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    return path


def keyed_post_script(path: Path, body: dict[str, object], prefix: str) -> Path:
    """Like `post_script`, with a new Idempotency-Key on every request: `<prefix>-<thread>-<n>`.

    Every request is a fresh claim and a stored answer, never a replay: the store's full cost.
    """
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        "local threads = 0\n"
        'function setup(thread) threads = threads + 1; thread:set("tid", threads) end\n'
        "function init(args) n = 0 end\n"
        "function request()\n"
        "  n = n + 1\n"
        f'  wrk.headers["Idempotency-Key"] = "{prefix}-" .. tid .. "-" .. n\n'
        "  return wrk.format()\n"
        "end\n"
    )
    return path


def run_wrk(
    url: str,
    script: Path,
    *,
    duration_seconds: float,
    connections: int,
    threads: int,
    cpus: str | None,
) -> WrkResult:
    binary = shutil.which("wrk")
    if binary is None:
        raise UserError("wrk not found: run `make setup` (Debian package wrk)")
    pin = ["taskset", "-c", cpus] if cpus else []
    command = [
        *pin,
        binary,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_seconds))}s",  # wrk takes whole seconds
        "--latency",
        "-s",
        str(script),
        url,
    ]
    proc = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=duration_seconds + 60
    )
    if proc.returncode != 0:
        output = (proc.stderr.strip() or proc.stdout.strip())[-300:]
        raise UserError(f"wrk failed ({proc.returncode}): {output}")
    return parse_report(proc.stdout)
