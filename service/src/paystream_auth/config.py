"""Settings from environment variables: one pure parser, one error type with one-line messages.

Every variable is documented in README.md ("Configuration"). A bad value is a start-up failure
naming the variable and what was expected, never a traceback.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from paystream_auth.faults import FaultProfile, FaultProfileError, parse_profile


class ConfigError(Exception):
    """A configuration value a person has to fix; the message names the variable."""


DEFAULT_SECRETS_DIR = "/var/run/secrets/paystream"
# Environments where a per-process store would let a retry on another pod authorize twice.
SHARED_STORE_ENVIRONMENTS: Final = frozenset({"prod"})
_ENVIRONMENT: Final = re.compile(r"[a-z0-9-]{1,32}")
_STORE_URL: Final = re.compile(r"(redis|rediss|unix)://\S+")

StoreKind = Literal["memory", "redis"]


@dataclass(frozen=True)
class Settings:
    secrets_dir: Path
    secrets_poll_seconds: float
    startup_faults: FaultProfile
    faults_ttl_seconds: float
    version: str
    revision: str
    processor_deadline_seconds: float
    latency_scale: float
    drain_seconds: float
    seed: int | None
    breaker_threshold: int
    breaker_reset_seconds: float
    idempotency_max_entries: int
    idempotency_ttl_seconds: float
    multiproc_dir: Path | None
    environment: str
    idempotency_store: StoreKind
    idempotency_store_url: str | None
    idempotency_lease_seconds: float
    idempotency_store_timeout_seconds: float
    idempotency_store_breaker_threshold: int
    idempotency_store_breaker_reset_seconds: float
    # A timed-out call is reversed: `reversal_attempts` tries, each under its own deadline.
    reversal_attempts: int
    reversal_deadline_seconds: float
    # A client's body must arrive whole within `body_timeout_seconds` and never pause longer
    # than `body_idle_timeout_seconds` (granian has no body deadline; see deadline budget).
    body_timeout_seconds: float
    body_idle_timeout_seconds: float
    # The kubelet's own listener for /livez and /readyz (probe_listener.py); 0: none.
    probe_port: int


def _number(
    env: Mapping[str, str], name: str, default: float, *, minimum: float, maximum: float
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    if not math.isfinite(value) or not minimum <= value <= maximum:
        raise ConfigError(f"{name}: expected a number from {minimum:g} to {maximum:g}, got {raw!r}")
    return value


def _integer(env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name}: expected an integer from {minimum} to {maximum}, got {raw!r}")
    return value


def _label(env: Mapping[str, str], name: str, default: str) -> str:
    """A value that becomes a metric label: short, printable, no quotes or backslashes."""
    value = env.get(name, "").strip() or default
    if len(value) > 128 or not value.isprintable() or any(c in value for c in '"\\'):
        raise ConfigError(f"{name}: expected at most 128 printable characters without quotes")
    return value


def _startup_faults(env: Mapping[str, str]) -> FaultProfile:
    inline = env.get("PAYSTREAM_FAULTS", "").strip()
    file_name = env.get("PAYSTREAM_FAULTS_FILE", "").strip()
    if inline and file_name:
        raise ConfigError("PAYSTREAM_FAULTS and PAYSTREAM_FAULTS_FILE are both set: set only one")
    if file_name:
        try:
            text = Path(file_name).read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"PAYSTREAM_FAULTS_FILE: cannot read {file_name}: {exc.strerror}"
            ) from None
        source = f"PAYSTREAM_FAULTS_FILE ({file_name})"
    elif inline:
        text = inline.encode()
        source = "PAYSTREAM_FAULTS"
    else:
        return FaultProfile()
    try:
        return parse_profile(text)
    except FaultProfileError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _environment(env: Mapping[str, str]) -> str:
    value = env.get("PAYSTREAM_ENVIRONMENT", "").strip() or "dev"
    if not _ENVIRONMENT.fullmatch(value):
        raise ConfigError(
            "PAYSTREAM_ENVIRONMENT: expected 1 to 32 characters of a-z, 0-9 or '-' "
            "(dev, staging, prod)"
        )
    return value


def _store(env: Mapping[str, str], environment: str) -> tuple[StoreKind, str | None]:
    kind = env.get("PAYSTREAM_IDEMPOTENCY_STORE", "").strip() or "memory"
    url = env.get("PAYSTREAM_IDEMPOTENCY_STORE_URL", "").strip() or None
    if kind not in ("memory", "redis"):
        raise ConfigError(f"PAYSTREAM_IDEMPOTENCY_STORE: expected memory or redis, got {kind!r}")
    if kind == "memory":
        if environment in SHARED_STORE_ENVIRONMENTS:
            raise ConfigError(
                f"PAYSTREAM_IDEMPOTENCY_STORE: PAYSTREAM_ENVIRONMENT={environment} requires "
                "redis (a per-process store lets a retry on another pod authorize twice)"
            )
        return "memory", None
    if url is None or not _STORE_URL.fullmatch(url):
        raise ConfigError(
            "PAYSTREAM_IDEMPOTENCY_STORE_URL: expected redis://host:port/db "
            "(or rediss://, unix://) when PAYSTREAM_IDEMPOTENCY_STORE=redis"
        )
    return "redis", url


def load_settings(env: Mapping[str, str]) -> Settings:
    """Parse every PAYSTREAM_* variable; raise ConfigError naming the first bad one."""
    seed_raw = env.get("PAYSTREAM_SEED", "").strip()
    multiproc = env.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    environment = _environment(env)
    store, store_url = _store(env, environment)
    deadline_seconds = (
        _number(env, "PAYSTREAM_PROCESSOR_DEADLINE_MS", 2000.0, minimum=1, maximum=60_000) / 1000.0
    )
    lease_seconds = _number(
        env, "PAYSTREAM_IDEMPOTENCY_LEASE_SECONDS", 30.0, minimum=0.05, maximum=3600
    )
    if lease_seconds <= deadline_seconds:
        raise ConfigError(
            "PAYSTREAM_IDEMPOTENCY_LEASE_SECONDS: must exceed PAYSTREAM_PROCESSOR_DEADLINE_MS "
            "(a claim must outlive the call it guards)"
        )
    settings = Settings(
        secrets_dir=Path(env.get("PAYSTREAM_SECRETS_DIR", "").strip() or DEFAULT_SECRETS_DIR),
        secrets_poll_seconds=_number(
            env, "PAYSTREAM_SECRETS_POLL_SECONDS", 1.0, minimum=0.05, maximum=300
        ),
        startup_faults=_startup_faults(env),
        faults_ttl_seconds=_number(
            env, "PAYSTREAM_FAULTS_TTL_SECONDS", 900.0, minimum=1, maximum=7 * 86400
        ),
        version=_label(env, "PAYSTREAM_VERSION", "dev"),
        revision=_label(env, "PAYSTREAM_REVISION", "unknown"),
        processor_deadline_seconds=deadline_seconds,
        latency_scale=_number(env, "PAYSTREAM_LATENCY_SCALE", 1.0, minimum=0, maximum=100),
        drain_seconds=_number(env, "PAYSTREAM_DRAIN_SECONDS", 5.0, minimum=0, maximum=300),
        seed=_integer(env, "PAYSTREAM_SEED", 0, minimum=0, maximum=2**63 - 1) if seed_raw else None,
        breaker_threshold=_integer(
            env, "PAYSTREAM_BREAKER_THRESHOLD", 5, minimum=1, maximum=10_000
        ),
        breaker_reset_seconds=_number(
            env, "PAYSTREAM_BREAKER_RESET_SECONDS", 30.0, minimum=0.01, maximum=3600
        ),
        idempotency_max_entries=_integer(
            env, "PAYSTREAM_IDEMPOTENCY_MAX_ENTRIES", 100_000, minimum=1, maximum=10_000_000
        ),
        idempotency_ttl_seconds=_number(
            env, "PAYSTREAM_IDEMPOTENCY_TTL_SECONDS", 86_400.0, minimum=1, maximum=7 * 86400
        ),
        multiproc_dir=Path(multiproc) if multiproc else None,
        environment=environment,
        idempotency_store=store,
        idempotency_store_url=store_url,
        idempotency_lease_seconds=lease_seconds,
        idempotency_store_timeout_seconds=_number(
            env, "PAYSTREAM_IDEMPOTENCY_STORE_TIMEOUT_MS", 100.0, minimum=1, maximum=10_000
        )
        / 1000.0,
        idempotency_store_breaker_threshold=_integer(
            env, "PAYSTREAM_IDEMPOTENCY_STORE_BREAKER_THRESHOLD", 5, minimum=1, maximum=10_000
        ),
        idempotency_store_breaker_reset_seconds=_number(
            env, "PAYSTREAM_IDEMPOTENCY_STORE_BREAKER_RESET_SECONDS", 2.0, minimum=0.01, maximum=600
        ),
        reversal_attempts=_integer(env, "PAYSTREAM_REVERSAL_ATTEMPTS", 5, minimum=1, maximum=20),
        reversal_deadline_seconds=_number(
            env, "PAYSTREAM_REVERSAL_DEADLINE_MS", 2000.0, minimum=1, maximum=60_000
        )
        / 1000.0,
        body_timeout_seconds=_number(
            env, "PAYSTREAM_BODY_TIMEOUT_MS", 5000.0, minimum=10, maximum=60_000
        )
        / 1000.0,
        body_idle_timeout_seconds=_number(
            env, "PAYSTREAM_BODY_IDLE_TIMEOUT_MS", 2000.0, minimum=10, maximum=60_000
        )
        / 1000.0,
        probe_port=_integer(env, "PAYSTREAM_PROBE_PORT", 8081, minimum=0, maximum=65535),
    )
    if settings.body_idle_timeout_seconds > settings.body_timeout_seconds:
        raise ConfigError(
            "PAYSTREAM_BODY_IDLE_TIMEOUT_MS: must not exceed PAYSTREAM_BODY_TIMEOUT_MS"
        )
    return settings
