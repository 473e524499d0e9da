"""The shared idempotency store on a Redis-protocol server (Valkey or Redis), via redis.asyncio.

One record per (merchant, key) under `paystream:<environment>:idempotency:<hmac>`, so staging
and prod never meet in one server. The value is `1` (format version), a state byte (`P` claimed,
`R` held for a reversal, `D` done), the 32-byte fingerprint, then (when done) the stored answer.
Each operation is one Lua script, atomic on the server: a claim is a GET and a SET PX in one
step, so no two pods or versions both get `Fresh`. A claim lives `lease_seconds`, an answer
`ttl_seconds`, a reversal's hold the seconds it names.

Every call has its own deadline and a circuit breaker; a failure raises `StoreUnavailable` and
the service answers 503 (docs/decisions/0056-idempotency-store-failure-is-a-503.md). So does a
record this version cannot read, without counting against the breaker
(docs/decisions/0134-an-unreadable-idempotency-record-is-a-503.md).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, TypeVar

import msgspec
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.credentials import CredentialProvider
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from paystream_auth.idempotency import (
    Claim,
    Fresh,
    InFlight,
    Mismatch,
    Replay,
    Reversing,
    StoredResponse,
    StoreUnavailable,
)
from paystream_auth.reversal import UNRESOLVED

FORMAT: Final = b"1"
BREAKER_NAME: Final = "idempotency-store"
# In PAYSTREAM_SECRETS_DIR, from Vault through External Secrets like the other secrets.
STORE_PASSWORD_FILE: Final = "idempotency-store-password"  # noqa: S105 (a file name)

# KEYS[1] record; ARGV[1] the claimed value (1P..fp), ARGV[2] lease ms, ARGV[3] fingerprint.
# Returns {0} fresh, {1, answer} replay, {2} mismatch, {3} in flight, {4} unreadable (another
# format, a cut record, a value that is not a string), {5} reversing.
_CLAIM: Final = """
local v = redis.pcall('GET', KEYS[1])
if type(v) == 'table' then return {4} end
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {0}
end
local state = string.sub(v, 2, 2)
if string.sub(v, 1, 1) ~= '1' or string.len(v) < 34 then return {4} end
if state ~= 'P' and state ~= 'R' and state ~= 'D' then return {4} end
if string.sub(v, 3, 34) ~= ARGV[3] then return {2} end
if state == 'D' then return {1, string.sub(v, 35)} end
if state == 'R' then return {5} end
return {3}
"""
# KEYS[1] record; ARGV[1] the claimed value; ARGV[2] the done value; ARGV[3] ttl ms;
# ARGV[4] the reversal's hold value. Also stores the answer when the claim is gone (its lease
# ended while the store was down): the answer of an authorization that happened must win over
# a later fresh attempt.
_COMPLETE: Final = """
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] or v == ARGV[4] or not v then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
# KEYS[1] record; ARGV[1] the claimed value, ARGV[2] the reversal's hold value: only the
# holder's own claim or hold is removed.
_RELEASE: Final = """
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] or v == ARGV[2] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
# KEYS[1] record; ARGV[1] the claimed value; ARGV[2] the hold value; ARGV[3] hold ms.
# Our claim (or a free key) becomes a reversal's hold; a key another request holds is left.
_REVERSE: Final = """
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] or v == ARGV[2] or not v then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""

_ANSWER_ENCODER: Final = msgspec.msgpack.Encoder()
_ANSWER_DECODER: Final = msgspec.msgpack.Decoder(tuple[int, str, bytes])
# (status, outcome) of every answer the service stores: its authorizations and the reversal's
# `unresolved`. Any other record was not written by this service and is never replayed.
STORED_ANSWERS: Final = frozenset(
    {(200, "approved"), (200, "declined"), (UNRESOLVED.status_code, UNRESOLVED.outcome)}
)

T = TypeVar("T")

# (operation, result, seconds): result is ok, error, timeout or rejected (circuit open).
StoreObserver = Callable[[str, str, float], None]


def record_key(environment: str, scoped_key: str) -> str:
    return f"paystream:{environment}:idempotency:{scoped_key}"


def encode_answer(response: StoredResponse) -> bytes:
    return _ANSWER_ENCODER.encode((response.status_code, response.outcome, response.body))


class UnreadableRecord(Exception):
    """The record at a key is not one this version wrote: a person must look at it."""


def decode_answer(raw: bytes) -> StoredResponse:
    try:
        status_code, outcome, body = _ANSWER_DECODER.decode(raw)
    except msgspec.DecodeError:
        raise UnreadableRecord("the stored answer is not (status, outcome, body)") from None
    if (status_code, outcome) not in STORED_ANSWERS:
        raise UnreadableRecord("the stored answer is not one the service writes")
    return StoredResponse(status_code, body, outcome)


def read_claim(reply: object) -> Claim:
    match reply:
        case [0]:
            return Fresh()
        case [1, bytes() as answer]:
            return Replay(decode_answer(answer))
        case [2]:
            return Mismatch()
        case [3]:
            return InFlight()
        case [5]:
            return Reversing()
    raise UnreadableRecord("the stored record has a format this version cannot read")


