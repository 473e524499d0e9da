"""A real `redis-server` on loopback: the shared idempotency store in tests and the lab.

Without `data_dir` nothing persists (`--save ""`, no AOF). With it, every write is in the
append-only file before the reply (`appendfsync always`), so a crash (`kill()`, SIGKILL) and a
`start()` on the same port and directory bring every record back: what a store needs so that
a retry after its restart still replays the first answer.
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
    """Up: PONG, or the NOAUTH error a server with a password answers before AUTH."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith((b"+PONG", b"-NOAUTH"))
    return False


@dataclass
class RedisServerProcess:
    port: int = 0
    log_path: Path | None = None
    data_dir: Path | None = None
    password: str | None = None  # --requirepass, as the cluster's store requires AUTH
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        binary = shutil.which("redis-server")
        if binary is None:
            raise UserError("redis-server not found: run `make setup` (apt package redis-server)")
        persistence = (
            ["--dir", str(self.data_dir), "--appendonly", "yes", "--appendfsync", "always"]
            if self.data_dir is not None
            else ["--appendonly", "no"]
        )
        return [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--protected-mode", "yes",
            *(["--requirepass", self.password] if self.password else []),
            *persistence,
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
def running_redis(
    log_path: Path | None = None, data_dir: Path | None = None, password: str | None = None
) -> Iterator[RedisServerProcess]:
    server = RedisServerProcess(log_path=log_path, data_dir=data_dir, password=password)
    server.start()
    try:
        yield server
    finally:
        server.stop()
