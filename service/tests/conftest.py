"""Fixtures for the service's integration tests: real granian processes on loopback.

Every process goes through `paystream_ops.processes.ServiceProcess`, the same launcher the lab
and the monitoring tests use, and is stopped (SIGTERM, then SIGKILL) when the test ends.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from paystream_auth.granian_command import APP, GranianOptions
from paystream_ops.processes import ServiceProcess
from paystream_ops.redis_process import RedisServerProcess, running_redis

StartService = Callable[..., ServiceProcess]


def write_secrets(directory: Path) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    values = {name: secrets.token_urlsafe(24) for name in ("admin-token", "processor-api-key")}
    for name, value in values.items():
        (directory / name).write_text(value + "\n")
    return values


@contextlib.contextmanager
def service_process(
    workdir: Path,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    *,
    wait_ready: bool = True,
    target: str = APP,
    granian: GranianOptions | None = None,
) -> Iterator[ServiceProcess]:
    """`granian` overrides the image's command line (a short kill timeout, a small backlog)."""
    workdir.mkdir(parents=True, exist_ok=True)
    service = ServiceProcess(
        env={"PAYSTREAM_SEED": "7", **(env or {})},
        workers=workers,
        log_path=workdir / "service.log",
        target=target,
        granian=granian or GranianOptions(),
    )
    try:
        service.start(wait_ready=wait_ready)
        yield service
    finally:
        service.stop()


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[StartService]:
    """Start as many services as a test needs; all are stopped at the end."""
    with contextlib.ExitStack() as stack:
        counter = iter(range(1000))

        def start(
            env: Mapping[str, str] | None = None,
            workers: int = 1,
            wait_ready: bool = True,
            target: str = APP,
            granian: GranianOptions | None = None,
        ) -> ServiceProcess:
            workdir = tmp_path / f"service-{next(counter)}"
            return stack.enter_context(
                service_process(
                    workdir, env, workers, wait_ready=wait_ready, target=target, granian=granian
                )
            )

        yield start


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """schemathesis (4.x on pytest 9) gives every API operation's test the same node id, and
    pytest-xdist schedules by node id: it would run one operation. Name each by its operation
    (as its `name` already is), and refuse to run with node ids that still collide."""
    for item in items:
        if item.parent is not None and item.nodeid.rpartition("::")[2] != item.name:
            item._id = item.parent.id.child(item.name)
    ids = [item.nodeid for item in items]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise pytest.UsageError(f"tests share a node id (xdist would run one): {twice}")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServerProcess]:
    """One real redis-server for the session; tests keep apart by key namespace."""
    log = tmp_path_factory.mktemp("redis") / "redis.log"
    with running_redis(log) as server:
        yield server
