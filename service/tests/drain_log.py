"""What the SIGTERM drain promises a client, judged from the service's own request log.

A client cannot tell from its clock whether a request reached the listener before it closed: a
request begun just before the close can arrive just after. The service's log can: it holds one
line per request the service read (`merchant_id` makes each request findable). see
docs/service.md#shutdown
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass


@dataclass
class Sent:
    merchant_id: str  # unique per request: finds it in the service's request log
    status: int | None
    error: str | None


# What a client sees of a request the service never read, all before any byte of an answer: the
# listener was closed (refused), or the connection was accepted as the listener closed and then
# closed or reset unread. Safe to retry (docs/service.md#shutdown).
REFUSALS = frozenset({"ConnectError", "RemoteProtocolError", "ReadError", "WriteError"})


@dataclass(frozen=True)
class ServiceLog:
    processed: frozenset[str]  # merchant ids of the requests the service read and answered
    served_during_drain: int
    # Requests it answered 5xx or gave up on (a request cancelled by the shutdown counts as 500).
    server_errors: int


def read_service_log(text: str) -> ServiceLog:
    processed: set[str] = set()
    times: list[float] = []
    server_errors = 0
    events: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record["event"] == "authorize":
            server_errors += record["status"] >= 500
            if record["merchant_id"]:
                processed.add(record["merchant_id"])
                times.append(record["ts"])
        elif record["event"] in ("drain.start", "drain.end"):
            events[record["event"]] = record["ts"]
    start, end = events.get("drain.start", math.inf), events.get("drain.end", -math.inf)
    during = sum(1 for ts in times if start <= ts <= end)
    return ServiceLog(frozenset(processed), during, server_errors)


def broken_promises(sent: list[Sent], processed: frozenset[str]) -> list[str]:
    """What the drain promises a client: every request the service read is answered (200), and
    a request it did not read fails at the connection level, never with a status or a timeout.

    Judged by the service's own log, not by when the client started a request: a request begun
    just before the listener closes may reach it just after (the client's clock cannot tell).
    """
    broken = []
    for request in sent:
        if request.merchant_id in processed and request.status != 200:
            broken.append(f"{request.merchant_id}: read by the service, answered {request}")
        elif request.merchant_id not in processed and (
            request.status is not None or request.error not in REFUSALS
        ):
            broken.append(f"{request.merchant_id}: never read by the service, yet {request}")
    return broken
