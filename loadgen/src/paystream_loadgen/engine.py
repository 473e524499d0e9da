"""The open-loop HTTP/1.1 client behind both the lab's traffic and staging's synthetic load.

Requests are scheduled by the clock, not by responses (a slow canary does not slow the load); the
card network of each follows the configured mix, the target follows the canary weight (the lab
emulates the route's split; in a cluster there is one target, the route, and the mesh splits), and
cumulative outcome counts are kept per target, network and answer class.

Two front ends drive it: `python -m paystream_ops.lab.loadgen CONFIG_JSON` (the lab: JSON-line
commands on stdin, counters on stdout) and `paystream-loadgen` (`paystream_loadgen.cluster`, the
staging Job). Callers may retry (config `callers: retrying`): each request then carries an
`Idempotency-Key`, and a failed one (5xx, no answer, 409 in flight or reversing) is sent again
with the same key after a short backoff, a bounded number of times, to wherever the weight sends
it then; retries are extra requests, never a slowdown of the schedule
(docs/decisions/0118-lab-callers-retry-with-the-same-key.md). Why not httpx: about 13 us of CPU
per request here against httpx's ~450 us, see
`python -m paystream_ops.lab.loadgen_cpu` and docs/decisions/0028-open-loop-load-generator.md.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, cast

from paystream_loadgen.cards import TEST_CARDS, CardSource, cards_for

__all__ = [
    "ANSWER_CLASSES",
    "CALLER_FIELDS",
    "CLASSES",
    "NETWORKS",
    "TARGETS",
    "TEST_CARDS",
    "Generator",
    "caller_index",
    "counter_index",
    "run",
]

NETWORKS: tuple[str, ...] = ("visa", "mastercard", "amex", "discover")
TARGETS: tuple[str, ...] = ("stable", "canary")
# The first three partition the answers (2xx, 5xx or no answer, 4xx); `declined` and `slow`
# count the 2xx answers that were declines or took longer than `slow_seconds` (the latency SLO).
CLASSES: tuple[str, ...] = ("ok", "fail", "invalid", "declined", "slow")
ANSWER_CLASSES: tuple[str, ...] = CLASSES[:3]
_OK, _FAIL, _INVALID, _DECLINED, _SLOW = 0, 1, 2, 3, 4
_DECLINE_MARK = b'"declined"'  # the answer's `status`: no other field holds this word
# Per network, what retrying callers did: keys (customers), retries sent, keys that ended with an
# answer (2xx), of those on a retry, and approved, and keys given up (retries spent or a 4xx).
CALLER_FIELDS: tuple[str, ...] = (
    "keys",
    "retries",
    "served",
    "served_after_retry",
    "approved",
    "gave_up",
)
_KEYS, _RETRIES, _SERVED, _SERVED_AFTER_RETRY, _APPROVED, _GAVE_UP = range(len(CALLER_FIELDS))
_CONFLICT = 409  # a key in flight or being reversed: retry after Retry-After (decision 0055)


def counter_index(target: int, network: int, outcome: int) -> int:
    return (target * len(NETWORKS) + network) * len(CLASSES) + outcome


def caller_index(network: int, field: int) -> int:
    return network * len(CALLER_FIELDS) + field


def with_idempotency_key(payload: bytes, key: bytes) -> bytes:
    """The pre-serialised request with an `Idempotency-Key` header added to its head."""
    end = payload.index(b"\r\n\r\n")
    return payload[:end] + b"\r\nIdempotency-Key: " + key + payload[end:]


@dataclass(frozen=True)
class RetryPolicy:
    """How retrying callers back off: `base * 2**n` seconds with equal jitter, capped, and never
    sooner than the answer's Retry-After (times `retry_after_scale`: the lab's time scale)."""

    attempts: int = 3  # retries after the first attempt
    base_seconds: float = 0.5
    max_seconds: float = 4.0
    retry_after_scale: float = 1.0

    def delay(self, retry: int, retry_after: float, rng: random.Random) -> float:
        backoff = min(self.max_seconds, self.base_seconds * 2.0**retry)
        backoff *= 0.5 + rng.random() / 2.0
        return max(backoff, retry_after * self.retry_after_scale)


def request_payloads(
    network: str,
    host: str,
    variants: int,
    rng: random.Random,
    cards: CardSource = "test",
    merchant_prefix: str = "lab",
) -> list[bytes]:
    """Pre-serialised requests for one network (a few cards, amounts and merchants)."""
    payloads: list[bytes] = []
    numbers = cards_for(network, cards, variants, rng)
    for i in range(variants):
        body = json.dumps(
            {
                "card_number": numbers[i],
                "amount": rng.randint(100, 50_000),
                "currency": "USD",
                "merchant_id": f"{merchant_prefix}_{network}_{i}",
            },
            separators=(",", ":"),
        ).encode()
        head = (
            f"POST /v1/authorize HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        payloads.append(head + body)
    return payloads


@dataclass
class Request:
    target: int
    network: int
    payload: bytes
    sent_at: float = 0.0
    keyed: bool = False  # carries an Idempotency-Key: its caller retries
    attempt: int = 0  # 0: the first attempt, n: the n-th retry


class Connection(asyncio.Protocol):
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.inflight: Request | None = None
        self.need = -1
        self.status = 0
        self.retry_after = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.pool.connection_ready(self)

    def send(self, request: Request) -> None:
        assert self.transport is not None
        self.inflight = request
        request.sent_at = time.monotonic()
        self.need = -1
        self.transport.write(request.payload)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.inflight is not None:
            if self.need < 0:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(self.buffer[:end]).lower()
                self.status = int(head[9:12])
                marker = head.find(b"content-length:")
                length = 0
                if marker >= 0:
                    stop = head.find(b"\r\n", marker)
                    length = int(head[marker + 15 : stop if stop >= 0 else len(head)])
                self.need = end + 4 + length
                self.retry_after = _retry_after(head)
            if len(self.buffer) < self.need:
                return
            status = self.status
            declined = status < 300 and self.buffer.find(_DECLINE_MARK, 0, self.need) >= 0
            del self.buffer[: self.need]
            request, self.inflight = self.inflight, None
            outcome = _OK if status < 400 else _INVALID if status < 500 else _FAIL
            self.pool.completed(self, request, outcome, declined, status, self.retry_after)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        request, self.inflight = self.inflight, None
        self.pool.connection_lost(self, request)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


def _retry_after(head: bytes) -> float:
    """Retry-After in seconds from a lower-cased response head (0: none or not a number)."""
    marker = head.find(b"retry-after:")
    if marker < 0:
        return 0.0
    stop = head.find(b"\r\n", marker)
    try:
        return float(head[marker + 12 : stop if stop >= 0 else len(head)])
    except ValueError:
        return 0.0


@dataclass
class Pool:
    """Keep-alive connections to one target; requests queue when every connection is busy."""

    gen: Generator
    index: int
    host: str
    port: int
    max_connections: int
    idle: list[Connection] = field(default_factory=list)
    busy: set[Connection] = field(default_factory=set)
    opening: int = 0
    pending: deque[Request] = field(default_factory=deque)

    def submit(self, request: Request) -> None:
        if self.idle:
            conn = self.idle.pop()
            self.busy.add(conn)
            conn.send(request)
            return
        self.pending.append(request)
        if len(self.busy) + self.opening < self.max_connections and self.opening < len(
            self.pending
        ):
            self.opening += 1
            asyncio.get_running_loop().create_task(self._open())

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: Connection(self), self.host, self.port)
        except OSError:
            self.opening -= 1
            if not self.busy and not self.idle and not self.opening:
                # Nobody listens (the process died): what is queued fails, as at a dead endpoint.
                while self.pending:
                    self.gen.record(self.pending.popleft(), _FAIL)

    def connection_ready(self, conn: Connection) -> None:
        self.opening -= 1
        self._dispatch(conn)

    def _dispatch(self, conn: Connection) -> None:
        if self.pending:
            self.busy.add(conn)
            conn.send(self.pending.popleft())
        else:
            self.busy.discard(conn)
            self.idle.append(conn)

    def completed(
        self,
        conn: Connection,
        request: Request,
        outcome: int,
        declined: bool,
        status: int,
        retry_after: float,
    ) -> None:
        self.gen.record(request, outcome, declined, status, retry_after)
        self._dispatch(conn)

    def connection_lost(self, conn: Connection, request: Request | None) -> None:
        self.busy.discard(conn)
        if conn in self.idle:
            self.idle.remove(conn)
        if request is not None:
            self.gen.record(request, _FAIL)

    def sweep(self, now: float, timeout: float) -> None:
        for conn in list(self.busy):
            if conn.inflight is not None and now - conn.inflight.sent_at > timeout:
                conn.abort()


@dataclass
class Generator:
    config: dict[str, Any]
    rate: float = 0.0
    canary_weight: float = 0.0
    issued: int = 0
    started: float = 0.0
    scheduled_base: float = 0.0
    base_time: float = 0.0
    counts: list[int] = field(default_factory=list)
    callers: list[int] = field(default_factory=list)
    retries_waiting: int = 0
    keys_issued: int = 0
    stopping: bool = False

    def __post_init__(self) -> None:
        cfg = self.config
        self.rng = random.Random(int(cfg.get("seed", 1)))
        self.rate = float(cfg["rate"])
        mix = cfg["card_mix"]
        self.network_weights = [float(mix.get(n, 0.0)) for n in NETWORKS]
        self.counts = [0] * (len(TARGETS) * len(NETWORKS) * len(CLASSES))
        cards = cast(CardSource, cfg.get("cards", "test"))
        host = str(cfg.get("host_header", "auth-service"))
        prefix = str(cfg.get("merchant_prefix", "lab"))
        self.payloads = [request_payloads(n, host, 16, self.rng, cards, prefix) for n in NETWORKS]
        self.pools = [
            Pool(self, i, t["host"], int(t["port"]), int(cfg.get("connections", 64)))
            for i, t in enumerate(cfg["targets"])
        ]
        self.timeout = float(cfg.get("timeout_seconds", 5.0))
        self.slow_seconds = float(cfg.get("slow_seconds", 2.5))
        self.retrying = cfg.get("callers", "single") == "retrying"
        # The share of first attempts sent by retrying callers (the rest: single, no key).
        self.retrying_share = float(cfg.get("retrying_share", 1.0))
        retry = cfg.get("retry", {})
        self.retry = RetryPolicy(
            int(retry.get("attempts", 3)),
            float(retry.get("base_seconds", 0.5)),
            float(retry.get("max_seconds", 4.0)),
            float(retry.get("retry_after_scale", 1.0)),
        )
        self.key_prefix = f"{cfg.get('key_prefix', prefix)}-{int(cfg.get('seed', 1))}-".encode()
        self.callers = [0] * (len(NETWORKS) * len(CALLER_FIELDS))
        # Its own draws: retries never shift the first attempts' sequence.
        self.retry_rng = random.Random(int(cfg.get("seed", 1)) + 1)

    def record(
        self,
        request: Request,
        outcome: int,
        declined: bool = False,
        status: int = 0,
        retry_after: float = 0.0,
    ) -> None:
        counts = self.counts
        counts[counter_index(request.target, request.network, outcome)] += 1
        if outcome == _OK:
            if declined:
                counts[counter_index(request.target, request.network, _DECLINED)] += 1
            if time.monotonic() - request.sent_at > self.slow_seconds:
                counts[counter_index(request.target, request.network, _SLOW)] += 1
        if request.keyed:
            self._follow_up(request, outcome, declined, status, retry_after)

    def _follow_up(
        self, request: Request, outcome: int, declined: bool, status: int, retry_after: float
    ) -> None:
        """What the caller does with the answer: done, give up, or retry with the same key."""
        callers, network = self.callers, request.network
        if outcome == _OK:
            callers[caller_index(network, _SERVED)] += 1
            if request.attempt:
                callers[caller_index(network, _SERVED_AFTER_RETRY)] += 1
            if not declined:
                callers[caller_index(network, _APPROVED)] += 1
            return
        retryable = outcome == _FAIL or status == _CONFLICT
        if not retryable or request.attempt >= self.retry.attempts:
            callers[caller_index(network, _GAVE_UP)] += 1
            return
        delay = self.retry.delay(request.attempt, retry_after, self.retry_rng)
        self.retries_waiting += 1
        asyncio.get_running_loop().call_later(delay, self._retry, request)

    def _retry(self, previous: Request) -> None:
        """Send the same request (same key and body) again, wherever the weight sends it now."""
        self.retries_waiting -= 1
        weight = self.canary_weight / 100.0
        target = 1 if weight > 0 and self.retry_rng.random() < weight else 0
        request = Request(
            target, previous.network, previous.payload, keyed=True, attempt=previous.attempt + 1
        )
        self.callers[caller_index(previous.network, _RETRIES)] += 1
        self.pools[target].submit(request)

    def set_rate(self, rate: float, now: float) -> None:
        # Keep the schedule continuous: requests due so far stay due at the old rate.
        self.scheduled_base = self.scheduled(now)
        self.base_time = now
        self.rate = rate

    def scheduled(self, now: float) -> float:
        return self.scheduled_base + self.rate * (now - self.base_time)

    def issue(self, count: int) -> None:
        rng = self.rng
        networks = rng.choices(range(len(NETWORKS)), self.network_weights, k=count)
        weight = self.canary_weight / 100.0
        for network in networks:
            target = 1 if weight > 0 and rng.random() < weight else 0
            payloads = self.payloads[network]
            payload = payloads[rng.randrange(len(payloads))]
            if self.retrying and (
                self.retrying_share >= 1.0 or self.retry_rng.random() < self.retrying_share
            ):
                self.keys_issued += 1
                key = self.key_prefix + str(self.keys_issued).encode()
                request = Request(target, network, with_idempotency_key(payload, key), keyed=True)
                self.callers[caller_index(network, _KEYS)] += 1
            else:
                request = Request(target, network, payload)
            self.pools[target].submit(request)
        self.issued += count

    def snapshot(self, now: float) -> dict[str, Any]:
        return {
            "t": now,
            "issued": self.issued,
            "scheduled": int(self.scheduled(now)),
            "pending": sum(len(p.pending) for p in self.pools),
            "counts": self.counts,
            "callers": self.callers,
            "unanswered": self.unanswered(),
        }

    def unanswered(self) -> list[int]:
        """Keyed requests sent and not answered yet, per network: the network may have
        authorized them, the caller cannot know (so they are no double authorization)."""
        found = [0] * len(NETWORKS)
        for pool in self.pools:
            for conn in pool.busy:
                request = conn.inflight
                if request is not None and request.keyed:
                    found[request.network] += 1
        return found


async def _ticker(gen: Generator, tick: float) -> None:
    while not gen.stopping:
        now = time.monotonic()
        due = int(gen.scheduled(now)) - gen.issued
        if due > 0:
            gen.issue(due)
        await asyncio.sleep(tick)


async def _reporter(gen: Generator, every: float, emit: Callable[[dict[str, Any]], None]) -> None:
    while not gen.stopping:
        now = time.monotonic()
        for pool in gen.pools:
            pool.sweep(now, gen.timeout)
        emit(gen.snapshot(now))
        await asyncio.sleep(every)


def write_json_line(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, separators=(",", ":")) + "\n")
    sys.stdout.flush()


async def _commands(gen: Generator) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while not gen.stopping:
        line = await reader.readline()
        if not line:
            gen.stopping = True
            break
        command = json.loads(line)
        now = time.monotonic()
        if "canary_weight" in command:
            gen.canary_weight = float(command["canary_weight"])
        if "rate" in command:
            gen.set_rate(float(command["rate"]), now)
        if command.get("stop"):
            gen.stopping = True


async def drive(
    gen: Generator,
    until: Awaitable[object],
    emit: Callable[[dict[str, Any]], None],
    report_seconds: float,
    tick_seconds: float = 0.002,
) -> None:
    """Send at the generator's rate until `until` finishes, drain (bounded), emit final counts."""
    gen.base_time = time.monotonic()
    tasks = [
        asyncio.create_task(_ticker(gen, tick_seconds)),
        asyncio.create_task(_reporter(gen, report_seconds, emit)),
    ]
    await until
    gen.stopping = True
    # Let in-flight requests and waiting retries finish (bounded), then report the final counts.
    deadline = time.monotonic() + min(gen.timeout, 2.0)
    while time.monotonic() < deadline and (
        gen.retries_waiting or any(p.busy or p.pending for p in gen.pools)
    ):
        await asyncio.sleep(0.01)
    for task in tasks:
        task.cancel()
    emit({**gen.snapshot(time.monotonic()), "final": True})


async def run(config: dict[str, Any]) -> None:
    """The lab's front end: commands on stdin, counters as JSON lines on stdout."""
    gen = Generator(config)
    gen.canary_weight = float(config.get("canary_weight", 0.0))
    await drive(
        gen,
        _commands(gen),
        write_json_line,
        float(config.get("report_seconds", 0.1)),
        float(config.get("tick_seconds", 0.002)),
    )


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where it is installed (it is, in the image and the workspace), else asyncio."""
    gc.set_threshold(100_000, 50, 100)  # few cycles here; rare collections mean less jitter
    try:
        import uvloop

        uvloop.run(main)
    except ImportError:
        asyncio.run(main)


def main() -> None:
    run_loop(run(json.loads(sys.argv[1])))