def _ignore(reply: object) -> None:
    return None


class PasswordFile(CredentialProvider):
    """The store's password, read from its file for every new connection: after a rotation
    (External Secrets rewrites the file) new connections use the new one, without a restart."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def get_credentials(self) -> tuple[str]:
        return (self._path.read_text().strip(),)

    async def get_credentials_async(self) -> tuple[str]:
        return self.get_credentials()


def connect(url: str, timeout_seconds: float, password_file: Path | None = None) -> Redis:
    """A client that fails fast: one immediate retry on a broken connection, none on a timeout.

    After a store restart every pooled connection is dead; the one retry reconnects, instead of
    failing one request per stale connection and holding the circuit open. A replayed claim
    finds its own record and answers `InFlight` (safe: the key waits for its lease).
    """
    client: Redis = Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        health_check_interval=0,
        credential_provider=PasswordFile(password_file) if password_file is not None else None,
    )
    return client


class RedisIdempotencyStore:
    def __init__(
        self,
        client: Redis,
        environment: str,
        *,
        ttl_seconds: float,
        lease_seconds: float,
        timeout_seconds: float,
        breaker_threshold: int,
        breaker_reset_seconds: float,
        observe: StoreObserver | None = None,
    ) -> None:
        self.client = client
        self._environment = environment
        self._ttl_ms = max(1, round(ttl_seconds * 1000))
        self._lease_ms = max(1, round(lease_seconds * 1000))
        self._timeout_seconds = timeout_seconds
        self._claim = client.register_script(_CLAIM)
        self._complete = client.register_script(_COMPLETE)
        self._release = client.register_script(_RELEASE)
        self._reverse = client.register_script(_REVERSE)
        self._factory = AsyncCircuitBreakerFactory(
            default_threshold=breaker_threshold,
            default_ttl=breaker_reset_seconds,
            exclude=[asyncio.CancelledError],
        )
        self._breaker: Any = None
        self._observe = observe or (lambda operation, result, seconds: None)

    async def initialize(self) -> None:
        await self._factory.initialize()
        self._breaker = await self._factory.get_breaker(BREAKER_NAME)

    async def close(self) -> None:
        await self.client.aclose()

    def breaker_open(self) -> bool:
        return self._breaker is not None and self._breaker.context.state == "opened"

    async def claim(self, key: str, fingerprint: bytes) -> Claim:
        claimed = FORMAT + b"P" + fingerprint
        return await self._call(
            "claim", self._claim, record_key(self._environment, key),
            [claimed, self._lease_ms, fingerprint], read_claim,
        )  # fmt: skip

    async def complete(self, key: str, fingerprint: bytes, response: StoredResponse) -> None:
        done = FORMAT + b"D" + fingerprint + encode_answer(response)
        await self._call(
            "complete", self._complete, record_key(self._environment, key),
            [FORMAT + b"P" + fingerprint, done, self._ttl_ms, FORMAT + b"R" + fingerprint],
            _ignore,
        )  # fmt: skip

    async def release(self, key: str, fingerprint: bytes) -> None:
        await self._call(
            "release", self._release, record_key(self._environment, key),
            [FORMAT + b"P" + fingerprint, FORMAT + b"R" + fingerprint], _ignore,
        )  # fmt: skip

    async def reverse(self, key: str, fingerprint: bytes, hold_seconds: float) -> None:
        await self._call(
            "reverse", self._reverse, record_key(self._environment, key),
            [FORMAT + b"P" + fingerprint, FORMAT + b"R" + fingerprint,
             max(1, round(hold_seconds * 1000))], _ignore,
        )  # fmt: skip

    async def _call(
        self,
        operation: str,
        script: Callable[..., Awaitable[Any]],
        key: str,
        args: list[bytes | int],
        read: Callable[[Any], T],
    ) -> T:
        """One script call; `read` turns its reply into the answer outside the breaker: an
        unreadable record is that key's trouble, not an outage that opens the circuit for all."""
        started = time.perf_counter()
        result = "ok"
        try:
            async with self._breaker:
                async with asyncio.timeout(self._timeout_seconds):
                    reply = await script(keys=[key], args=args)
            return read(reply)
        except OpenedState as exc:
            exc.__traceback__ = None  # purgatory re-raises one object: keep it from growing
            result = "rejected"
            raise StoreUnavailable("circuit open", self._retry_after()) from None
        except TimeoutError:
            result = "timeout"
            raise StoreUnavailable("timeout") from None
        except (RedisError, OSError, UnreadableRecord) as exc:
            result = "error"
            raise StoreUnavailable(type(exc).__name__) from None
        finally:
            self._observe(operation, result, time.perf_counter() - started)

    def _retry_after(self) -> int:
        context = self._breaker.context
        opened_at = getattr(context, "opened_at", None)
        ttl = getattr(context, "ttl", None)
        if not isinstance(opened_at, float) or not isinstance(ttl, int | float):
            return 1
        return max(1, math.ceil(opened_at + ttl - time.time()))
