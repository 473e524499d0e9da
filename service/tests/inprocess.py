"""An in-process runtime for tests of the authorization flow (no HTTP, no granian)."""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from paystream_auth.config import load_settings
from paystream_auth.problems import Problem
from paystream_auth.runtime import Runtime
from paystream_auth.service import Reply
from prometheus_client.parser import text_string_to_metric_families


def make_runtime(tmp_path: Path, **env: str) -> tuple[Runtime, Path]:
    """A runtime with generated secrets; its JSON log goes to a file it returns.

    Runtimes built on one `tmp_path` share the secrets (as pods do), so two of them on one
    redis-server are two pods sharing the idempotency store.
    """
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir(exist_ok=True)
    for name in ("admin-token", "processor-api-key", "idempotency-hmac-key"):
        if not (secrets_dir / name).exists():
            (secrets_dir / name).write_text(secrets.token_urlsafe(24))
    environment = {
        "PAYSTREAM_SECRETS_DIR": str(secrets_dir),
        "PAYSTREAM_SEED": "1",
        "PAYSTREAM_LATENCY_SCALE": "0",
        **env,
    }
    log_path = tmp_path / f"service-{secrets.token_hex(3)}.log"
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    return Runtime.build(load_settings(environment), environment, log_fd=fd), log_path


async def send(runtime: Runtime, body: bytes, key: str | None = None) -> Reply | Problem:
    """One authorization through the service's flow: its reply, or the problem it raised."""
    try:
        return await runtime.service.authorize(body, key, time.perf_counter())
    except Problem as problem:
        return problem


def status(answer: Reply | Problem) -> int:
    return answer.status_code if isinstance(answer, Reply) else answer.status


def request_body(card_number: str, **overrides: object) -> bytes:
    document: dict[str, object] = {
        "card_number": card_number,
        "amount": 1999,
        "currency": "USD",
        "merchant_id": "m_42",
    }
    document.update(overrides)
    return json.dumps(document).encode()


def samples(exposition: bytes, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample called `name`, keyed by its sorted labels."""
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(exposition.decode()):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def count(exposition: bytes, network: str, outcome: str) -> float:
    key = (("network", network), ("outcome", outcome))
    return samples(exposition, "paystream_auth_requests_total").get(key, 0.0)
