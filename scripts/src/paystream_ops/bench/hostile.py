"""Normal requests with and without a hostile-connection attack on one pod, side by side.

The service runs as the image starts it (one worker, the production granian command line),
pinned to one CPU; the clients get the others. A fixed-rate, open-loop stream of normal
`POST /v1/authorize` requests is measured idle, then again while `paystream_ops.bench.attack`
holds N connections (its own process). Latency runs from each request's scheduled time, so a
stalled server shows as latency, not as fewer requests. The probes (granian's port and the
kubelet's listener) are sampled alongside. Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from paystream_ops.bench.runner import REQUEST
from paystream_ops.errors import UserError
from paystream_ops.processes import ServiceProcess

NORMAL_CONNECTIONS = 8
ANSWER_TIMEOUT_SECONDS = 10.0
PROBE_EVERY_SECONDS = 0.25


@dataclass(frozen=True)
class HostileSettings:
    connections: int = 2_000
    rate_per_second: float = 200.0
    duration_seconds: float = 10.0
    warmup_seconds: float = 2.0


@dataclass
class Phase:
    """One measurement: normal requests' latencies (s), failures, probes, the attack's state."""

    name: str
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    probes: dict[str, list[float | None]] = field(default_factory=dict)
    held: list[int] = field(default_factory=list)
    rss_mib: float | None = None
    attack: dict[str, Any] = field(default_factory=dict)

    def percentile(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def probe_percentile(self, name: str, q: float) -> float | None:
        answered = sorted(v for v in self.probes.get(name, []) if v is not None)
        if not answered:
            return None
        return answered[min(len(answered) - 1, int(q * len(answered)))]

    def probe_failures(self, name: str) -> int:
        return sum(v is None for v in self.probes.get(name, []))

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requests": len(self.latencies) + self.failures,
            "failures": self.failures,
            "p50_seconds": self.percentile(0.5),
            "p99_seconds": self.percentile(0.99),
            "max_seconds": max(self.latencies) if self.latencies else None,
            "probes": {
                name: {
                    "p99_seconds": self.probe_percentile(name, 0.99),
                    "failures": self.probe_failures(name),
                    "samples": len(values),
                }
                for name, values in self.probes.items()
            },
            "held_min": min(self.held) if self.held else None,
            "held_median": sorted(self.held)[len(self.held) // 2] if self.held else None,
            "rss_mib": self.rss_mib,
            "attack": self.attack,
        }


def _request_bytes(host: str) -> bytes:
    body = json.dumps(REQUEST, separators=(",", ":")).encode()
    return (
        f"POST /v1/authorize HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    await reader.readexactly(length)
    return int(head[9:12])


async def normal_load(host: str, port: int, rate: float, seconds: float, phase: Phase) -> None:
    """Open loop: request i is due at start + i / rate; its latency counts from then."""
    loop = asyncio.get_running_loop()
    due: asyncio.Queue[float | None] = asyncio.Queue()
    request = _request_bytes(host)

    async def worker() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while (scheduled := await due.get()) is not None:
            try:
                if writer is None or reader is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(request)
                status = await asyncio.wait_for(_read_response(reader), ANSWER_TIMEOUT_SECONDS)
                if status == 200:
                    phase.latencies.append(loop.time() - scheduled)
                else:
                    phase.failures += 1
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                phase.failures += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(NORMAL_CONNECTIONS)]
    start = loop.time()
    for i in range(int(rate * seconds)):
        scheduled = start + i / rate
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        due.put_nowait(scheduled)
    for _ in workers:
        due.put_nowait(None)
    await asyncio.gather(*workers)


async def _probe_once(host: str, port: int) -> float | None:
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5.0)
        writer.write(f"GET /livez HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        status = await asyncio.wait_for(_read_response(reader), 5.0)
        writer.close()
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
        return None
    return time.monotonic() - started if status == 200 else None


async def probes(service: ServiceProcess, seconds: float, phase: Phase) -> None:
    targets = {"/livez, granian's port": service.port, "/livez, probe listener": service.probe_port}
    for name in targets:
        phase.probes[name] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name, port in targets.items():
            phase.probes[name].append(await _probe_once("127.0.0.1", port))
        await asyncio.sleep(PROBE_EVERY_SECONDS)


async def measure(service: ServiceProcess, settings: HostileSettings, phase: Phase) -> None:
    await asyncio.gather(
        normal_load(
            "127.0.0.1",
            service.port,
            settings.rate_per_second,
            settings.duration_seconds,
            phase,
        ),
        probes(service, settings.duration_seconds, phase),
    )


class AttackProcess:
    """`python -m paystream_ops.bench.attack` on the client CPUs; its latest counts."""

    def __init__(self, port: int, connections: int, cpus: str | None) -> None:
        pin = ["taskset", "-c", cpus] if cpus else []
        attack = ["-m", "paystream_ops.bench.attack", "--port", str(port)]
        self.proc = subprocess.Popen(
            [*pin, sys.executable, *attack, "--connections", str(connections)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.latest: dict[str, Any] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.latest = json.loads(line)

    @property
    def held(self) -> int:
        return int(self.latest.get("held", 0))

    def wait_held(self, count: int, timeout_seconds: float) -> None:
        deadline = time.monotonic() + timeout_seconds
        while self.held < count:
            if self.proc.poll() is not None:
                raise UserError(f"bench-hostile: the attack exited ({self.proc.returncode})")
            if time.monotonic() > deadline:
                raise UserError(
                    f"bench-hostile: only {self.held} of {count} connections held after "
                    f"{timeout_seconds:g} s: {self.latest}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self._reader.join(timeout=5)


def _worker_rss_mib(service: ServiceProcess) -> float | None:
    if service.proc is None:
        return None
    pid = service.proc.pid
    with contextlib.suppress(OSError, ValueError, IndexError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for line in Path(f"/proc/{children[0]}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def _cpus() -> tuple[str, str | None]:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise UserError("bench-hostile: needs at least 2 CPUs (the service gets one)")
    return str(cpus[0]), ",".join(map(str, cpus[1:]))


@contextlib.contextmanager
def _pinned(cpus: str | None) -> Iterator[None]:
    """Run this process (the normal-load client) on the clients' CPUs."""
    before = os.sched_getaffinity(0)
    if cpus:
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def run_hostile(settings: HostileSettings) -> tuple[Phase, Phase]:
    server_cpus, client_cpus = _cpus()
    service = ServiceProcess(
        env={"PAYSTREAM_LATENCY_SCALE": "0", "PAYSTREAM_VERSION": "bench"}, cpus=server_cpus
    )
    idle, attacked = Phase("idle"), Phase(f"{settings.connections:,} hostile connections")
    service.start()
    try:
        with _pinned(client_cpus):
            warmup = Phase("warm-up")
            warm = HostileSettings(
                settings.connections, settings.rate_per_second, settings.warmup_seconds
            )
            asyncio.run(measure(service, warm, warmup))
            asyncio.run(measure(service, settings, idle))
            idle.rss_mib = _worker_rss_mib(service)
            attack = AttackProcess(service.port, settings.connections, client_cpus)
            try:
                attack.wait_held(settings.connections, timeout_seconds=60)
                sampler = threading.Thread(
                    target=_sample_held, args=(attack, attacked, settings.duration_seconds)
                )
                sampler.start()
                asyncio.run(measure(service, settings, attacked))
                sampler.join()
                attacked.rss_mib = _worker_rss_mib(service)
            finally:
                attack.stop()
                attacked.attack = dict(attack.latest)
    finally:
        service.stop()
    return idle, attacked


def _sample_held(attack: AttackProcess, phase: Phase, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        phase.held.append(attack.held)
        time.sleep(0.25)


def as_json(settings: HostileSettings, phases: tuple[Phase, Phase]) -> str:
    return json.dumps(
        {"settings": asdict(settings), "phases": [phase.as_dict() for phase in phases]}, indent=2
    )
