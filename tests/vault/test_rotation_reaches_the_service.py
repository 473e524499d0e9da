"""A rotation in Vault reaches a running service through files, without a restart.

ESO and the kubelet are emulated by what they do to the pod's filesystem: read the latest
version with the role's token (ESO), then write the projected volume the way the kubelet's
AtomicWriter does: a new hidden timestamped directory, the `..data` symlink swapped to it with
one rename, and per-file symlinks `admin-token -> ..data/admin-token` that never change. The
service is a real granian process reading that directory (PAYSTREAM_SECRETS_DIR), re-reading
every PAYSTREAM_SECRETS_POLL_SECONDS (default 1 s), while requests keep flowing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from paystream_ops.processes import ServiceProcess
from paystream_ops.vault import contract

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENV = "staging"
AUTHORIZE = {
    "card_number": "4111111111111111",
    "amount": 1250,
    "currency": "USD",
    "merchant_id": "m-rotation-test",
}


def kubelet_atomic_write(directory: Path, files: Mapping[str, bytes]) -> None:
    """What the kubelet does to a projected volume on each sync that found new data."""
    stamp = dt.datetime.now(dt.UTC).strftime("..%Y_%m_%d_%H_%M_%S.") + secrets.token_hex(4)
    fresh = directory / stamp
    fresh.mkdir(mode=0o755)
    for name, content in files.items():
        (fresh / name).write_bytes(content)
        (fresh / name).chmod(0o440)
    data = directory / "..data"
    previous = data.readlink() if data.is_symlink() else None
    staging_link = directory / "..data_tmp"
    staging_link.symlink_to(stamp)
    staging_link.rename(data)  # atomic: readers see the old set or the new set, never a mix
    for name in files:
        visible = directory / name
        if not visible.is_symlink():
            visible.symlink_to(Path("..data") / name)
    if previous is not None:
        shutil.rmtree(directory / previous)


def eso_sync(server: Any, token: str, directory: Path) -> dict[str, str]:
    """Read each secret's latest version as ESO would and hand it to the kubelet."""
    eso = server.hvac(token)
    values = {
        name: eso.adapter.get(f"/v1/{contract.kv_data_api_path(ENV, name)}")["data"]["data"][
            contract.SECRET_PROPERTY
        ]
        for name in contract.SECRET_NAMES
    }
    kubelet_atomic_write(directory, {name: value.encode() for name, value in values.items()})
    return values


@dataclass
class Traffic:
    """Authorizations and readiness probes in a loop; every answer and error recorded."""

    base_url: str
    statuses: list[int] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=5) as client:
            while not self.stop.is_set():
                try:
                    self.statuses.append(client.post("/v1/authorize", json=AUTHORIZE).status_code)
                    self.ready.append(client.get("/readyz").status_code)
                except httpx.HTTPError as exc:
                    self.errors.append(type(exc).__name__)
                time.sleep(0.01)


@contextlib.contextmanager
def flowing(base_url: str) -> Iterator[Traffic]:
    traffic = Traffic(base_url)
    thread = threading.Thread(target=traffic.run, daemon=True)
    thread.start()
    try:
        yield traffic
    finally:
        traffic.stop.set()
        thread.join(timeout=10)


def bootstrapped_eso(
    bao: Any,
    run_cli: Callable[..., Any],
    bootstrap_argv: Callable[..., list[str]],
    tmp_path: Path,
) -> tuple[str, Path]:
    """Bootstrap ENV's secrets in Vault; a token of ESO's role and an empty secrets directory."""
    assert run_cli(bootstrap_argv(ENV, "--generate"), bao.environ()).exit_code == 0
    role = bao.client().read(f"auth/{contract.auth_mount(ENV)}/role/{contract.role_name(ENV)}")
    token = bao.hvac().auth.token.create(policies=role["token_policies"])["auth"]["client_token"]
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    return token, secrets_dir


def admin_status(base_url: str, token: str) -> int:
    return httpx.get(
        f"{base_url}/admin/faults", headers={"Authorization": f"Bearer {token}"}, timeout=5
    ).status_code


def test_rotated_admin_token_is_accepted_and_the_old_one_rejected_without_a_restart(
    bao: Any,
    run_cli: Callable[..., Any],
    bootstrap_argv: Callable[..., list[str]],
    tmp_path: Path,
) -> None:
    token, secrets_dir = bootstrapped_eso(bao, run_cli, bootstrap_argv, tmp_path)
    before = eso_sync(bao, token, secrets_dir)
    log_path = tmp_path / "service.log"
    service = ServiceProcess(env={"PAYSTREAM_SECRETS_DIR": str(secrets_dir)}, log_path=log_path)
    service.start()
    try:
        assert service.proc is not None
        pid = service.proc.pid
        old = before["admin-token"]
        assert admin_status(service.base_url, old) == 200

        with flowing(service.base_url) as traffic:
            time.sleep(0.5)
            for name in sorted(set(contract.SECRET_NAMES) - contract.NOT_ROTATABLE):
                rotated = run_cli(
                    ["vault", "rotate", "--env", ENV, "--key", name, "--generate"], bao.environ()
                )
                assert rotated.exit_code == 0, rotated.stderr
            after = eso_sync(bao, token, secrets_dir)
            synced_at = time.monotonic()
            new = after["admin-token"]
            deadline = synced_at + 10
            while admin_status(service.base_url, new) != 200:
                assert time.monotonic() < deadline, "the service never picked up the new token"
                time.sleep(0.05)
            pickup_seconds = time.monotonic() - synced_at
            time.sleep(0.5)
            served_during_rotation = len(traffic.statuses)

        assert new != old
        assert admin_status(service.base_url, new) == 200
        assert admin_status(service.base_url, old) == 401
        # Same process, still running: no restart happened.
        assert service.proc.pid == pid and service.proc.poll() is None
        # Requests kept flowing and the pod stayed ready throughout.
        assert traffic.errors == []
        assert served_during_rotation > 20
        assert all(status < 500 for status in traffic.statuses)
        assert set(traffic.ready) == {200}
        print(
            f"file swap -> new admin token accepted: {pickup_seconds:.2f} s "
            f"({served_during_rotation} authorizations served meanwhile)"
        )
    finally:
        service.stop()
    log = log_path.read_text()
    for name in ("processor-api-key", "admin-token"):  # the files the service watches
        assert '"event":"secret.rotated"' in log and f'"name":"{name}"' in log
    for value in (*before.values(), *after.values()):
        assert value not in log


def test_a_vanished_secret_file_keeps_the_last_good_value_and_readiness(
    bao: Any,
    run_cli: Callable[..., Any],
    bootstrap_argv: Callable[..., list[str]],
    tmp_path: Path,
) -> None:
    """Secret deleted in Kubernetes, or the volume emptied: the pod keeps serving as it was."""
    token, secrets_dir = bootstrapped_eso(bao, run_cli, bootstrap_argv, tmp_path)
    values = eso_sync(bao, token, secrets_dir)
    service = ServiceProcess(env={"PAYSTREAM_SECRETS_DIR": str(secrets_dir)})
    service.start()
    try:
        with flowing(service.base_url) as traffic:
            (secrets_dir / "admin-token").unlink()
            (secrets_dir / "processor-api-key").unlink()
            time.sleep(2.5)  # more than two re-read intervals
            assert admin_status(service.base_url, values["admin-token"]) == 200
        assert traffic.errors == [] and set(traffic.ready) == {200}
        assert all(status < 500 for status in traffic.statuses) and traffic.statuses
    finally:
        service.stop()
