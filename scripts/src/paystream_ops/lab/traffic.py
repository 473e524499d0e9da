"""The lab's side of the traffic generator: start it, steer it, collect its counters."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType

from paystream_ops.errors import UserError
from paystream_ops.lab.accounting import Sample


@dataclass
class TrafficGenerator:
    """`python -m paystream_ops.lab.loadgen` as a child process; samples arrive on a thread."""

    stable: tuple[str, int]
    canary: tuple[str, int]
    rate: float  # lab requests/s
    card_mix: Mapping[str, float]
    seed: int
    timeout_seconds: float
    t0: float  # the lab clock's zero (time.monotonic())
    connections: int = 64
    slow_seconds: float = 2.5  # lab seconds: an answer slower than this counts as `slow`
    # The scenario plays real callers (live-like cards); synthetic load sends test cards.
    cards: str = "live"
    # `retrying`: every request carries a key, failed ones are retried with it (decision 0118).
    callers: str = "single"
    retrying_share: float = 1.0
    time_scale: float = 1.0  # the callers' backoff and Retry-After are real time, scaled
    samples: list[Sample] = field(default_factory=list)
    proc: subprocess.Popen[str] | None = None
    _reader: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _weight: float = -1.0
    _error: str = ""

    def start(self) -> None:
        config = {
            "targets": [
                {"host": self.stable[0], "port": self.stable[1]},
                {"host": self.canary[0], "port": self.canary[1]},
            ],
            "rate": self.rate,
            "card_mix": dict(self.card_mix),
            "seed": self.seed,
            "timeout_seconds": self.timeout_seconds,
            "connections": self.connections,
            "slow_seconds": self.slow_seconds,
            "report_seconds": 0.1,
            "cards": self.cards,
            "merchant_prefix": "synthetic" if self.cards == "test" else "lab",
            "callers": self.callers,
            "retrying_share": self.retrying_share,
            "retry": {
                "attempts": 3,
                "base_seconds": 0.5 / self.time_scale,
                "max_seconds": 4.0 / self.time_scale,
                "retry_after_scale": 1.0 / self.time_scale,
            },
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "paystream_ops.lab.loadgen", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, name="loadgen-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            sample = Sample(
                at=float(data["t"]) - self.t0,
                issued=int(data["issued"]),
                scheduled=int(data["scheduled"]),
                pending=int(data["pending"]),
                counts=tuple(int(c) for c in data["counts"]),
                callers=tuple(int(c) for c in data.get("callers", ())),
                unanswered=tuple(int(c) for c in data.get("unanswered", ())),
            )
            with self._lock:
                self.samples.append(sample)

    def snapshot(self) -> list[Sample]:
        with self._lock:
            return list(self.samples)

    def latest(self) -> Sample | None:
        with self._lock:
            return self.samples[-1] if self.samples else None

    def _send(self, command: dict[str, object]) -> None:
        if self.proc is None or self.proc.stdin is None or self.proc.poll() is not None:
            raise UserError(f"traffic generator exited: {self._stderr_tail()}")
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def set_weight(self, weight: float) -> None:
        if weight != self._weight:
            self._send({"canary_weight": weight})
            self._weight = weight

    def _stderr_tail(self) -> str:
        if self.proc is None or self.proc.stderr is None or self.proc.poll() is None:
            return "still running"
        text = self.proc.stderr.read() or ""
        return " ".join(text.strip().splitlines()[-2:]) or f"exit code {self.proc.returncode}"

    def stop(self) -> None:
        """Stop issuing, let in-flight requests finish, read the final counters."""
        if self.proc is None:
            return
        with contextlib.suppress(OSError, ValueError):
            if self.proc.poll() is None and self.proc.stdin is not None:
                self.proc.stdin.write(json.dumps({"stop": True}) + "\n")
                self.proc.stdin.flush()
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=self.timeout_seconds + 5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()

    def __enter__(self) -> TrafficGenerator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def wait_for_samples(generator: TrafficGenerator, timeout_seconds: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if generator.latest() is not None:
            return
        if generator.proc is not None and generator.proc.poll() is not None:
            raise UserError(f"traffic generator exited: {generator._stderr_tail()}")
        time.sleep(0.05)
    raise UserError("traffic generator sent no counters within 10 s")
