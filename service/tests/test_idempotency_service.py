"""The authorization flow on the shared store: in-process runtimes ("pods") on a real redis-server.

Each runtime built on one tmp_path shares the secrets, so two of them are two pods (or a stable
and a canary) sharing one store. Failure cases use real sockets: a closed port (refused) and a
listener that never answers (slow).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from paystream_auth.config import ConfigError
from paystream_auth.problems import Problem
from paystream_auth.runtime import Runtime
from paystream_auth.service import Reply
from paystream_ops.processes import free_port
from paystream_ops.redis_process import RedisServerProcess, running_redis

from .cardgen import VISA
from .inprocess import count, make_runtime, request_body, samples, send, status


def shared(tmp_path: Path, url: str, **env: str) -> Runtime:
    settings = {
        "PAYSTREAM_IDEMPOTENCY_STORE": "redis",
        "PAYSTREAM_IDEMPOTENCY_STORE_URL": url,
        "PAYSTREAM_ENVIRONMENT": f"t{time.monotonic_ns()}",  # an empty namespace by default
        **env,
    }
    runtime, _ = make_runtime(tmp_path, **settings)
    return runtime


def approvals(runtime: Runtime) -> float:
    """Visa answers (approved or declined), replays included."""
    exposition = runtime.metrics.exposition()
    return count(exposition, "visa", "approved") + count(exposition, "visa", "declined")


def test_a_retry_on_another_pod_replays_the_first_answer(
    tmp_path: Path, redis_server: RedisServerProcess
) -> None:
    env = f"t{time.monotonic_ns()}"
    stable = shared(tmp_path, redis_server.url, PAYSTREAM_ENVIRONMENT=env)
    canary = shared(tmp_path, redis_server.url, PAYSTREAM_ENVIRONMENT=env, PAYSTREAM_VERSION="2")

    async def main() -> list[Reply | Problem]:
        await stable.prepare()
        await canary.prepare()
        first = await send(stable, request_body(VISA), "order-1")
        again = await send(canary, request_body(VISA), "order-1")
        other_body = await send(canary, request_body(VISA, amount=1), "order-1")
        return [first, again, other_body]

    first, again, other_body = asyncio.run(main())
    assert isinstance(first, Reply) and isinstance(again, Reply)
    assert again.body == first.body and again.headers == {"Idempotent-Replayed": "true"}
    assert isinstance(other_body, Problem) and other_body.status == 422
    answer = json.loads(first.body)  # no card number, nor a field that could carry one
    assert VISA not in first.body.decode() and not any("card" in name for name in answer)


def test_keys_are_scoped_per_merchant_and_per_environment(
    tmp_path: Path, redis_server: RedisServerProcess
) -> None:
    suffix = str(time.monotonic_ns())
    staging = shared(tmp_path, redis_server.url, PAYSTREAM_ENVIRONMENT=f"stg-{suffix}")
    prod = shared(tmp_path, redis_server.url, PAYSTREAM_ENVIRONMENT=f"prd-{suffix}")

    async def main() -> list[int]:
        await staging.prepare()
        await prod.prepare()
        answers = [
            await send(staging, request_body(VISA, merchant_id="m_a"), "shared-key"),
            await send(staging, request_body(VISA, merchant_id="m_b"), "shared-key"),
            await send(prod, request_body(VISA, merchant_id="m_a"), "shared-key"),
        ]
        return [status(a) for a in answers]

    # Merchant B's reuse of A's key is its own key (not A's 422); prod never sees staging's key.
    assert asyncio.run(main()) == [200, 200, 200]
    assert approvals(staging) == 2 and approvals(prod) == 1


def test_a_key_in_flight_gets_a_409_at_once_not_a_wait(
    tmp_path: Path, redis_server: RedisServerProcess
) -> None:
    runtime = shared(
        tmp_path,
        redis_server.url,
        PAYSTREAM_LATENCY_SCALE="1",
        PAYSTREAM_FAULTS='{"visa": {"added_latency_ms": 400}}',
        # The store's deadline is not what this proves: a busy test host must not turn a claim
        # into a 503 (test_an_unreachable_or_slow_store_is_a_503... covers the deadline).
        PAYSTREAM_IDEMPOTENCY_STORE_TIMEOUT_MS="2000",
    )

    async def main() -> tuple[list[Reply | Problem], bool]:
        await runtime.prepare()
        first = asyncio.create_task(send(runtime, request_body(VISA), "slow-1"))
        await asyncio.sleep(0.05)
        retries = await asyncio.gather(
            *(send(runtime, request_body(VISA), "slow-1") for _ in range(5))
        )
        answered_while_in_flight = not first.done()
        return [await first, *retries], answered_while_in_flight

    (first, *retries), answered_while_in_flight = asyncio.run(main())
    assert status(first) == 200
    assert [status(r) for r in retries] == [409] * 5
    assert answered_while_in_flight  # at once: before the first call's 400 ms ended
    problem = retries[0]
    assert isinstance(problem, Problem)
    assert (problem.slug, problem.headers["Retry-After"]) == ("idempotency-key-in-flight", "2")
    assert approvals(runtime) == 1


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a store that hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@pytest.mark.parametrize("kind", ["refused", "silent"])
def test_an_unreachable_or_slow_store_is_a_503_and_authorizes_nothing(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    port = request.getfixturevalue("silent_port") if kind == "silent" else free_port()
    runtime = shared(
        tmp_path,
        f"redis://127.0.0.1:{port}/0",
        PAYSTREAM_IDEMPOTENCY_STORE_TIMEOUT_MS="50",
        PAYSTREAM_IDEMPOTENCY_STORE_BREAKER_THRESHOLD="3",
    )

    async def main() -> tuple[list[Reply | Problem], list[int], float]:
        await runtime.prepare()
        started = time.perf_counter()
        keyed = [await send(runtime, request_body(VISA), f"k{i}") for i in range(6)]
        elapsed = time.perf_counter() - started
        unkeyed = [status(await send(runtime, request_body(VISA), None)) for _ in range(3)]
        return keyed, unkeyed, elapsed

    keyed, unkeyed, elapsed = asyncio.run(main())
    assert all(isinstance(a, Problem) and a.status == 503 for a in keyed)
    first = keyed[0]
    assert isinstance(first, Problem)
    assert first.slug == "idempotency-store-unavailable" and "Retry-After" in first.headers
    assert unkeyed == [200, 200, 200]
    assert approvals(runtime) == 3  # only the requests without a key were authorized
    assert elapsed < 3 * 0.05 + 1.0  # 3 timeouts, then the open circuit answers at once
    exposition = runtime.metrics.exposition()
    calls = samples(exposition, "paystream_auth_idempotency_store_operations_total")
    failed = "timeout" if kind == "silent" else "error"
    assert calls[(("operation", "claim"), ("result", failed))] == 3
    assert calls[(("operation", "claim"), ("result", "rejected"))] == 3
    rejected = samples(exposition, "paystream_auth_idempotency_rejections_total")
    assert rejected[(("reason", "store_unavailable"),)] == 6


def test_the_shared_store_needs_the_shared_secret(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "idempotency-hmac-key").write_text("")
    with pytest.raises(ConfigError, match=r"idempotency-hmac-key: .* at least 16 bytes"):
        shared(tmp_path, "redis://127.0.0.1:1/0")


def test_a_stored_answer_holds_no_card_number(
    tmp_path: Path, redis_server: RedisServerProcess
) -> None:
    environment = f"card-{time.monotonic_ns()}"
    runtime = shared(tmp_path, redis_server.url, PAYSTREAM_ENVIRONMENT=environment)

    async def main() -> list[bytes]:
        await runtime.prepare()
        await send(runtime, request_body(VISA), "order-card")
        assert runtime.shared_store is not None
        client = runtime.shared_store.client
        keys: list[bytes] = await client.keys(f"paystream:{environment}:*")
        return [*keys, *[await client.get(k) for k in keys]]

    found = asyncio.run(main())
    assert len(found) == 2
    assert found[0].startswith(f"paystream:{environment}:idempotency:".encode())
    assert found[1].startswith(b"1D")  # format 1, done
    assert all(VISA.encode() not in item and b"order-card" not in item for item in found)


def test_an_answer_the_store_missed_is_stored_once_it_is_back(tmp_path: Path) -> None:
    """The store crashes while a card is being authorized: the caller still gets its answer,
    and the answer reaches the store after its restart, so a retry replays it."""
    data_dir = tmp_path / "redis-data"
    data_dir.mkdir()
    with running_redis(tmp_path / "redis.log", data_dir) as server:
        runtime = shared(
            tmp_path,
            server.url,
            PAYSTREAM_LATENCY_SCALE="1",
            PAYSTREAM_FAULTS='{"visa": {"added_latency_ms": 300}}',
            PAYSTREAM_IDEMPOTENCY_STORE_BREAKER_RESET_SECONDS="0.1",
        )

        async def main() -> list[Reply | Problem]:
            await runtime.prepare()
            first = asyncio.create_task(send(runtime, request_body(VISA), "crash-1"))
            await asyncio.sleep(0.1)  # claimed, now waiting on the network
            server.kill()
            answered = await first
            await asyncio.to_thread(server.start)
            await asyncio.sleep(1.0)  # the late complete retries with backoff
            return [answered, await send(runtime, request_body(VISA), "crash-1")]

        first, retry = asyncio.run(main())
    assert isinstance(first, Reply) and first.status_code == 200
    assert isinstance(retry, Reply) and retry.body == first.body
    assert retry.headers == {"Idempotent-Replayed": "true"}  # same transaction, not a new one


def test_the_store_password_comes_from_its_file_and_a_rotation_needs_no_restart(
    tmp_path: Path,
) -> None:
    """The cluster's store requires AUTH: the password is the file External Secrets writes,
    read for every new connection; a wrong one is a 503 (nothing authorized), never a 500."""
    (tmp_path / "secrets").mkdir()
    password_file = tmp_path / "secrets" / "idempotency-store-password"
    password_file.write_text("first-password-0123456789\n")
    with running_redis(tmp_path / "redis.log", password="first-password-0123456789") as server:
        runtime = shared(tmp_path, server.url, PAYSTREAM_IDEMPOTENCY_STORE_BREAKER_THRESHOLD="100")

        async def main() -> list[int]:
            await runtime.prepare()
            assert runtime.shared_store is not None
            client = runtime.shared_store.client
            answers = [await send(runtime, request_body(VISA), "pw-1")]
            # Rotation: the server takes the new password, the file follows; then every pooled
            # connection is dropped, as after a store restart.
            await client.config_set("requirepass", "second-password-0123456789")
            password_file.write_text("second-password-0123456789\n")
            await client.connection_pool.disconnect()
            answers.append(await send(runtime, request_body(VISA), "pw-2"))
            password_file.write_text("wrong-password-0123456789\n")
            await client.connection_pool.disconnect()
            answers.append(await send(runtime, request_body(VISA), "pw-3"))
            return [status(a) for a in answers]

        assert asyncio.run(main()) == [200, 200, 503]
    assert approvals(runtime) == 2
