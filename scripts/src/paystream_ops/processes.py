"""Real processes on loopback: the authorization service (granian) and Prometheus.

Shared by the canary lab, the monitoring live test and the service's integration tests, so every
part of the platform starts the service the way the image does: the one granian command line
(`paystream_auth.granian_command`), configured only by environment variables.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from paystream_auth.granian_command import GranianOptions, granian_executable

from paystream_ops.errors import UserError


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http_ok(url: str, timeout_seconds: float, proc: subprocess.Popen[bytes] | None) -> None:
    """Poll `url` until it answers 200; fail early if the process died."""
    deadline = time.monotonic() + timeout_seconds
    last = "no answer"
    # One client for the whole wait: a new httpx client costs tens of ms of CPU (TLS context).
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise UserError(f"{url}: process exited with code {proc.returncode} before ready")
            try:
                resp = client.get(url)
                if resp.status_code == 200:
                    return
                last = f"HTTP {resp.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.05)
    raise UserError(f"{url}: not ready after {timeout_seconds:.0f}s ({last})")


@dataclass
class ServiceProcess:
    """One granian process serving `paystream_auth.app:app` on 127.0.0.1.

    Loopback defaults that differ from a pod (each can be overridden through `env`):
    - without `PAYSTREAM_SECRETS_DIR` in `env`, a private directory with freshly generated
      `admin-token` and `processor-api-key` files is created (and removed on `stop`); the
      token is `admin_token`, so callers can use the admin API;
    - `PAYSTREAM_DRAIN_SECONDS` defaults to 0: nothing on loopback needs endpoint propagation
      time, so `stop()` returns as soon as in-flight requests are done;
    - `PAYSTREAM_PROBE_PORT` (the kubelet's listener) is a free port of its own, `probe_url`.
    """

    env: Mapping[str, str] = field(default_factory=dict)
    workers: int = 1
    port: int = 0
    log_path: Path | None = None
    # The image's command line; host, port, workers and target are this object's own.
    granian: GranianOptions = field(default_factory=GranianOptions)
    proc: subprocess.Popen[bytes] | None = None
    secrets_dir: Path | None = None
    # What granian serves, and the CPUs it may run on (`taskset -c`, e.g. "0" or "0,1"): the
    # benchmark serves a bare app the same way and pins both to the same cores.
    target: str = "paystream_auth.app:app"
    cpus: str | None = None
    probe_port: int = 0
    _owned_secrets: Path | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def probe_url(self) -> str:
        """The kubelet's listener (`/livez`, `/readyz`), apart from granian's connections."""
        return f"http://127.0.0.1:{self.probe_port}"

    @property
    def admin_token(self) -> str:
        """The bearer token for `/admin/faults` (read from the secrets directory in use)."""
        if self.secrets_dir is None:
            raise UserError("service not started: no secrets directory yet")
        return (self.secrets_dir / "admin-token").read_text().strip()

    def command(self) -> list[str]:
        pin = ["taskset", "-c", self.cpus] if self.cpus else []
        options = dataclasses.replace(
            self.granian, host="127.0.0.1", port=self.port, workers=self.workers, target=self.target
        )
        return [*pin, granian_executable(), *options.args()]

    def _environment(self) -> dict[str, str]:
        if "PAYSTREAM_PROBE_PORT" in self.env:
            self.probe_port = int(self.env["PAYSTREAM_PROBE_PORT"])
        elif self.probe_port == 0:
            self.probe_port = free_port()
        env = {
            **os.environ,
            "PAYSTREAM_DRAIN_SECONDS": "0",
            "PAYSTREAM_PROBE_PORT": str(self.probe_port),
            **self.env,
        }
        if "PAYSTREAM_SECRETS_DIR" in self.env:
            self.secrets_dir = Path(self.env["PAYSTREAM_SECRETS_DIR"])
        else:
            if self._owned_secrets is None:
                self._owned_secrets = Path(tempfile.mkdtemp(prefix="paystream-secrets-"))
                for name in ("admin-token", "processor-api-key"):
                    (self._owned_secrets / name).write_text(secrets.token_urlsafe(32))
            self.secrets_dir = self._owned_secrets
            env["PAYSTREAM_SECRETS_DIR"] = str(self._owned_secrets)
        return env

    def start(self, *, wait_ready: bool = True, timeout_seconds: float = 20.0) -> None:
        # free_port() can hand out a port another process takes before granian binds it (tests
        # run in parallel): when the ports were ours to choose and the process died before it
        # was ready, choose again, twice at most.
        chosen = self.port == 0 and self.probe_port == 0 and "PAYSTREAM_PROBE_PORT" not in self.env
        for attempt in range(3 if chosen and wait_ready else 1):
            try:
                self._start_once(wait_ready=wait_ready, timeout_seconds=timeout_seconds)
                return
            except UserError:
                exited = self.proc is not None and self.proc.poll() is not None
                if attempt == 2 or not (chosen and exited):
                    raise
                self.port = self.probe_port = 0

    def _start_once(self, *, wait_ready: bool, timeout_seconds: float) -> None:
        if self.port == 0:
            self.port = free_port()
        env = self._environment()
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            self.command(), env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        if wait_ready:
            try:
                wait_http_ok(f"{self.base_url}/readyz", timeout_seconds, self.proc)
                if self.workers > 1:
                    self._wait_all_workers(timeout_seconds)
            except UserError:
                self.stop()
                raise

    def _wait_all_workers(self, timeout_seconds: float) -> None:
        """Ready means every worker answers: `/health` names the worker (pid) that served it."""
        deadline = time.monotonic() + timeout_seconds
        seen: set[int] = set()
        with httpx.Client(timeout=1.0) as client:
            while len(seen) < self.workers:
                if time.monotonic() > deadline:
                    raise UserError(
                        f"{self.base_url}: only {len(seen)} of {self.workers} workers answered"
                    )
                with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                    # A new connection each time, so the kernel can hand it to any worker.
                    health = client.get(f"{self.base_url}/health", headers={"connection": "close"})
                    seen.add(int(health.json()["pid"]))
                time.sleep(0.01)

    def terminate(self) -> None:
        """Send SIGTERM to granian's main process (what the kubelet sends) without waiting."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout_seconds: float) -> int:
        """Wait for the process to exit; its exit code (raises TimeoutExpired if it lingers)."""
        if self.proc is None:
            raise UserError("service not started")
        return self.proc.wait(timeout=timeout_seconds)

    def stop(self, timeout_seconds: float = 15.0) -> int | None:
        """SIGTERM, wait, then SIGKILL the whole process group if it lingers."""
        try:
            if self.proc is None:
                return None
            self.terminate()
            try:
                return self.proc.wait(timeout=timeout_seconds)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                return self.proc.wait(timeout=5)
        finally:
            if self._owned_secrets is not None:
                shutil.rmtree(self._owned_secrets, ignore_errors=True)
                self._owned_secrets = None


@contextlib.contextmanager
def running_service(
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    log_path: Path | None = None,
) -> Iterator[ServiceProcess]:
    service = ServiceProcess(env=env or {}, workers=workers, log_path=log_path)
    service.start()
    try:
        yield service
    finally:
        service.stop()


@dataclass(frozen=True)
class ScrapeTarget:
    """A static scrape target with the labels the PodMonitor would give a real pod."""

    address: str  # host:port
    labels: Mapping[str, str]


def prometheus_config(
    targets: list[ScrapeTarget],
    scrape_interval: str = "1s",
    rule_files: list[Path] | None = None,
    job: str = "auth-service",
) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": [str(p) for p in rule_files or []],
        "scrape_configs": [
            {
                "job_name": job,
                "metrics_path": "/metrics",
                "static_configs": [
                    {"targets": [t.address], "labels": dict(t.labels)} for t in targets
                ],
            }
        ],
    }


