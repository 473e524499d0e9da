"""A lab run's start-up: stable serving, scraped by Prometheus, under traffic.

What each service process is given (the Rollout's environment, scaled durations, fresh secrets)
and the order the processes start in. The canary process is prepared here but started by the
rollout (lab/runner.py), as the controller creates its ReplicaSet only when the release begins.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
from paystream_auth.idempotency_hmac import HMAC_KEY_FILE
from paystream_auth.idempotency_redis import STORE_PASSWORD_FILE
from paystream_ops.dashboards.slo import LATENCY_THRESHOLD_SECONDS
from paystream_ops.errors import UserError
from paystream_ops.lab.manifests import LabManifests, pod_template_hash
from paystream_ops.lab.scenario import Release, Scenario, faults_json
from paystream_ops.lab.shared_prometheus import SharedPrometheus
from paystream_ops.lab.targets import PodTarget, ScrapePlan, prometheus_config, scrape_job
from paystream_ops.lab.traffic import TrafficGenerator, wait_for_samples
from paystream_ops.processes import PrometheusProcess, ServiceProcess, free_port
from paystream_ops.redis_process import running_redis
from paystream_ops.render import K8sObject

# The service's documented defaults (README "Configuration"), scaled when the manifests do not
# set them: the processor deadline and the circuit breaker's reset are durations like any other.
SERVICE_DURATION_DEFAULTS: dict[str, float] = {
    "PAYSTREAM_PROCESSOR_DEADLINE_MS": 2000.0,
    "PAYSTREAM_BREAKER_RESET_SECONDS": 30.0,
    # The store's breaker too (decision 0056); its timeout is a budget against the real
    # redis-server, not a simulated latency, so it stays as it is.
    "PAYSTREAM_IDEMPOTENCY_STORE_BREAKER_RESET_SECONDS": 2.0,
}
STORE_KIND, STORE_URL = "PAYSTREAM_IDEMPOTENCY_STORE", "PAYSTREAM_IDEMPOTENCY_STORE_URL"
_CLUSTER_ONLY_ENV = {"PAYSTREAM_SECRETS_DIR", "PAYSTREAM_FAULTS_FILE"}
SECRET_FILES = ("admin-token", "processor-api-key")
SCRAPED_POLL_SECONDS = 0.1
SCRAPED_WITHIN_SECONDS = 30.0
CONTRACT_LABELS = ("namespace", "pod", "job", "role", "rollouts_pod_template_hash")


# --------------------------------------------------------------------------------------------
# Environment for the service processes


def container_of(manifests: LabManifests) -> dict[str, Any]:
    containers = ((manifests.rollout["spec"].get("template") or {}).get("spec") or {}).get(
        "containers"
    ) or []
    if not containers:
        raise UserError(f"{manifests.source}: Rollout/{manifests.name}: no containers")
    container: dict[str, Any] = containers[0]
    return container


def manifest_env(manifests: LabManifests, objects: list[K8sObject]) -> dict[str, str]:
    """Literal `PAYSTREAM_*` settings the Rollout gives the container (env and ConfigMaps)."""
    container = container_of(manifests)
    env: dict[str, str] = {}
    config_maps = {
        str(o["metadata"]["name"]): o.get("data") or {}
        for o in objects
        if o.get("kind") == "ConfigMap" and (o.get("metadata") or {}).get("name")
    }
    for source in container.get("envFrom") or []:
        ref = (source.get("configMapRef") or {}).get("name")
        if ref in config_maps:
            env.update({str(k): str(v) for k, v in config_maps[ref].items()})
    for item in container.get("env") or []:
        if "value" in item:
            env[str(item["name"])] = str(item["value"])
    return {
        k: v for k, v in env.items() if k.startswith("PAYSTREAM_") and k not in _CLUSTER_ONLY_ENV
    }


def service_env(
    base: dict[str, str],
    release: Release,
    *,
    role: str,
    hash_: str,
    time_scale: float,
    seed: int,
    secrets_dir: Path,
) -> dict[str, str]:
    env = dict(base)
    for name, default in SERVICE_DURATION_DEFAULTS.items():
        value = float(env.get(name, default))
        env[name] = f"{value / time_scale:g}"
    latency_scale = float(env.get("PAYSTREAM_LATENCY_SCALE", "1"))
    env["PAYSTREAM_LATENCY_SCALE"] = f"{latency_scale / time_scale:g}"
    env["PAYSTREAM_DRAIN_SECONDS"] = "0"  # the lab's own shutdown, not part of the experiment
    env["PAYSTREAM_SECRETS_DIR"] = str(secrets_dir)
    env["PAYSTREAM_VERSION"] = release.version
    env["PAYSTREAM_REVISION"] = f"lab-{role}-{hash_}"
    env["PAYSTREAM_SEED"] = str(seed)
    faults = faults_json(release)
    if faults is not None:
        env["PAYSTREAM_FAULTS"] = faults
    env.update(release.env)
    return env


def write_secrets(
    directory: Path, missing: Sequence[str], shared: Mapping[str, str] | None = None
) -> Path:
    """Fresh random secrets for one process (generated now, never stored in the repository),
    plus the `shared` ones both versions must hold alike (the idempotency store's)."""
    directory.mkdir(parents=True, exist_ok=True)
    values = {name: secrets.token_urlsafe(32) for name in SECRET_FILES}
    values.update(shared or {})
    for name, value in values.items():
        if name not in missing:
            path = directory / name
            path.write_text(value)
            path.chmod(0o600)
    return directory


def shared_store_secrets() -> dict[str, str]:
    """The HMAC key and the store password, one value for stable and canary as in a cluster."""
    return {HMAC_KEY_FILE: secrets.token_urlsafe(32), STORE_PASSWORD_FILE: secrets.token_hex(16)}


def log_tail(path: Path, lines: int = 3) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


# --------------------------------------------------------------------------------------------
# Start-up


@dataclass(frozen=True)
class StartSpec:
    """What start-up needs of the run: the scenario, the manifests, the pods' identities."""

    scenario: Scenario
    objects: list[K8sObject]
    overlay: str
    manifests: LabManifests
    time_scale: float
    rate_per_second: float  # real-time equivalent
    seed: int
    stable_hash: str
    canary_hash: str
    prometheus_port: int
    store_secrets: Mapping[str, str]
    # A Prometheus held across runs (lab/shared_prometheus.py); None: the run starts its own.
    shared: SharedPrometheus | None = None


@dataclass(frozen=True)
class Live:
    """What the phases of a run share: the processes (the run's ExitStack stops them), the clock."""

    client: httpx.Client
    stable: ServiceProcess
    canary: ServiceProcess
    plan: ScrapePlan
    prometheus: PrometheusProcess
    generator: TrafficGenerator
    t0: float
    lab_rate: float
    pods: tuple[str, ...]  # the pod names Prometheus scrapes: stable's, canary's

    def clock(self) -> float:
        """Lab seconds since the traffic started."""
        return time.monotonic() - self.t0


def start(stack: contextlib.ExitStack, workdir: Path, spec: StartSpec) -> Live:
    """Stable serving, scraped by Prometheus, under traffic; the canary process not started.

    Prometheus starts first: its service discovery hands new targets to the scrapers only on its
    5 s update tick (discovery.Manager's `updatert`), so stable starts during that wait. A shared
    Prometheus already scrapes the stable target, so stable is scraped once it serves. Traffic,
    and so the warm-up, still begins only once Prometheus has scraped stable.
    """
    client = stack.enter_context(httpx.Client())
    base_env = manifest_env(spec.manifests, spec.objects)
    if base_env.get(STORE_KIND) == "redis":
        # The overlay's shared idempotency store: a real redis-server both versions share.
        store = stack.enter_context(
            running_redis(
                workdir / "idempotency-store.log",
                password=spec.store_secrets[STORE_PASSWORD_FILE],
            )
        )
        base_env[STORE_URL] = store.url
    stable_port = free_port() if spec.shared is None else spec.shared.stable_port
    stable = _service(spec, "stable", 1, workdir, base_env, stable_port)
    canary = _service(spec, "canary", 2, workdir, base_env, free_port())
    targets = pod_targets(spec, stable, canary)
    plan = scrape_job(spec.manifests.pod_monitor, targets, spec.time_scale, spec.overlay)
    if spec.shared is None:
        prometheus = PrometheusProcess(
            workdir / "prometheus", prometheus_config(plan), port=spec.prometheus_port
        )
        stack.callback(prometheus.stop)
        prometheus.start()
    else:
        prometheus = spec.shared.begin_run(prometheus_config(plan))
    stack.callback(stable.stop, 5.0)
    try:
        stable.start(timeout_seconds=30.0)
    except UserError as exc:
        raise UserError(
            f"stable service did not start: {exc}: {log_tail(workdir / 'stable.log')}"
        ) from exc
    wait_scraped(prometheus, plan, targets[0].pod, spec.overlay)

    t0 = time.monotonic()
    lab_rate = spec.rate_per_second * spec.time_scale
    generator = TrafficGenerator(
        stable=("127.0.0.1", stable.port),
        canary=("127.0.0.1", canary.port),
        rate=lab_rate,
        card_mix=spec.scenario.traffic.card_mix,
        seed=spec.seed,
        timeout_seconds=max(2.0, _processor_deadline_seconds(spec, base_env, workdir) * 5),
        t0=t0,
        slow_seconds=float(LATENCY_THRESHOLD_SECONDS) / spec.time_scale,
        callers=spec.scenario.traffic.callers,
        retrying_share=spec.scenario.traffic.retrying_share,
        time_scale=spec.time_scale,
    )
    stack.enter_context(generator)
    generator.set_weight(0)
    wait_for_samples(generator)
    pods = tuple(t.pod for t in targets)
    return Live(client, stable, canary, plan, prometheus, generator, t0, lab_rate, pods)


def wait_release_scraped(live: Live, spec: StartSpec) -> None:
    """Before the release: a shared Prometheus scrapes exactly this run's pods (the canary's
    target arrives with the discovery tick after `begin_run`); a run's own did from the start."""
    if spec.shared is not None:
        spec.shared.wait_targets(live.pods, live.plan.interval_seconds)


def pod_targets(spec: StartSpec, stable: ServiceProcess, canary: ServiceProcess) -> list[PodTarget]:
    """Each process as the pod the PodMonitor would select (its labels and pod-template hash)."""
    manifests = spec.manifests
    container = container_of(manifests)
    ports = container.get("ports") or [{"name": "http", "containerPort": 8080}]
    port = ports[0]
    out: list[PodTarget] = []
    for role, service, hash_ in (
        ("stable", stable, spec.stable_hash),
        ("canary", canary, spec.canary_hash),
    ):
        labels = manifests.pod_labels(role)
        labels["rollouts-pod-template-hash"] = hash_
        out.append(
            PodTarget(
                address=f"127.0.0.1:{service.port}",
                namespace=manifests.namespace,
                pod=f"{manifests.name}-{hash_}-{pod_template_hash(role)[:5]}",
                labels=labels,
                container=str(container.get("name", "auth-service")),
                port_name=str(port.get("name", "http")),
                port_number=int(port.get("containerPort", 8080)),
            )
        )
    return out


def wait_scraped(prometheus: PrometheusProcess, plan: ScrapePlan, pod: str, overlay: str) -> None:
    """Wait until Prometheus scraped the stable pod; check the contract's labels."""
    deadline = time.monotonic() + SCRAPED_WITHIN_SECONDS
    while time.monotonic() < deadline:
        series = prometheus.query(f'up{{pod="{pod}"}} == 1')
        if series:
            labels = series[0]["metric"]
            missing = [name for name in CONTRACT_LABELS if name not in labels]
            if missing:
                raise UserError(
                    f"{overlay}: PodMonitor/{plan.monitor_name}: its relabelings "
                    f"do not give the metric labels {', '.join(missing)} (DESIGN.md contract)"
                )
            return
        targets = httpx.get(f"{prometheus.base_url}/api/v1/targets?state=any", timeout=5).json()
        dropped = targets["data"].get("droppedTargets") or []
        if dropped and not targets["data"].get("activeTargets"):
            raise UserError(
                f"{overlay}: PodMonitor/{plan.monitor_name}: selects none of the "
                "Rollout's pods (every target dropped by its selector or relabelings)"
            )
        time.sleep(SCRAPED_POLL_SECONDS)
    raise UserError(
        f"Prometheus did not scrape the stable service within {SCRAPED_WITHIN_SECONDS:.0f} s"
    )


def _service(
    spec: StartSpec,
    role: Literal["stable", "canary"],
    offset: int,
    workdir: Path,
    base_env: dict[str, str],
    port: int,
) -> ServiceProcess:
    """One role's service process: its fault profile, pod-template hash and seed."""
    config = spec.scenario.release(role)
    shared = spec.store_secrets if base_env.get(STORE_KIND) == "redis" else None
    return ServiceProcess(
        env=service_env(
            base_env,
            config,
            role=role,
            hash_=spec.stable_hash if role == "stable" else spec.canary_hash,
            time_scale=spec.time_scale,
            seed=spec.seed * 2 + offset,
            secrets_dir=write_secrets(workdir / f"secrets-{role}", config.missing_secrets, shared),
        ),
        log_path=workdir / f"{role}.log",
        port=port,
    )


def _processor_deadline_seconds(spec: StartSpec, base_env: dict[str, str], workdir: Path) -> float:
    """The stable service's scaled processor deadline (the generator waits five of them)."""
    env = service_env(
        base_env,
        spec.scenario.release("stable"),
        role="stable",
        hash_="",
        time_scale=spec.time_scale,
        seed=0,
        secrets_dir=workdir,
    )
    return float(env["PAYSTREAM_PROCESSOR_DEADLINE_MS"]) / 1000.0
