"""Graceful shutdown inside a granian worker: fail readiness, keep serving, then stop.

What granian does on its own (2.x, checked in its source and on this machine): the kubelet's
SIGTERM reaches PID 1, the granian main process, which sends SIGTERM to every worker and waits
for them. A worker's SIGTERM/SIGINT handler (installed with `loop.add_signal_handler` before the
ASGI lifespan starts) stops accepting connections at once, lets in-flight requests finish, and
only then runs the lifespan shutdown. So without help a worker refuses new connections the
moment SIGTERM arrives, before any load balancer has noticed.

`Drain.install` (called from the lifespan startup, so after granian's handlers exist) replaces the
worker's SIGTERM handler with ours: readiness turns 503 at once, every response says
`Connection: close` so keep-alive clients reconnect (and land on another endpoint once the
removal has propagated), and requests are still served for `drain_seconds`. Then we send
ourselves SIGINT, which granian still handles with its own handler: stop accepting, finish
in-flight requests, lifespan shutdown, exit. SIGINT (Ctrl-C) itself still stops at once.

A SIGTERM that reached the worker while it was still importing the app is recorded by
`early_sigterm` and starts the drain as soon as `install` runs.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from typing import Any, Final

from litestar import Response

from paystream_auth import early_sigterm

Notify = Callable[[str, dict[str, Any]], None]


class Drain:
    def __init__(self, drain_seconds: float, notify: Notify) -> None:
        self.drain_seconds = drain_seconds
        self.draining = False
        self.installed = False
        self._notify = notify
        self._timer: asyncio.TimerHandle | None = None

    def install(self) -> bool:
        """Take over SIGTERM in this worker; False where signals cannot be handled (tests)."""
        try:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGTERM, self.begin)
        except (NotImplementedError, RuntimeError, ValueError):
            return False
        self.installed = True
        if early_sigterm.received():
            self.begin()
        return True

    def begin(self) -> None:
        """SIGTERM: readiness fails now; the worker stops after the drain delay."""
        if self.draining:
            return
        self.draining = True
        self._notify("drain.start", {"drain_seconds": self.drain_seconds})
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.drain_seconds, self._stop_accepting)

    def _stop_accepting(self) -> None:
        self._notify("drain.end", {})
        # granian's own SIGINT handler: stop accepting, finish in-flight requests, exit.
        os.kill(os.getpid(), signal.SIGINT)

    def extra_headers(self, headers: dict[str, str] | None) -> dict[str, str] | None:
        """`headers` plus `Connection: close` while draining (for responses built by hand)."""
        if not self.draining:
            return headers
        return {**headers, **CLOSE} if headers else dict(CLOSE)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


CLOSE: Final = {"Connection": "close"}


def close_while_draining(drain: Drain) -> Callable[[Response[Any]], Response[Any]]:
    """Litestar `after_request` hook: while draining, every response says `Connection: close`.

    Outside a drain it costs one attribute read per request. The hot path (an ASGI route) and
    the exception handlers add the header themselves (`Drain.extra_headers`).
    """

    def hook(response: Response[Any]) -> Response[Any]:
        if drain.draining:
            response.headers["Connection"] = "close"
        return response

    return hook
