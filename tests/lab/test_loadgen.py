"""The traffic generator against real granian processes: it splits by weight, follows the card
mix, classifies answers (2xx ok, 5xx or no answer failed, 4xx invalid) and keeps its rate."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from paystream_ops.lab.accounting import Sample
from paystream_ops.lab.loadgen import NETWORKS, TARGETS
from paystream_ops.lab.traffic import TrafficGenerator, wait_for_samples
from paystream_ops.processes import free_port

# An open-loop rate is a CPU measurement: these run in the lab phase, alone (docs/decisions/0050).
pytestmark = [pytest.mark.integration, pytest.mark.lab]

FIXTURES = Path(__file__).parent / "fixtures"
MIX = {"visa": 0.5, "mastercard": 0.3, "amex": 0.12, "discover": 0.08}


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("granian exited")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("granian did not listen")


@pytest.fixture(scope="module")
def fake_servers() -> Iterator[tuple[int, int]]:
    granian = Path(sys.executable).parent / "granian"
    procs: list[subprocess.Popen[bytes]] = []
    ports = [free_port(), free_port()]
    try:
        for port in ports:
            proc = subprocess.Popen(
                [
                    str(granian),
                    "--interface",
                    "asgi",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "fake_auth_app:app",
                ],
                cwd=FIXTURES,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            procs.append(proc)
            _wait_port(port, proc)
        yield ports[0], ports[1]
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def _totals(sample: Sample, target: str) -> dict[str, dict[str, int]]:
    return {n: {c: sample.count(target, n, c) for c in ("ok", "fail", "invalid")} for n in NETWORKS}


def _flags(sample: Sample, target: str, network: str) -> tuple[int, int, int]:
    """(answers, declined, slow) of one target and network."""
    count = sample.count
    return (
        count(target, network, "ok"),
        count(target, network, "declined"),
        count(target, network, "slow"),
    )


def _run(
    stable: int,
    canary: int,
    weight: float,
    seconds: float,
    rate: float = 2000,
    slow_seconds: float = 2.5,
) -> list[Sample]:
    generator = TrafficGenerator(
        stable=("127.0.0.1", stable),
        canary=("127.0.0.1", canary),
        rate=rate,
        card_mix=MIX,
        seed=7,
        timeout_seconds=2.0,
        t0=time.monotonic(),
        slow_seconds=slow_seconds,
    )
    with generator:
        wait_for_samples(generator)
        generator.set_weight(weight)
        time.sleep(seconds)
    return generator.snapshot()


def test_traffic_splits_by_weight_and_follows_the_card_mix(fake_servers: tuple[int, int]) -> None:
    samples = _run(*fake_servers, weight=25, seconds=2.0)
    final = samples[-1]
    stable, canary = _totals(final, "stable"), _totals(final, "canary")
    total = sum(sum(v.values()) for v in stable.values()) + sum(
        sum(v.values()) for v in canary.values()
    )
    assert total == final.issued  # every request issued was answered and counted
    canary_total = sum(sum(v.values()) for v in canary.values())
    assert canary_total / total == pytest.approx(0.25, abs=0.03)
    for network, share in MIX.items():
        count = sum(stable[network].values()) + sum(canary[network].values())
        assert count / total == pytest.approx(share, abs=0.03)
    # The fake API: amex answers 503 (failure), discover 422 (invalid, not a failure).
    for role in (stable, canary):
        assert role["amex"]["fail"] > 0 and role["amex"]["ok"] == 0
        assert role["discover"]["invalid"] > 0 and role["discover"]["fail"] == 0
        assert role["visa"]["ok"] > 0 and role["visa"]["fail"] == 0
    # Declines and slow answers are counted among the 2xx answers: Mastercard always declines,
    # Visa never; nothing takes 2.5 s.
    for target in TARGETS:
        answers, declined, slow = _flags(final, target, "mastercard")
        assert declined == answers > 0 and slow == 0
        assert _flags(final, target, "visa")[1:] == (0, 0)


def test_the_generator_keeps_an_open_loop_rate(fake_servers: tuple[int, int]) -> None:
    # A zero SLO: every answer is slower than it, so every answer counts as slow.
    samples = _run(*fake_servers, weight=0, seconds=2.0, rate=3000, slow_seconds=0.0)
    first, last = samples[0], samples[-1]
    achieved = (last.issued - first.issued) / (last.at - first.at)
    assert achieved == pytest.approx(3000, rel=0.05)
    assert _totals(last, "canary")["visa"] == {"ok": 0, "fail": 0, "invalid": 0}
    answers, _, slow = _flags(last, "stable", "visa")
    assert slow == answers > 0


def test_a_canary_nobody_listens_on_counts_as_failures(fake_servers: tuple[int, int]) -> None:
    dead = free_port()
    samples = _run(fake_servers[0], dead, weight=50, seconds=1.0, rate=500)
    canary = _totals(samples[-1], "canary")
    assert canary["visa"]["fail"] > 0 and canary["visa"]["ok"] == 0
