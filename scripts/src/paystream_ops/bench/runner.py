"""Start the service and the bare app side by side, measure each in turn, compare.

Each scenario pins the servers to the same CPUs (taskset) and runs wrk on the CPUs left over,
so the apps get identical hardware. Three apps: bare granian, the service without a key, and
the service on the shared idempotency store (a real redis-server on wrk's CPUs) with a new key
on every request. Rounds alternate the apps; each ratio is the median of the per-round ratios
and the table shows each app's median round, which damps the noise of a shared machine; every
round is kept in the JSON.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import statistics
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from paystream_ops.bench.wrk import WrkResult, keyed_post_script, post_script, run_wrk
from paystream_ops.errors import UserError
from paystream_ops.processes import ServiceProcess
from paystream_ops.redis_process import running_redis

BARE_TARGET = "paystream_ops.bench.bare_app:app"
REQUEST = {
    "card_number": "4111111111111111",
    "amount": 1999,
    "currency": "USD",
    "merchant_id": "m_bench",
}


@dataclass(frozen=True)
class Scenario:
    name: str
    workers: int
    server_cpus: str | None
    client_cpus: str | None


@dataclass(frozen=True)
class Settings:
    duration_seconds: float = 10.0
    warmup_seconds: float = 2.0
    connections: int = 64
    threads: int = 1
    rounds: int = 3


@dataclass
class ScenarioResult:
    scenario: Scenario
    bare: list[WrkResult] = field(default_factory=list)
    service: list[WrkResult] = field(default_factory=list)
    keyed: list[WrkResult] = field(default_factory=list)

    @staticmethod
    def _median(results: list[WrkResult]) -> WrkResult:
        ordered = sorted(results, key=lambda r: r.requests_per_second)
        return ordered[len(ordered) // 2]

    @property
    def bare_median(self) -> WrkResult:
        return self._median(self.bare)

    @property
    def service_median(self) -> WrkResult:
        return self._median(self.service)

    @property
    def keyed_median(self) -> WrkResult:
        return self._median(self.keyed)

    @property
    def keyed_ratio(self) -> float:
        """The keyed service against bare granian, as `throughput_ratio`."""
        return statistics.median(
            k.requests_per_second / b.requests_per_second
            for b, k in zip(self.bare, self.keyed, strict=True)
        )

    @property
    def throughput_ratio(self) -> float:
        """The median of per-round ratios: each pair was measured back to back, so the load
        other processes put on the machine hits both sides of a ratio alike."""
        return statistics.median(self.round_ratios)

    @property
    def round_ratios(self) -> list[float]:
        return [
            s.requests_per_second / b.requests_per_second
            for b, s in zip(self.bare, self.service, strict=True)
        ]

    def as_dict(self) -> dict[str, object]:
        return {
            "scenario": asdict(self.scenario),
            "bare": asdict(self.bare_median),
            "service": asdict(self.service_median),
            "keyed": asdict(self.keyed_median),
            "throughput_ratio": round(self.throughput_ratio, 3),
            "keyed_ratio": round(self.keyed_ratio, 3),
            "round_ratios": [round(r, 3) for r in self.round_ratios],
            "rounds": {
                "bare": [asdict(r) for r in self.bare],
                "service": [asdict(r) for r in self.service],
                "keyed": [asdict(r) for r in self.keyed],
            },
        }


def default_scenarios() -> list[Scenario]:
    """One worker pinned to one core; two workers on two cores. wrk gets another core if any."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise UserError("bench: needs at least 2 CPUs (one for the server, one for wrk)")
    one = Scenario("1 worker, 1 pinned core", 1, str(cpus[0]), ",".join(map(str, cpus[1:])))
    if len(cpus) >= 3:
        two = Scenario(
            "2 workers, 2 pinned cores", 2, f"{cpus[0]},{cpus[1]}", ",".join(map(str, cpus[2:]))
        )
    else:
        # Two cores only: the workers get both and wrk shares them (said so in the report).
        two = Scenario("2 workers, 2 cores shared with wrk", 2, f"{cpus[0]},{cpus[1]}", None)
    return [one, two]


