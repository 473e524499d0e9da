"""Two real granian processes (stable and canary) sharing one real redis-server.

Exactly one authorization per key is checked against the services' own request logs: every
non-replayed approval or decline names a transaction id, and each key's answers must carry one
transaction id, different keys different ones.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from paystream_ops.processes import ServiceProcess
from paystream_ops.redis_process import RedisServerProcess, running_redis

from .cardgen import VISA
from .conftest import StartService
from .inprocess import request_body

ANSWERED = ("approved", "declined")


def shared_secrets(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("admin-token", "processor-api-key", "idempotency-hmac-key"):
        (directory / name).write_text(secrets.token_urlsafe(32))
    return directory


@dataclass
class Pair:
    stable: ServiceProcess
    canary: ServiceProcess
    logs: list[Path]

    @property
    def urls(self) -> list[str]:
        return [self.stable.base_url, self.canary.base_url]


def start_pair(start_service: StartService, tmp_path: Path, redis_url: str, **extra: str) -> Pair:
    secrets_dir = shared_secrets(tmp_path / "secrets")
    common = {
        "PAYSTREAM_SECRETS_DIR": str(secrets_dir),
        "PAYSTREAM_IDEMPOTENCY_STORE": "redis",
        "PAYSTREAM_IDEMPOTENCY_STORE_URL": redis_url,
        "PAYSTREAM_ENVIRONMENT": f"t{time.monotonic_ns()}",
        "PAYSTREAM_LATENCY_SCALE": "0.3",
        **extra,
    }
    stable = start_service({**common, "PAYSTREAM_VERSION": "stable"})
    canary = start_service({**common, "PAYSTREAM_VERSION": "canary"})
    logs = [tmp_path / "service-0" / "service.log", tmp_path / "service-1" / "service.log"]
    return Pair(stable, canary, logs)


def authorized_transactions(pair: Pair) -> list[str]:
    """Every transaction the two services authorized (replays excluded); stops them first."""
    pair.stable.stop()
    pair.canary.stop()
    found: list[str] = []
    for log in pair.logs:
        for line in log.read_text().splitlines():
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            if (
                record.get("event") == "authorize"
                and record["outcome"] in ANSWERED
                and not record["idempotent_replay"]
            ):
                found.append(record["transaction_id"])
    return found


@dataclass
class Ledger:
    """What the callers saw: per key, the transaction ids of 200 answers; every status."""

    answers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # (sent at, status, problem slug)
    statuses: list[tuple[float, int, str]] = field(default_factory=list)

    def note(self, key: str, response: httpx.Response, sent: float) -> None:
        slug = ""
        if response.status_code == 200:
            self.answers[key].add(response.json()["transaction_id"])
        elif response.headers.get("content-type", "").startswith("application/problem+json"):
            slug = response.json()["type"].rsplit(":", 1)[-1]
        self.statuses.append((sent, response.status_code, slug))


def assert_one_authorization_per_key(ledger: Ledger, authorized: list[str]) -> None:
    assert all(len(ids) == 1 for ids in ledger.answers.values()), "a key got two transactions"
    seen = [next(iter(ids)) for ids in ledger.answers.values()]
    assert len(authorized) == len(set(authorized)) == len(seen)
    assert set(authorized) == set(seen)


async def post(client: httpx.AsyncClient, url: str, key: str, body: bytes) -> httpx.Response:
    return await client.post(
        f"{url}/v1/authorize",
        content=body,
        headers={"content-type": "application/json", "idempotency-key": key},
    )


async def caller(
    client: httpx.AsyncClient, urls: list[str], key: str, ledger: Ledger, deadline: float
) -> None:
    """A real caller: retries with the same key on 409/5xx, on either version, until a 200."""
    attempt = 0
    while time.monotonic() < deadline:
        sent = time.monotonic()
        response = await post(client, urls[attempt % 2], key, request_body(VISA))
        ledger.note(key, response, sent)
        if response.status_code == 200:
            return
        attempt += 1
        await asyncio.sleep(0.05)


def test_concurrent_and_sequential_retries_across_versions_authorize_once(
    start_service: StartService, tmp_path: Path, redis_server: RedisServerProcess
) -> None:
    # A generous store deadline: this test is about dedup, on a machine that may be busy.
    pair = start_pair(
        start_service, tmp_path, redis_server.url, PAYSTREAM_IDEMPOTENCY_STORE_TIMEOUT_MS="2000"
    )
    keys = [f"order-{i}" for i in range(24)]
    ledger = Ledger()

    async def main() -> None:
        limits = httpx.Limits(max_keepalive_connections=0)  # a new connection every time
        async with httpx.AsyncClient(timeout=10, limits=limits) as client:
            # Four racing copies of each key, split between stable and canary.
            racing = [
                post(client, pair.urls[copy % 2], key, request_body(VISA))
                for key in keys
                for copy in range(4)
            ]
            sent = time.monotonic()
            for key, response in zip(
                [k for k in keys for _ in range(4)], await asyncio.gather(*racing), strict=True
            ):
                ledger.note(key, response, sent)
            deadline = time.monotonic() + 10
            await asyncio.gather(*(caller(client, pair.urls, k, ledger, deadline) for k in keys))
            for key in keys:  # then sequential retries, each on the other version
                for url in pair.urls:
                    sent = time.monotonic()
                    ledger.note(key, await post(client, url, key, request_body(VISA)), sent)

    asyncio.run(main())
    statuses = {(status, slug) for _, status, slug in ledger.statuses}
    assert statuses <= {(200, ""), (409, "idempotency-key-in-flight")}, statuses
    assert (409, "idempotency-key-in-flight") in statuses  # the races did meet in flight
    assert set(ledger.answers) == set(keys)
    assert_one_authorization_per_key(ledger, authorized_transactions(pair))


def test_a_store_crash_under_load_is_503s_then_recovery_without_double_authorizations(
    start_service: StartService, tmp_path: Path
) -> None:
    data_dir = tmp_path / "redis-data"
    data_dir.mkdir()
    with running_redis(tmp_path / "redis.log", data_dir) as server:
        pair = start_pair(
            start_service,
            tmp_path,
            server.url,
            PAYSTREAM_IDEMPOTENCY_STORE_TIMEOUT_MS="500",  # a busy machine is not an outage
            PAYSTREAM_IDEMPOTENCY_STORE_BREAKER_RESET_SECONDS="0.3",
            # A claim stranded by the crash blocks its key (409) this long: keep the test short.
            PAYSTREAM_IDEMPOTENCY_LEASE_SECONDS="2.5",
        )
        ledger = Ledger()
        killed_at: list[float] = []
        final: list[int] = []

        async def chaos() -> None:
            await asyncio.sleep(0.7)
            server.kill()
            killed_at.append(time.monotonic())
            await asyncio.sleep(1.0)
            await asyncio.to_thread(server.start)

        async def main() -> list[str]:
            keys: list[str] = []
            async with httpx.AsyncClient(timeout=10) as client:
                deadline = time.monotonic() + 12
                chaos_task = asyncio.create_task(chaos())
                callers = []
                for i in range(80):  # a steady stream of new payments, each retried to a 200
                    keys.append(f"pay-{i}")
                    callers.append(
                        asyncio.create_task(caller(client, pair.urls, keys[-1], ledger, deadline))
                    )
                    await asyncio.sleep(0.025)
                await chaos_task
                await asyncio.gather(*callers)
                for key in keys:  # every answered key, retried once more after the restart
                    sent = time.monotonic()
                    response = await post(client, pair.urls[1], key, request_body(VISA))
                    ledger.note(key, response, sent)
                    final.append(response.status_code)
            return keys

        keys = asyncio.run(main())
        still_running = [
            s.proc is not None and s.proc.poll() is None for s in (pair.stable, pair.canary)
        ]
        authorized = authorized_transactions(pair)
    problems = {(s, slug) for _, s, slug in ledger.statuses if s != 200}
    assert problems <= {(503, "idempotency-store-unavailable"), (409, "idempotency-key-in-flight")}
    unavailable = [t for t, s, _ in ledger.statuses if s == 503]
    assert unavailable and min(unavailable) >= killed_at[0] - 0.5  # 503s came with the crash
    # Recovered without a restart: the same processes answer, no 503 any more; a key whose claim
    # the crash stranded is a 409 until its lease ends, never a second authorization.
    assert still_running == [True, True]
    assert 200 in final and set(final) <= {200, 409}
    assert set(ledger.answers) == set(keys)
    assert_one_authorization_per_key(ledger, authorized)


HOSTILE_KEYS: dict[str, bytes] = {
    "empty": b"",
    "ten-kib": b"k" * 10_240,
    "non-ascii": "clé-ü-€".encode(),
    "control": b"order\x01\x7f",
    "tab": b"order\tone",
}


def raw_post(port: int, key: bytes) -> tuple[int, bytes, bytes]:
    """One request over a raw socket: header bytes exactly as given."""
    body = request_body(VISA)
    head = (
        b"POST /v1/authorize HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        + b"idempotency-key: " + key + b"\r\n"
        + b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n"
    )  # fmt: skip
    with socket.create_connection(("127.0.0.1", port), 5) as sock:
        sock.sendall(head + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    headers, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), headers.lower(), payload


@pytest.fixture(scope="module")
def one_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    tmp = tmp_path_factory.mktemp("hostile")
    with running_redis(tmp / "redis.log") as server:
        service = ServiceProcess(
            env={
                "PAYSTREAM_SECRETS_DIR": str(shared_secrets(tmp / "secrets")),
                "PAYSTREAM_IDEMPOTENCY_STORE": "redis",
                "PAYSTREAM_IDEMPOTENCY_STORE_URL": server.url,
                "PAYSTREAM_LATENCY_SCALE": "0",
            },
            log_path=tmp / "service.log",
        )
        service.start()
        try:
            yield service
        finally:
            service.stop()


@pytest.mark.parametrize("name", sorted(HOSTILE_KEYS))
def test_a_hostile_key_is_a_client_problem_never_a_500(
    one_service: ServiceProcess, name: str
) -> None:
    status, headers, payload = raw_post(one_service.port, HOSTILE_KEYS[name])
    assert status in (400, 422, 431), (status, payload[:200])
    if b"content-type: application/problem+json" in headers:  # the service's own answer
        assert status == 422 and json.loads(payload)["field"] == "Idempotency-Key"
    else:  # refused by granian's HTTP parser before the app (control characters): no body
        assert status == 400 and payload == b"", (name, status, payload[:200])
        assert name == "control"


def test_a_visible_ascii_key_at_the_limit_is_accepted(one_service: ServiceProcess) -> None:
    """The negative of the hostile cases: the same path accepts a valid 255-character key."""
    status, _, payload = raw_post(one_service.port, b"k" * 255)
    assert status == 200, payload[:200]
    again = raw_post(one_service.port, b"k" * 255)
    assert again[0] == 200 and b"idempotent-replayed: true" in again[1]
    assert json.loads(again[2])["transaction_id"] == json.loads(payload)["transaction_id"]


def test_a_timeout_at_the_canary_is_reversed_before_a_retry_on_stable_authorizes(
    start_service: StartService, tmp_path: Path, redis_server: RedisServerProcess
) -> None:
    """The incident: the canary times out (the network authorized it all the same), the caller
    retries on stable with the same key. The retry waits (409) until the canary's reversal has
    released the hold, then authorizes once: never two holds on the card."""
    secrets_dir = shared_secrets(tmp_path / "secrets")
    common = {
        "PAYSTREAM_SECRETS_DIR": str(secrets_dir),
        "PAYSTREAM_IDEMPOTENCY_STORE": "redis",
        "PAYSTREAM_IDEMPOTENCY_STORE_URL": redis_server.url,
        "PAYSTREAM_ENVIRONMENT": f"t{time.monotonic_ns()}",
        "PAYSTREAM_IDEMPOTENCY_STORE_TIMEOUT_MS": "2000",
        "PAYSTREAM_PROCESSOR_DEADLINE_MS": "200",
    }
    faults = {"visa": {"timeout_rate": 1, "timeout_authorized_rate": 1, "reversal_latency_ms": 400}}
    stable = start_service({**common, "PAYSTREAM_VERSION": "stable"})
    canary = start_service(
        {**common, "PAYSTREAM_VERSION": "canary", "PAYSTREAM_FAULTS": json.dumps(faults)}
    )
    pair = Pair(stable, canary, [tmp_path / f"service-{i}" / "service.log" for i in (0, 1)])
    ledger = Ledger()

    async def main() -> bytes:
        async with httpx.AsyncClient(timeout=10) as client:
            sent = time.monotonic()
            ledger.note("order-t", await post(client, canary.base_url, "order-t", body), sent)
            await caller(client, [stable.base_url] * 2, "order-t", ledger, time.monotonic() + 5)
            return (await client.get(f"{canary.base_url}/metrics")).content

    body = request_body(VISA)
    exposition = asyncio.run(main()).decode()
    seen = [(status, slug) for _, status, slug in ledger.statuses]
    assert seen[0] == (504, "processor-timeout")
    assert (409, "idempotency-key-reversing") in seen[1:-1]
    assert seen[-1] == (200, "")
    assert 'paystream_auth_reversals_total{network="visa",result="reversed"} 1.0' in exposition
    assert 'paystream_auth_unreversed_holds_total{network="visa"} 0.0' in exposition
    assert_one_authorization_per_key(ledger, authorized_transactions(pair))
