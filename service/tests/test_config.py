from __future__ import annotations

from pathlib import Path

import pytest
from paystream_auth.config import ConfigError, load_settings
from paystream_auth.faults import NetworkFaults


def test_defaults_match_the_documented_contract() -> None:
    settings = load_settings({})
    assert settings.secrets_dir == Path("/var/run/secrets/paystream")
    assert settings.version == "dev"
    assert settings.revision == "unknown"
    assert settings.processor_deadline_seconds == 2.0
    assert settings.latency_scale == 1.0
    assert settings.faults_ttl_seconds == 900
    assert settings.seed is None
    assert settings.multiproc_dir is None
    assert settings.startup_faults.is_empty()


def test_values_are_read_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "PAYSTREAM_SECRETS_DIR": str(tmp_path),
            "PAYSTREAM_VERSION": "1.4.2",
            "PAYSTREAM_PROCESSOR_DEADLINE_MS": "250",
            "PAYSTREAM_LATENCY_SCALE": "0.1",
            "PAYSTREAM_DRAIN_SECONDS": "0",
            "PAYSTREAM_SEED": "42",
            "PAYSTREAM_FAULTS": '{"visa": {"timeout_rate": 0.03}}',
        }
    )
    assert settings.secrets_dir == tmp_path
    assert settings.version == "1.4.2"
    assert settings.processor_deadline_seconds == 0.25
    assert settings.latency_scale == 0.1
    assert settings.drain_seconds == 0
    assert settings.seed == 42
    assert settings.startup_faults.visa == NetworkFaults(timeout_rate=0.03)


def test_faults_can_come_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    path.write_text('{"amex": {"error_rate": 0.5}}')
    settings = load_settings({"PAYSTREAM_FAULTS_FILE": str(path)})
    assert settings.startup_faults.amex == NetworkFaults(error_rate=0.5)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PAYSTREAM_LATENCY_SCALE": "fast"}, "PAYSTREAM_LATENCY_SCALE: expected a number"),
        ({"PAYSTREAM_LATENCY_SCALE": "-1"}, "PAYSTREAM_LATENCY_SCALE: expected a number from"),
        ({"PAYSTREAM_DRAIN_SECONDS": "nan"}, "PAYSTREAM_DRAIN_SECONDS: expected a number from"),
        ({"PAYSTREAM_PROCESSOR_DEADLINE_MS": "0"}, "PAYSTREAM_PROCESSOR_DEADLINE_MS"),
        ({"PAYSTREAM_SEED": "x"}, "PAYSTREAM_SEED: expected an integer"),
        ({"PAYSTREAM_VERSION": 'a"b'}, "PAYSTREAM_VERSION"),
        (
            {"PAYSTREAM_FAULTS": '{"visa": {"timeout_rate": 2}}'},
            "PAYSTREAM_FAULTS: visa.timeout_rate: expected a fraction from 0 to 1",
        ),
        ({"PAYSTREAM_FAULTS": '{"vias": {}}'}, "PAYSTREAM_FAULTS: unknown network (expected"),
        (
            {"PAYSTREAM_FAULTS": "{}", "PAYSTREAM_FAULTS_FILE": "/x"},
            "PAYSTREAM_FAULTS and PAYSTREAM_FAULTS_FILE are both set",
        ),
        ({"PAYSTREAM_FAULTS_FILE": "/nonexistent/f.json"}, "PAYSTREAM_FAULTS_FILE: cannot read"),
        ({"PAYSTREAM_ENVIRONMENT": "Prod!"}, "PAYSTREAM_ENVIRONMENT: expected 1 to 32"),
        ({"PAYSTREAM_IDEMPOTENCY_STORE": "etcd"}, "PAYSTREAM_IDEMPOTENCY_STORE: expected memory"),
        (
            {"PAYSTREAM_IDEMPOTENCY_STORE": "redis"},
            "PAYSTREAM_IDEMPOTENCY_STORE_URL: expected redis://",
        ),
        (
            {"PAYSTREAM_IDEMPOTENCY_STORE": "redis", "PAYSTREAM_IDEMPOTENCY_STORE_URL": "http://x"},
            "PAYSTREAM_IDEMPOTENCY_STORE_URL: expected redis://",
        ),
        ({"PAYSTREAM_ENVIRONMENT": "prod"}, "PAYSTREAM_IDEMPOTENCY_STORE: PAYSTREAM_ENVIRONMENT"),
        (
            {"PAYSTREAM_ENVIRONMENT": "prod", "PAYSTREAM_IDEMPOTENCY_STORE": "memory"},
            "PAYSTREAM_ENVIRONMENT=prod requires redis",
        ),
        (
            {"PAYSTREAM_IDEMPOTENCY_LEASE_SECONDS": "2"},
            "PAYSTREAM_IDEMPOTENCY_LEASE_SECONDS: must exceed PAYSTREAM_PROCESSOR_DEADLINE_MS",
        ),
        ({"PAYSTREAM_IDEMPOTENCY_STORE_TIMEOUT_MS": "0"}, "PAYSTREAM_IDEMPOTENCY_STORE_TIMEOUT_MS"),
        ({"PAYSTREAM_REVERSAL_ATTEMPTS": "0"}, "PAYSTREAM_REVERSAL_ATTEMPTS: expected an integer"),
        ({"PAYSTREAM_REVERSAL_DEADLINE_MS": "x"}, "PAYSTREAM_REVERSAL_DEADLINE_MS: expected a"),
        (
            {"PAYSTREAM_FAULTS": '{"visa": {"timeout_authorized_rate": 2}}'},
            "PAYSTREAM_FAULTS: visa.timeout_authorized_rate: expected a fraction",
        ),
    ],
)
def test_bad_values_fail_with_one_line_naming_the_variable(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_shared_store_is_accepted_in_prod_and_namespaced_by_environment() -> None:
    settings = load_settings(
        {
            "PAYSTREAM_ENVIRONMENT": "prod",
            "PAYSTREAM_IDEMPOTENCY_STORE": "redis",
            "PAYSTREAM_IDEMPOTENCY_STORE_URL": "redis://valkey:6379/0",
        }
    )
    assert (settings.environment, settings.idempotency_store) == ("prod", "redis")
    assert settings.idempotency_store_url == "redis://valkey:6379/0"
    defaults = load_settings({})
    assert (defaults.environment, defaults.idempotency_store) == ("dev", "memory")
    assert defaults.idempotency_store_timeout_seconds == 0.1
