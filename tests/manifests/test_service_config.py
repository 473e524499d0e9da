"""The service configuration each overlay renders, read by the service's own parser.

The overlay's environment name (environment.yaml) reaches the pods as PAYSTREAM_ENVIRONMENT,
and prod refuses to start without the shared idempotency store
(docs/decisions/0070-shared-idempotency-store.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from paystream_auth.config import ConfigError, load_settings
from paystream_ops.render import render


def service_config(overlay: Path) -> dict[str, str]:
    maps = [
        obj
        for obj in render(overlay)
        if obj.get("kind") == "ConfigMap"
        and str(obj["metadata"]["name"]).startswith("auth-service-config-")
    ]
    assert len(maps) == 1, [m["metadata"]["name"] for m in maps]
    data: dict[str, str] = dict(maps[0]["data"])
    data.pop("PAYSTREAM_FAULTS_FILE")  # a file mounted in the pod, absent here
    return data


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_the_overlay_environment_reaches_the_service(repo_root: Path, environment: str) -> None:
    config = service_config(repo_root / "overlays" / environment)
    assert config["PAYSTREAM_ENVIRONMENT"] == environment


def test_staging_config_is_accepted_by_the_service(repo_root: Path) -> None:
    settings = load_settings(service_config(repo_root / "overlays" / "staging"))
    assert settings.environment == "staging"


def test_prod_without_the_shared_store_is_refused_at_start(repo_root: Path) -> None:
    """Until the store is deployed (issue 16, item 4), prod's pods would refuse to start."""
    config = service_config(repo_root / "overlays" / "prod")
    if config.get("PAYSTREAM_IDEMPOTENCY_STORE") == "redis":
        assert load_settings(config).idempotency_store == "redis"
        return
    with pytest.raises(ConfigError, match="PAYSTREAM_ENVIRONMENT=prod requires redis"):
        load_settings(config)
