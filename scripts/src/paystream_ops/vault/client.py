"""The thin edge between the planning core and a real Vault/OpenBao server (hvac).

Reads return plain dicts (or None when the thing does not exist); every failure becomes one
`UserError` line naming the address and path. The token is never printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import hvac
import hvac.exceptions
import requests

from paystream_ops.errors import UserError

TIMEOUT_SECONDS = 10.0


@dataclass
class VaultClient:
    address: str
    client: hvac.Client

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> VaultClient:
        """`VAULT_ADDR` and `VAULT_TOKEN` (and `VAULT_CACERT` for a private CA), like `bao`."""
        address = environ.get("VAULT_ADDR", "").strip()
        token = environ.get("VAULT_TOKEN", "").strip()
        if not address:
            raise UserError("VAULT_ADDR is not set (e.g. https://vault.example:8200)")
        if not token:
            raise UserError(
                "VAULT_TOKEN is not set: log in first (`bao login`) and export the token"
            )
        verify: bool | str = environ.get("VAULT_CACERT") or True
        client = hvac.Client(url=address, token=token, timeout=TIMEOUT_SECONDS, verify=verify)
        return cls(address=address, client=client)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"/v1/{path}"
        try:
            return self.client.adapter.request(method, url, **kwargs)
        except hvac.exceptions.Forbidden:
            raise UserError(
                f"{self.address}: {method} {path}: permission denied (403): the token in "
                "VAULT_TOKEN lacks this capability"
            ) from None
        except hvac.exceptions.Unauthorized:
            raise UserError(
                f"{self.address}: {method} {path}: unauthorized (401): VAULT_TOKEN is invalid "
                "or expired"
            ) from None
        except hvac.exceptions.InvalidPath:
            raise
        except hvac.exceptions.VaultError as exc:
            reasons = "; ".join(exc.errors or []) if exc.errors else type(exc).__name__
            raise UserError(f"{self.address}: {method} {path}: {reasons}") from None
        except requests.exceptions.RequestException as exc:
            raise UserError(
                f"VAULT_ADDR={self.address}: unreachable ({type(exc).__name__}); is Vault up "
                "and the address right?"
            ) from None

    def read(self, path: str) -> dict[str, Any] | None:
        """The `data` of `GET /v1/<path>`, or None for 404."""
        try:
            response = self._call("GET", path)
        except hvac.exceptions.InvalidPath:
            return None
        if not isinstance(response, dict):
            return None
        data = response.get("data")
        return data if isinstance(data, dict) else None

    def write(self, path: str, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            response = self._call("POST", path, json=dict(payload))
        except hvac.exceptions.InvalidPath:
            raise UserError(f"{self.address}: POST {path}: no such path (404)") from None
        return response if isinstance(response, dict) else None

    def mounts(self) -> dict[str, Any]:
        """Secrets engines by path (`paystream/` -> {type, options, ...})."""
        return self.read("sys/mounts") or {}

    def auth_methods(self) -> dict[str, Any]:
        return self.read("sys/auth") or {}

    def check_token(self) -> None:
        """Fail early with one line when the address or token is wrong.

        Vault answers 403, not 401, for a token it does not know: say what that means here.
        """
        try:
            self.client.adapter.request("GET", "/v1/auth/token/lookup-self")
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
            raise UserError(
                f"{self.address}: VAULT_TOKEN is invalid, expired or revoked (lookup-self denied)"
            ) from None
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException):
            self._call("GET", "auth/token/lookup-self")  # the same failure, as one line

    def delete_versions(self, mount: str, path: str, versions: Iterable[int]) -> None:
        """Soft-delete: the data stays recoverable (`undelete`) until max_versions drops it."""
        numbers = sorted(versions)
        if numbers:
            self.write(f"{mount}/delete/{path}", {"versions": numbers})