def _service(scenario: Scenario, workdir: Path, name: str, **env: str) -> ServiceProcess:
    return ServiceProcess(
        env={
            "PAYSTREAM_DRAIN_SECONDS": "0",
            # The processor's simulated latency is not the service's cost: measure without it.
            "PAYSTREAM_LATENCY_SCALE": "0",
            "PAYSTREAM_VERSION": "bench",
            # As in the image: metrics in memory with one worker, shared files with several.
            **(
                {"PROMETHEUS_MULTIPROC_DIR": str(workdir / f"metrics-{name}-{scenario.workers}")}
                if scenario.workers > 1
                else {}
            ),
            **env,
        },
        workers=scenario.workers,
        cpus=scenario.server_cpus,
    )


def _shared_secrets(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("admin-token", "processor-api-key", "idempotency-hmac-key"):
        (directory / name).write_text(secrets.token_urlsafe(32))
    return directory


@contextlib.contextmanager
def _servers(
    scenario: Scenario, workdir: Path
) -> Iterator[tuple[ServiceProcess, ServiceProcess, ServiceProcess]]:
    bare = ServiceProcess(
        env={"PAYSTREAM_DRAIN_SECONDS": "0"},
        workers=scenario.workers,
        target=BARE_TARGET,
        cpus=scenario.server_cpus,
    )
    service = _service(scenario, workdir, "plain")
    with running_redis(workdir / f"redis-{scenario.workers}.log") as store:
        keyed = _service(
            scenario,
            workdir,
            "keyed",
            PAYSTREAM_SECRETS_DIR=str(_shared_secrets(workdir / f"secrets-{scenario.workers}")),
            PAYSTREAM_IDEMPOTENCY_STORE="redis",
            PAYSTREAM_IDEMPOTENCY_STORE_URL=store.url,
            # Answers of a benchmark need not outlive it (the store would fill its memory).
            PAYSTREAM_IDEMPOTENCY_TTL_SECONDS="60",
        )
        try:
            bare.start()
            service.start()
            keyed.start()
            yield bare, service, keyed
        finally:
            keyed.stop()
            service.stop()
            bare.stop()


def run_scenario(scenario: Scenario, settings: Settings, workdir: Path) -> ScenarioResult:
    script = post_script(workdir / "post.lua", REQUEST)
    result = ScenarioResult(scenario)
    with _servers(scenario, workdir) as (bare, service, keyed):

        def measure(server: ServiceProcess, seconds: float, lua: Path = script) -> WrkResult:
            return run_wrk(
                f"{server.base_url}/v1/authorize",
                lua,
                duration_seconds=seconds,
                connections=settings.connections,
                threads=settings.threads,
                cpus=scenario.client_cpus,
            )

        def measure_keyed(seconds: float) -> WrkResult:
            # A new key prefix per run: every request is a fresh claim, never a replay.
            lua = keyed_post_script(workdir / "keyed.lua", REQUEST, secrets.token_hex(4))
            return measure(keyed, seconds, lua)

        for server in (bare, service):
            measure(server, settings.warmup_seconds)
        measure_keyed(settings.warmup_seconds)
        for _ in range(settings.rounds):
            result.bare.append(measure(bare, settings.duration_seconds))
            result.service.append(measure(service, settings.duration_seconds))
            result.keyed.append(measure_keyed(settings.duration_seconds))
    for name, results in (
        ("bare", result.bare),
        ("service", result.service),
        ("service with keys", result.keyed),
    ):
        if any(r.non_2xx for r in results):
            raise UserError(f"bench: {name} answered non-2xx responses under load: {results}")
    return result


def run_bench(settings: Settings, scenarios: list[Scenario] | None = None) -> list[ScenarioResult]:
    with tempfile.TemporaryDirectory(prefix="paystream-bench-") as tmp:
        return [run_scenario(s, settings, Path(tmp)) for s in scenarios or default_scenarios()]


def spread(values: list[float]) -> float:
    """Relative spread (max-min)/median of the rounds: how noisy the machine was."""
    return (max(values) - min(values)) / statistics.median(values) if values else 0.0
