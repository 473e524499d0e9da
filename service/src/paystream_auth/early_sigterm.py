"""Remember a SIGTERM that reaches a granian worker before it can handle one.

A granian worker imports the app before installing its signal handlers, and a forked worker
inherits the main process's Python handler, which only flags the main process's own state: a
SIGTERM landing during that import (about half a second of Litestar imports) was simply lost,
and that worker served on until SIGKILL. The package's `__init__` calls `install()` first
thing, in granian workers only (granian names them `granian-worker`); `Drain.install` then
starts the drain at once if a SIGTERM came. Process-wide by nature, like any signal handler.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from typing import Final

_RECEIVED: Final[list[bool]] = []


def _remember(_signum: int, _frame: object) -> None:
    _RECEIVED.append(True)


def install() -> None:
    if multiprocessing.current_process().name != "granian-worker":
        return
    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGTERM, _remember)


def received() -> bool:
    return bool(_RECEIVED)