@dataclass
class PrometheusProcess:
    """A real Prometheus (Debian package) on 127.0.0.1 with its own data directory."""

    workdir: Path
    config: dict[str, Any]
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    # The TSDB admin API (delete_series): only for a Prometheus shared by lab runs.
    admin_api: bool = False
    # Kept across queries: a check sends hundreds, and each new client costs tens of ms of CPU.
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_seconds: float = 30.0) -> None:
        binary = os.environ.get("PAYSTREAM_PROMETHEUS_BIN", "prometheus")
        if self.port == 0:
            self.port = free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        log = (self.workdir / "prometheus.log").open("ab")
        try:
            self.proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config_path}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--web.enable-lifecycle",
                    "--storage.tsdb.retention.time=1d",
                    *(["--web.enable-admin-api"] if self.admin_api else []),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise UserError("prometheus not found: run `make setup` (Debian package)") from exc
        wait_http_ok(f"{self.base_url}/-/ready", timeout_seconds, self.proc)

    def reload(self, config: dict[str, Any]) -> None:
        self.config = config
        (self.workdir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        httpx.post(f"{self.base_url}/-/reload", timeout=5.0).raise_for_status()

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query; returns the `result` list, raising UserError on a query error."""
        params: dict[str, str] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        if self._client is None:
            self._client = httpx.Client(timeout=10.0)
        resp = self._client.get(f"{self.base_url}/api/v1/query", params=params)
        body = resp.json()
        if body.get("status") != "success":
            raise UserError(f"prometheus query failed: {body.get('error', resp.text)}: {expr}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
