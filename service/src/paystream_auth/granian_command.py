"""The granian command line, built once: the image, the tests, the lab and the bench use it.

`service/Dockerfile`'s ENTRYPOINT is `["granian", *PRODUCTION.args()]` (a test compares them);
`paystream_ops.processes.ServiceProcess` starts the same command on loopback with its own host,
port and worker count. The limits are the pod's side of the deadline budget
(docs/decisions/0040-deadline-budget.md); the validator reads them from here to check that the
mesh's limits are stricter.

    python -m paystream_auth.granian_command [--host H] [--port P]   # exec it (`make serve`)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

APP: Final = "paystream_auth.app:app"


@dataclass(frozen=True)
class GranianOptions:
    host: str = "0.0.0.0"  # noqa: S104 - a pod listens on its own IP; loopback passes its own
    port: int = 8080
    # None: no flag, granian reads GRANIAN_WORKERS (the image sets 1).
    workers: int | None = None
    target: str = APP
    loop: str = "uvloop"
    # Headers must arrive within this, and hyper closes a kept-alive connection idle this long.
    header_read_timeout_ms: int = 5_000
    # Connections one worker holds (idle, reading or answering); beyond it they wait in the
    # kernel's listen queue of `backlog` (capped by net.core.somaxconn).
    backpressure: int = 4_096
    backlog: int = 4_096
    # After SIGTERM: the drain, the longest body, the longest request; then SIGKILL.
    workers_kill_timeout_seconds: int = 15
    respawn_failed_workers: bool = True
    # Only for tests that need a short respawn (granian's default is 3.5 s).
    respawn_interval_seconds: float | None = None

    def args(self) -> list[str]:
        """Everything after the `granian` executable."""
        args = ["--interface", "asgi", "--host", self.host, "--port", str(self.port)]
        if self.workers is not None:
            args += ["--workers", str(self.workers)]
        args += [
            "--loop",
            self.loop,
            "--http1-header-read-timeout",
            str(self.header_read_timeout_ms),
            "--backpressure",
            str(self.backpressure),
            "--backlog",
            str(self.backlog),
            "--workers-kill-timeout",
            str(self.workers_kill_timeout_seconds),
        ]
        if self.respawn_failed_workers:
            args.append("--respawn-failed-workers")
        if self.respawn_interval_seconds is not None:
            args += ["--respawn-interval", f"{self.respawn_interval_seconds:g}"]
        return [*args, self.target]


PRODUCTION: Final = GranianOptions()


def granian_executable() -> str:
    """The granian of this interpreter's environment (a venv's bin), else the one on PATH."""
    beside = Path(sys.executable).parent / "granian"
    return str(beside) if beside.exists() else shutil.which("granian") or "granian"


def main() -> None:
    parser = argparse.ArgumentParser(description="Run granian with the production command line.")
    parser.add_argument("--host", default=PRODUCTION.host)
    parser.add_argument("--port", type=int, default=PRODUCTION.port)
    options = parser.parse_args()
    argv = [granian_executable(), *GranianOptions(host=options.host, port=options.port).args()]
    os.execv(argv[0], argv)  # noqa: S606 - replaces this process: signals reach granian


if __name__ == "__main__":
    main()
