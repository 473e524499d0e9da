"""A real `redis-server` on loopback: the shared idempotency store in tests and the lab.

No persistence (`--save ""`, no AOF): a restart starts empty, the worst case a store outage can
leave behind. `kill()` is a crash (SIGKILL); `start()` again reuses the same port, so the
service's configured URL keeps pointing at it.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from paystream_ops.errors import UserError
from paystream_ops.processes import free_port


def _pong(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")
    return False


@dataclass
class RedisServerProcess:
    port: int = 0
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        binary = shutil.which("redis-server")
        if binary is None:
            raise UserError("redis-server not found: run `make setup` (apt package redis-server)")
        return [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--protected-mode", "yes",
        ]  # fmt: skip

    def start(self, timeout_seconds: float = 10.0) -> None:
        if self.port == 0:
            self.port = free_port()
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            self.command(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout_seconds
        while not _pong(self.port):
            if self.proc.poll() is not None:
                raise UserError(f"redis-server exited with code {self.proc.returncode} at start")
            if time.monotonic() > deadline:
                self.kill()
                raise UserError(f"redis-server on port {self.port}: no PONG after start")
            time.sleep(0.02)

    def kill(self) -> None:
        """A crash: SIGKILL, nothing flushed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()


@contextlib.contextmanager
def running_redis(log_path: Path | None = None) -> Iterator[RedisServerProcess]:
    server = RedisServerProcess(log_path=log_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
