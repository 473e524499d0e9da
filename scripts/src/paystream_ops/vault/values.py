"""Secret values: generated with `secrets`, read from a file or stdin, never printable.

A value never comes from argv (shell history, `ps`, CI logs) and never from git. `SecretValue`
hides itself from `repr`/`str`, so an accidental print or a log line shows `SecretValue(***)`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import IO

import msgspec

from paystream_ops.errors import UserError
from paystream_ops.vault.contract import SECRET_NAMES

# Every value `paystream-ops` generates carries this prefix so a leak is recognisable: the
# repository secret scan (tests/security/trivy-secret.yaml) has a rule for exactly this shape.
GENERATED_PREFIX = "paystream_"
GENERATED_BYTES = 32  # 256 bits of entropy; token_urlsafe(32) is 43 characters
GENERATED_PATTERN = re.compile(r"paystream_[A-Za-z0-9_-]{43}")

MIN_LENGTH = 16
MAX_LENGTH = 4096
_PRINTABLE = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class SecretValue:
    """A secret string that does not show itself."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretValue(***)"

    __str__ = __repr__


def generate() -> SecretValue:
    return SecretValue(GENERATED_PREFIX + secrets.token_urlsafe(GENERATED_BYTES))


def check_value(raw: str, where: str) -> SecretValue:
    """One line of printable ASCII without spaces, 16..4096 characters (never echoed back)."""
    value = raw[:-1] if raw.endswith("\n") else raw
    value = value[:-1] if value.endswith("\r") else value
    if not value:
        raise UserError(f"{where}: empty value")
    if len(value) < MIN_LENGTH:
        raise UserError(
            f"{where}: value is {len(value)} characters; at least {MIN_LENGTH} required"
        )
    if len(value) > MAX_LENGTH:
        raise UserError(f"{where}: value is longer than {MAX_LENGTH} characters")
    if _PRINTABLE.fullmatch(value) is None:
        raise UserError(
            f"{where}: value must be one line of printable ASCII without spaces "
            "(the pod reads it verbatim from a file)"
        )
    return SecretValue(value)


def read_single(stream: IO[str], where: str = "stdin") -> SecretValue:
    """One value from a stream (rotation): the whole input, one trailing newline allowed."""
    return check_value(stream.read(), where)


def parse_seeds(text: str, where: str) -> dict[str, SecretValue]:
    """Initial values as a JSON object `{"processor-api-key": "...", "admin-token": "..."}`.

    Any subset of the known names is allowed (the rest can be generated); unknown names are an
    error naming the field, values are never echoed.
    """
    try:
        decoded = msgspec.json.decode(text.encode(), type=dict[str, str])
    except msgspec.ValidationError as exc:
        raise UserError(f"{where}: expected a JSON object of strings: {exc}") from None
    except msgspec.DecodeError:
        raise UserError(f'{where}: not valid JSON (expected {{"<name>": "<value>"}})') from None
    seeds: dict[str, SecretValue] = {}
    for name, raw in decoded.items():
        if name not in SECRET_NAMES:
            raise UserError(
                f"{where}: {name!r}: unknown secret; expected {', '.join(SECRET_NAMES)}"
            )
        seeds[name] = check_value(raw, f"{where}: {name}")
    return seeds


def looks_like_a_value(argument: str) -> bool:
    """True when a path-taking option was given secret material instead of a path."""
    return any(marker in argument for marker in ("{", "=", "\n", ":")) or bool(
        GENERATED_PATTERN.search(argument)
    )
