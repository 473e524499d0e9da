"""The drain judgement's negative cases (a real drain cannot be made to break them)."""

from __future__ import annotations

import json

from .drain_log import Sent, broken_promises, read_service_log


def test_a_request_read_but_unanswered_timed_out_or_failed_breaks_the_promise() -> None:
    processed = frozenset({"m_c0_1", "m_c0_2"})
    kept = [Sent("m_c0_1", 200, None), Sent("m_c0_3", None, "ConnectError")]
    assert broken_promises(kept, processed) == []
    dropped = Sent("m_c0_2", None, "RemoteProtocolError")  # read, then closed unanswered
    timed_out = Sent("m_c0_4", None, "ReadTimeout")
    failed = Sent("m_c0_5", 503, None)
    assert len(broken_promises([*kept, dropped, timed_out, failed], processed)) == 3


def test_the_log_gives_the_requests_read_those_served_during_the_drain_and_the_5xx() -> None:
    lines = [
        {"ts": 1.0, "event": "authorize", "status": 200, "merchant_id": "m_c0_1"},
        {"ts": 2.0, "event": "drain.start"},
        {"ts": 2.5, "event": "authorize", "status": 200, "merchant_id": "m_c0_2"},
        {"ts": 3.0, "event": "drain.end"},
        {"ts": 3.5, "event": "authorize", "status": 500, "merchant_id": "m_c1_1"},
        {"ts": 3.6, "event": "authorize", "status": 408, "merchant_id": None},
    ]
    log = "granian starting\n" + "".join(json.dumps(line) + "\n" for line in lines)
    read = read_service_log(log)
    assert read.processed == {"m_c0_1", "m_c0_2", "m_c1_1"}
    assert (read.served_during_drain, read.server_errors) == (1, 1)
