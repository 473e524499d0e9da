"""CPU per request of the lab's traffic generator against httpx: why the lab has its own client.

`python -m paystream_ops.lab.loadgen_cpu [--rate 3000] [--seconds 5]` starts a bare ASGI app under
granian, drives it at the same open-loop rate with (a) `paystream_ops.lab.loadgen` and (b) an
httpx.AsyncClient doing the same job, each in its own process, and prints the CPU time each
client spent per request and their ratio. Not a test: figures go to DESIGN.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import time
from typing import Any

from paystream_auth.granian_command import GranianOptions, granian_executable
from paystream_ops.processes import free_port, wait_http_ok

_BODY = b'{"status":"approved"}'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The bare app both clients call: reads the body, answers a fixed 200."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"21")],
        }
    )
    await send({"type": "http.response.body", "body": _BODY})


async def _httpx_client(port: int, rate: float, seconds: float) -> int:
    """httpx at its best here: 8 workers in a closed loop (64 made its pool thrash), <= rate."""
    import httpx

    body = {"card_number": "4111111111111111", "amount": 100, "currency": "USD", "merchant_id": "b"}
    done = 0
    start = time.monotonic()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as client:

        async def worker() -> None:
            nonlocal done
            while (now := time.monotonic()) - start < seconds:
                if done >= rate * (now - start):
                    await asyncio.sleep(0.001)
                    continue
                await client.post("/v1/authorize", json=body)
                done += 1

        await asyncio.gather(*(worker() for _ in range(8)))
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=3000.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--client", choices=["httpx"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client == "httpx":
        done = asyncio.run(_httpx_client(args.port, args.rate, args.seconds))
        print(done)
        return
    port = free_port()
    options = GranianOptions(
        host="127.0.0.1", port=port, target="paystream_ops.lab.loadgen_cpu:app"
    )
    server = subprocess.Popen(
        [granian_executable(), *options.args()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/", 20, server)
        config = {
            "targets": [{"host": "127.0.0.1", "port": port}] * 2,
            "rate": args.rate,
            "card_mix": {"visa": 1.0},
            "seed": random.randrange(1000),
            "timeout_seconds": 5,
            "report_seconds": 1,
        }
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "paystream_ops.lab.loadgen", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(args.seconds)
        out, _ = proc.communicate(json.dumps({"stop": True}) + "\n", timeout=30)
        ours_requests = json.loads(out.strip().splitlines()[-1])["issued"]
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        ours_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        ours_wall = time.monotonic() - start
        before = after
        start = time.monotonic()
        httpx_out = subprocess.run(
            [
                sys.executable,
                "-m",
                "paystream_ops.lab.loadgen_cpu",
                "--client",
                "httpx",
                "--port",
                str(port),
                "--rate",
                str(args.rate),
                "--seconds",
                str(args.seconds),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if httpx_out.returncode != 0:
            raise SystemExit(f"httpx client failed: {httpx_out.stderr.strip().splitlines()[-1:]}")
        httpx_wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        httpx_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        httpx_requests = int(httpx_out.stdout.strip())
    finally:
        server.terminate()
        server.wait(timeout=10)
    ours = 1e6 * ours_cpu / max(ours_requests, 1)
    theirs = 1e6 * httpx_cpu / max(httpx_requests, 1)
    print(f"target rate {args.rate:.0f}/s for {args.seconds:.0f}s on {os.cpu_count()} CPUs")
    for name, count, wall, per_1000 in (
        ("lab loadgen", ours_requests, ours_wall, ours),
        ("httpx async", httpx_requests, httpx_wall, theirs),
    ):
        print(f"{name}: {count:7d} requests in {wall:5.1f}s, {per_1000:7.1f} us CPU per request")
    print(f"ratio (httpx / lab loadgen CPU per request): {theirs / ours:.1f}x")


if __name__ == "__main__":
    main()
