"""Everything one app instance owns, wired from Settings, and its start-up/shutdown sequence."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import time
from dataclasses import dataclass
from typing import Final

import prometheus_client.values

from paystream_auth.auth_throttle import LOG_INTERVAL_SECONDS, AuthThrottle
from paystream_auth.body_deadline import BodyDeadlines
from paystream_auth.breaker import BreakerState, NetworkBreakers
from paystream_auth.config import ConfigError, Settings
from paystream_auth.drain import Drain
from paystream_auth.fault_admin import FaultAdmin
from paystream_auth.faults import FaultState
from paystream_auth.health import RecentWindow
from paystream_auth.idempotency import IdempotencyStore, MemoryIdempotencyStore
from paystream_auth.idempotency_hmac import (
    HMAC_KEY_FILE,
    IdempotencyHasher,
    load_hmac_secret,
    process_local_hasher,
)
from paystream_auth.idempotency_redis import STORE_PASSWORD_FILE, RedisIdempotencyStore, connect
from paystream_auth.logs import JsonLog
from paystream_auth.metrics import ServiceMetrics
from paystream_auth.multiproc import (
    granian_worker_count,
    mark_dead,
    parent_cmdline,
    prepare_directory,
    process_identity,
)
from paystream_auth.networks import Network
from paystream_auth.reversal import Reversals
from paystream_auth.secrets_files import PROCESSOR_API_KEY, SecretsDirectory
from paystream_auth.service import AuthorizationService

# After start-up, young collections every 50k allocations instead of 700, and a full collection
# only every 50 x 20 young ones: measured, full collections of the whole heap set the p99
# (30-47 ms); frozen start-up objects are never scanned again.
GC_THRESHOLDS: Final = (50_000, 20, 50)
# At shutdown, reversals still running get this long before they are cancelled (and counted
# failed): well inside granian's worker kill timeout, so the worker still exits cleanly.
BACKGROUND_GRACE_SECONDS: Final = 5.0


def _check_metrics_mode(settings: Settings, env: dict[str, str]) -> None:
    """prometheus-client picks its value class when imported, from the real environment."""
    multiprocess = getattr(prometheus_client.values.ValueClass, "_multiprocess", False)
    if settings.multiproc_dir is not None:
        if not multiprocess or os.environ.get("PROMETHEUS_MULTIPROC_DIR") != str(
            settings.multiproc_dir
        ):
            raise ConfigError(
                "PROMETHEUS_MULTIPROC_DIR: must be set in the process environment before start"
            )
        return
    workers = granian_worker_count(parent_cmdline(), env)
    if workers is not None and workers > 1:
        raise ConfigError(
            f"PROMETHEUS_MULTIPROC_DIR: required when granian runs {workers} workers "
            "(otherwise each scrape shows one worker's counts)"
        )


def _build_idempotency(
    settings: Settings, metrics: ServiceMetrics
) -> tuple[IdempotencyStore, IdempotencyHasher, RedisIdempotencyStore | None]:
    """The configured store and the keyed hash; the shared store needs the shared secret."""
    shared = settings.idempotency_store == "redis"
    try:
        secret = load_hmac_secret(settings.secrets_dir, required=shared)
    except ValueError as exc:
        raise ConfigError(f"PAYSTREAM_SECRETS_DIR: {HMAC_KEY_FILE}: {exc}") from None
    hasher = process_local_hasher() if secret is None else IdempotencyHasher(secret)
    if not shared or settings.idempotency_store_url is None:
        memory = MemoryIdempotencyStore(
            settings.idempotency_max_entries,
            settings.idempotency_ttl_seconds,
            settings.idempotency_lease_seconds,
        )
        return memory, hasher, None
    password = settings.secrets_dir / STORE_PASSWORD_FILE  # absent: a store without AUTH
    store = RedisIdempotencyStore(
        connect(
            settings.idempotency_store_url,
            settings.idempotency_store_timeout_seconds,
            password if password.exists() else None,
        ),
        settings.environment,
        ttl_seconds=settings.idempotency_ttl_seconds,
        lease_seconds=settings.idempotency_lease_seconds,
        timeout_seconds=settings.idempotency_store_timeout_seconds,
        breaker_threshold=settings.idempotency_store_breaker_threshold,
        breaker_reset_seconds=settings.idempotency_store_breaker_reset_seconds,
        observe=metrics.store_call,
    )
    return store, hasher, store


@dataclass
class Runtime:
    settings: Settings
    log: JsonLog
    metrics: ServiceMetrics
    secrets: SecretsDirectory
    faults: FaultAdmin
    breakers: NetworkBreakers
    window: RecentWindow
    drain: Drain
    service: AuthorizationService
    bodies: BodyDeadlines
    admin_auth: AuthThrottle
    shared_store: RedisIdempotencyStore | None = None
    started: bool = False
    _auth_logged_at: float = 0.0
    _poller: asyncio.Task[None] | None = None
    _sweeper: asyncio.Task[None] | None = None

    @classmethod
    def build(cls, settings: Settings, env: dict[str, str], log_fd: int = 1) -> Runtime:
        _check_metrics_mode(settings, env)
        log = JsonLog(log_fd)
        if settings.multiproc_dir is not None:
            try:
                wiped = prepare_directory(settings.multiproc_dir, process_identity(os.getppid()))
            except OSError as exc:
                raise ConfigError(
                    f"PROMETHEUS_MULTIPROC_DIR: cannot prepare {settings.multiproc_dir}: "
                    f"{exc.strerror}"
                ) from None
            log.event("metrics.multiprocess", directory=str(settings.multiproc_dir), wiped=wiped)
        metrics = ServiceMetrics(settings.version, settings.revision, settings.multiproc_dir)

        def on_transition(network: Network, state: BreakerState) -> None:
            metrics.breaker_transition(network, state)
            log.event("breaker.transition", network=network, to=state)

        breakers = NetworkBreakers(
            settings.breaker_threshold, settings.breaker_reset_seconds, on_transition
        )
        secrets = SecretsDirectory(settings.secrets_dir)
        fault_state = FaultState(settings.startup_faults)
        window = RecentWindow()
        store, hasher, shared_store = _build_idempotency(settings, metrics)
        rng = random.Random(settings.seed)
        reversals = Reversals(
            attempts=settings.reversal_attempts,
            deadline_seconds=settings.reversal_deadline_seconds,
            latency_scale=settings.latency_scale,
            faults=fault_state,
            store=store,
            metrics=metrics,
            log=log,
            rng=rng,
        )
        service = AuthorizationService(
            version=settings.version,
            deadline_seconds=settings.processor_deadline_seconds,
            latency_scale=settings.latency_scale,
            faults=fault_state,
            breakers=breakers,
            idempotency=store,
            hasher=hasher,
            metrics=metrics,
            window=window,
            log=log,
            rng=rng,
            processor_key=lambda: secrets.value(PROCESSOR_API_KEY),
            reversals=reversals,
        )
        return cls(
            settings=settings,
            log=log,
            metrics=metrics,
            secrets=secrets,
            faults=FaultAdmin(
                fault_state, settings.faults_ttl_seconds, settings.multiproc_dir, log
            ),
            breakers=breakers,
            window=window,
            drain=Drain(settings.drain_seconds, lambda event, fields: log.event(event, **fields)),
            service=service,
            shared_store=shared_store,
            bodies=BodyDeadlines(settings.body_timeout_seconds, settings.body_idle_timeout_seconds),
            admin_auth=AuthThrottle(),
        )

    def readiness(self) -> tuple[bool, str]:
        if not self.started:
            return False, "starting"
        if self.drain.draining:
            return False, "shutting down (SIGTERM received)"
        missing = self.secrets.missing()
        if missing:
            return False, f"secrets not loaded: {', '.join(missing)}"
        return True, "ready"

    def _refresh(self) -> None:
        for change in self.secrets.refresh():
            level = "info" if change.kind in ("loaded", "rotated") else "warning"
            self.log.event(
                f"secret.{change.kind}", level=level, name=change.name, generation=change.generation
            )
        self.faults.poll(time.time())
        now = time.monotonic()
        if now - self._auth_logged_at >= LOG_INTERVAL_SECONDS:
            self.log_auth_failures(now)

    def log_auth_failures(self, now: float) -> None:
        """One audit line per source that failed admin authentication since the last one."""
        self._auth_logged_at = now
        for count in self.admin_auth.take_counts(now):
            self.log.event(
                "audit",
                level="warning",
                action="admin.denied",
                client=count.source,
                failures=count.failures,
                locked_out=count.locked,
                interval_seconds=LOG_INTERVAL_SECONDS,
            )

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.settings.secrets_poll_seconds)
            try:
                self._refresh()
            except Exception as exc:  # the poller must outlive any one bad read
                self.log.event("poll.error", level="error", error=type(exc).__name__)

    async def prepare(self) -> None:
        """Load secrets and build the breakers: everything start-up needs but signals and GC."""
        self._refresh()
        await self.breakers.initialize()
        if self.shared_store is not None:
            await self.shared_store.initialize()

    async def startup(self) -> None:
        installed = self.drain.install()
        await self.prepare()
        self._poller = asyncio.create_task(self._poll())
        self._sweeper = asyncio.create_task(self.bodies.run())
        self.started = True
        self.log.event(
            "startup",
            version=self.settings.version,
            revision=self.settings.revision,
            drain_seconds=self.settings.drain_seconds,
            sigterm_drain=installed,
            multiprocess_metrics=self.settings.multiproc_dir is not None,
            startup_faults=not self.settings.startup_faults.is_empty(),
            environment=self.settings.environment,
            idempotency_store=self.settings.idempotency_store,
        )
        if installed:  # a server process (not a test client's thread): tune its collector
            # Everything alive now lives as long as the process: out of the collector's view.
            gc.collect()
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)

    async def shutdown(self) -> None:
        self.drain.cancel()
        for task in (self._poller, self._sweeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.service.close(BACKGROUND_GRACE_SECONDS)  # reversals need the store
        if self.shared_store is not None:
            with contextlib.suppress(Exception):  # a store already gone has nothing to flush
                await self.shared_store.close()
        if self.settings.multiproc_dir is not None:
            mark_dead(self.settings.multiproc_dir, os.getpid())
        self.log_auth_failures(time.monotonic())
        self.log.event("shutdown")  # also writes every pending request line
