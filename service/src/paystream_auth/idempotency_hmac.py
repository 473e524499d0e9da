"""Keyed hashes for idempotency: the store key and the request fingerprint carry no card data.

A plain SHA-256 of a request is no protection for a card number (16 digits with a known BIN and
a Luhn digit are enumerable), so both are HMAC-SHA256 under a secret every pod shares
(`idempotency-hmac-key` in PAYSTREAM_SECRETS_DIR). The store key also binds the merchant: one
merchant's key never meets another's. See docs/decisions/0054-shared-idempotency-store.md.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import Final

HMAC_KEY_FILE: Final = "idempotency-hmac-key"
MIN_KEY_BYTES: Final = 16


class IdempotencyHasher:
    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"paystream-idempotency-key", hashlib.sha256).digest()
        self._body = hmac.new(secret, b"paystream-idempotency-body", hashlib.sha256).digest()

    def scoped_key(self, merchant_id: str, idempotency_key: str) -> str:
        """64 hex digits naming (merchant, key); both are validated ASCII without NUL."""
        message = f"{merchant_id}\0{idempotency_key}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def fingerprint(self, encoded_request: bytes) -> bytes:
        """32 bytes: equal for equal requests, meaningless without the secret."""
        return hmac.new(self._body, encoded_request, hashlib.sha256).digest()


def load_hmac_secret(secrets_dir: Path, *, required: bool) -> bytes | None:
    """The shared secret, or None when absent and not required; ValueError says what is wrong."""
    path = secrets_dir / HMAC_KEY_FILE
    try:
        secret = path.read_bytes().strip()
    except FileNotFoundError:
        if required:
            raise ValueError(f"{path} is missing") from None
        return None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    if len(secret) < MIN_KEY_BYTES:
        raise ValueError(f"{path} must hold at least {MIN_KEY_BYTES} bytes")
    return secret


def process_local_hasher() -> IdempotencyHasher:
    """For the per-process memory store: a random secret is as good as a shared one."""
    return IdempotencyHasher(os.urandom(32))
