from __future__ import annotations

import asyncio
import json
import os

from paystream_auth.logs import JsonLog


def read_lines(fd: int) -> list[dict[str, object]]:
    os.set_blocking(fd, False)
    data = os.read(fd, 65536)
    return [json.loads(line) for line in data.decode().splitlines()]


def test_request_lines_are_one_json_object_each() -> None:
    read_fd, write_fd = os.pipe()
    try:
        log = JsonLog(write_fd)
        log.request(
            transaction_id="txn_ab",
            network="visa",
            outcome="declined",
            status=200,
            latency_seconds=0.0123,
            merchant_id="m_42",
            replay=False,
        )
        log.request(
            transaction_id=None,
            network="unknown",
            outcome="invalid",
            status=422,
            latency_seconds=0.0001,
            merchant_id=None,
            replay=False,
        )
        lines = read_lines(read_fd)
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert lines[0]["transaction_id"] == "txn_ab"
    assert lines[0]["outcome"] == "declined"
    assert lines[0]["latency_ms"] == 12.3
    assert lines[1]["transaction_id"] is None
    assert lines[1]["merchant_id"] is None


def test_event_lines_mask_anything_that_looks_like_a_card_number() -> None:
    read_fd, write_fd = os.pipe()
    try:
        JsonLog(write_fd).event("audit", note="card 4111111111111111 seen")
        (line,) = read_lines(read_fd)
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert "4111111111111111" not in json.dumps(line)
    assert line["note"] == "card 411111******1111 seen"


def test_event_lines_mask_card_numbers_with_separators_in_every_string_but_not_numbers() -> None:
    read_fd, write_fd = os.pipe()
    try:
        JsonLog(write_fd).event(
            "audit",
            path="/cards/4556-7375-8689-9855",
            nested={"4556_7375_8689_9855": ["4556.7375.8689.9855"]},
            count=4556737586899855,
        )
        (line,) = read_lines(read_fd)
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert line["path"] == "/cards/455673******9855"
    assert line["nested"] == {"455673******9855": ["455673******9855"]}
    assert line["count"] == 4556737586899855  # numbers are the service's own, never a client's


def test_a_merchant_id_that_looks_like_a_card_number_is_masked() -> None:
    read_fd, write_fd = os.pipe()
    try:
        JsonLog(write_fd).request(
            transaction_id="txn_1",
            network="visa",
            outcome="approved",
            status=200,
            latency_seconds=0.001,
            merchant_id="m-4556-7375-8689-9855",
            replay=False,
        )
        (line,) = read_lines(read_fd)
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert line["merchant_id"] == "m-455673******9855"


def test_request_lines_inside_a_loop_are_batched_and_flushed_by_an_event() -> None:
    read_fd, write_fd = os.pipe()
    try:
        log = JsonLog(write_fd)

        async def main() -> list[dict[str, object]]:
            for index in range(3):
                log.request(
                    transaction_id=f"txn_{index}",
                    network="visa",
                    outcome="approved",
                    status=200,
                    latency_seconds=0.001,
                    merchant_id="m",
                    replay=False,
                )
            assert read_lines_nonblocking(read_fd) == []  # nothing written yet
            log.event("audit", action="x")  # flushes the pending lines first, in order
            return read_lines(read_fd)

        lines = asyncio.run(main())
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert [line["event"] for line in lines] == ["authorize"] * 3 + ["audit"]


def read_lines_nonblocking(fd: int) -> list[dict[str, object]]:
    os.set_blocking(fd, False)
    try:
        data = os.read(fd, 65536)
    except BlockingIOError:
        return []
    return [json.loads(line) for line in data.decode().splitlines()]
