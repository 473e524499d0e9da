"""`paystream-loadgen` as the Job runs it: a real process against a real HTTP/1.1 server on
loopback. It sends test cards to the one route at the configured rate, stops on SIGTERM (the
AnalysisRun deleting the Job) with exit 0 and final counts; a bad setting is one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from paystream_auth.test_cards import is_test_card
from paystream_loadgen.engine import CLASSES
from paystream_loadgen.settings import CARD_MIX, DURATION, RATE, REPORT, URL

pytestmark = pytest.mark.integration


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cards: list[str] = []  # noqa: RUF012 (one server per test module)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).cards.append(json.loads(body)["card_number"])
        answer = b'{"status":"approved"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[tuple[int, list[str]]]:
    _Recorder.cards = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], _Recorder.cards
    httpd.shutdown()
    httpd.server_close()


def _start(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "paystream_loadgen.cluster"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_it_sends_test_cards_until_sigterm_and_exits_cleanly(
    server: tuple[int, list[str]],
) -> None:
    port, cards = server
    proc = _start(
        {
            URL: f"http://127.0.0.1:{port}",
            RATE: "40",
            CARD_MIX: "visa=1,amex=1",
            REPORT: "0.2",
        }
    )
    time.sleep(1.5)
    assert proc.poll() is None  # no duration: it runs until it is told to stop
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    final = json.loads(out.strip().splitlines()[-1])
    assert final["final"] is True
    sent = sum(c for n in final["counts"].values() for c in n.values())
    assert sent == len(cards) > 20  # about 40/s for ~1.5 s, every one answered
    assert all(is_test_card(card) for card in cards)
    assert final["counts"]["mastercard"] == dict.fromkeys(CLASSES, 0)
    assert final["counts"]["visa"]["ok"] > 0 and final["counts"]["amex"]["ok"] > 0


def test_a_duration_ends_it_on_its_own(server: tuple[int, list[str]]) -> None:
    port, _ = server
    proc = _start(
        {URL: f"http://127.0.0.1:{port}", RATE: "20", CARD_MIX: "visa=1", DURATION: "0.5"}
    )
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err


def test_a_bad_setting_exits_2_with_one_line_and_no_traceback() -> None:
    proc = _start({URL: "http://x:1", RATE: "10", CARD_MIX: "visa=1,jcb=2"})
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 2
    assert err.strip().count("\n") == 0
    assert err.startswith("paystream-loadgen: PAYSTREAM_LOADGEN_CARD_MIX:")
    assert "Traceback" not in err


def test_an_unreachable_route_is_counted_as_failures_not_a_crash() -> None:
    proc = _start({URL: "http://127.0.0.1:9", RATE: "20", CARD_MIX: "visa=1", DURATION: "0.6"})
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    final = json.loads(out.strip().splitlines()[-1])
    assert final["counts"]["visa"]["fail"] > 0 and final["counts"]["visa"]["ok"] == 0
