"""Retrying callers (`callers: retrying`) against two in-process HTTP/1.1 servers on loopback:
every request carries a key, a failed one is retried with the same key and body, bounded, after
the backoff or Retry-After, to either target by weight; the schedule of first attempts is kept."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from paystream_loadgen.engine import CALLER_FIELDS, NETWORKS, Generator, caller_index, drive

MIX = {"visa": 1.0}


@dataclass
class Network:
    """What the stand-in service did per key: its answers, and the network's authorizations."""

    answer: Callable[[Network, str], tuple[int, bytes, dict[str, str]]]
    attempts: Counter[str] = field(default_factory=Counter)
    authorized: Counter[str] = field(default_factory=Counter)
    bodies: dict[str, set[bytes]] = field(default_factory=dict)
    roles: Counter[str] = field(default_factory=Counter)


def _approve(network: Network, key: str) -> tuple[int, bytes, dict[str, str]]:
    network.authorized[key] += 1
    return 200, b'{"status":"approved"}', {}


def timeout_then_in_flight_then_served(
    network: Network, key: str
) -> tuple[int, bytes, dict[str, str]]:
    """A service that keeps its keys: 504 (reversed, nothing held), 409 in flight, then served."""
    attempt = network.attempts[key]
    if attempt == 1:
        return 504, b'{"type":"processor-timeout"}', {}
    if attempt == 2:
        return 409, b'{"type":"idempotency-key-in-flight"}', {"Retry-After": "1"}
    return _approve(network, key)


def forgets_its_keys(network: Network, key: str) -> tuple[int, bytes, dict[str, str]]:
    """A broken store: the first call was authorized at the network but timed out; the retry
    authorizes again."""
    network.authorized[key] += 1
    if network.attempts[key] == 1:
        return 504, b'{"type":"processor-timeout"}', {}
    return 200, b'{"status":"approved"}', {}


def always(status: int) -> Callable[[Network, str], tuple[int, bytes, dict[str, str]]]:
    def answer(network: Network, key: str) -> tuple[int, bytes, dict[str, str]]:
        return status, b"{}", {}

    return answer


async def _serve(network: Network, role: str) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode().lower()
                lines = dict(line.split(": ", 1) for line in head.split("\r\n")[1:] if ": " in line)
                body = await reader.readexactly(int(lines["content-length"]))
                key = lines.get("idempotency-key", "")
                network.attempts[key] += 1
                network.bodies.setdefault(key, set()).add(body)
                network.roles[role] += 1
                status, payload, headers = network.answer(network, key)
                extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Length: {len(payload)}\r\n{extra}\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _run(
    answer: Callable[[Network, str], tuple[int, bytes, dict[str, str]]],
    callers: str = "retrying",
    seconds: float = 0.5,
    rate: float = 200.0,
    share: float = 1.0,
) -> tuple[Generator, Network]:
    network = Network(answer)

    async def main() -> Generator:
        servers = [await _serve(network, role) for role in ("stable", "canary")]
        config: dict[str, Any] = {
            "targets": [
                {"host": "127.0.0.1", "port": s.sockets[0].getsockname()[1]} for s in servers
            ],
            "rate": rate,
            "card_mix": MIX,
            "seed": 3,
            "timeout_seconds": 2.0,
            "callers": callers,
            "retrying_share": share,
            "retry": {"base_seconds": 0.01, "max_seconds": 0.05, "retry_after_scale": 0.02},
        }
        gen = Generator(config)
        gen.canary_weight = 50.0
        await drive(gen, asyncio.sleep(seconds), lambda _: None, 0.05)
        for server in servers:
            server.close()
        return gen

    return asyncio.run(main()), network


def _callers(gen: Generator) -> dict[str, int]:
    visa = NETWORKS.index("visa")
    return {name: gen.callers[caller_index(visa, i)] for i, name in enumerate(CALLER_FIELDS)}


def test_a_timed_out_then_in_flight_key_is_retried_with_the_same_key_and_body_until_served() -> (
    None
):
    gen, network = _run(timeout_then_in_flight_then_served)
    callers = _callers(gen)
    keys = callers["keys"]
    assert keys == gen.issued > 0  # one key per first attempt, retries are not first attempts
    assert len(network.attempts) == keys  # every key distinct
    assert all(len(bodies) == 1 for bodies in network.bodies.values())  # the same body each time
    assert set(network.attempts.values()) == {3}  # 504, 409, then served: two retries each
    assert callers["retries"] == 2 * keys
    assert callers["served"] == callers["served_after_retry"] == callers["approved"] == keys
    assert callers["gave_up"] == 0
    assert sum(network.authorized.values()) == callers["approved"]  # one authorization per key
    assert network.roles["stable"] > 0 and network.roles["canary"] > 0  # retries follow weight
    assert gen.unanswered() == [0] * len(NETWORKS)  # drained: every outcome known


def test_retries_are_bounded_and_a_client_error_is_not_retried() -> None:
    gen, network = _run(always(503))
    callers = _callers(gen)
    assert set(network.attempts.values()) == {4}  # the first attempt and three retries
    assert callers["retries"] == 3 * callers["keys"]
    assert callers["gave_up"] == callers["keys"] > 0 and callers["served"] == 0
    gen, network = _run(always(422))
    callers = _callers(gen)
    assert set(network.attempts.values()) == {1}
    assert callers["retries"] == 0 and callers["gave_up"] == callers["keys"] > 0


def test_a_store_that_forgets_keys_shows_as_more_network_authorizations_than_approved_keys() -> (
    None
):
    gen, network = _run(forgets_its_keys)
    callers = _callers(gen)
    # The caller saw one approval per key; the network authorized each key twice.
    assert callers["approved"] == callers["keys"] > 0
    assert sum(network.authorized.values()) - callers["approved"] == callers["keys"]


def test_single_callers_send_no_key_and_never_retry() -> None:
    gen, network = _run(always(503), callers="single")
    assert set(network.attempts) == {""}  # no Idempotency-Key header at all
    assert sum(network.attempts.values()) == gen.issued > 0
    assert not any(gen.callers)


def test_retries_do_not_slow_the_schedule() -> None:
    # Every request fails and is retried three times: four requests per key, and still the
    # first attempts keep the rate.
    gen, network = _run(always(503), seconds=1.0, rate=400.0)
    assert abs(gen.issued - 400) <= 20
    assert sum(network.attempts.values()) == 4 * gen.issued


def test_a_share_of_retrying_callers_keys_only_that_share() -> None:
    gen, network = _run(always(503), rate=400.0, share=0.25)
    keys = _callers(gen)["keys"]
    assert keys == len(network.attempts) - 1  # every keyed customer, and the keyless ones
    assert abs(keys / gen.issued - 0.25) < 0.08
    assert network.attempts[""] == gen.issued - keys  # the rest: once each, never retried
