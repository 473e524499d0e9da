"""Repeated keys in a JSON object: `{"amount": 1, "amount": 100000}` is ambiguous, not "last wins".

JSON decoders (msgspec, the standard library) keep the last value of a repeated key, so two
`card_number`s would authorize the second. These functions find the repetition; the callers
answer 400 naming the key, and only a key they know (a client's own key is never echoed).

`repeated_field` is the hot path's: without a backslash in the body every key is written
literally, so a field repeated is its quoted name twice, followed by `:` (a string value is never
followed by `:`); a count per name settles it in well under a microsecond. A body with escapes
(`"card\\u005fnumber"` is `card_number` too) goes through the exact, slower parse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any


class _Repeated(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _Repeated(key)
        seen.add(key)
    return dict(pairs)


def repeated_key(document: bytes | str) -> str | None:
    """The first key repeated in any object of `document`; None if none (or not JSON)."""
    try:
        json.loads(document, object_pairs_hook=_refuse_repeats)
    except _Repeated as exc:
        return exc.key
    except (ValueError, RecursionError):  # not JSON: the real decoder says so
        return None
    return None


class FieldNames:
    """The known top-level fields of a flat JSON body, for `repeated_field`."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = tuple(names)
        self._literals = tuple((name, f'"{name}"'.encode()) for name in self.names)
        self._as_keys = {
            name: re.compile(re.escape(f'"{name}"'.encode()) + rb"\s*:") for name in self.names
        }

    def repeated_field(self, body: bytes) -> str | None:
        """A known field given twice in `body`; None otherwise (unknown keys: the decoder's)."""
        if b"\\" in body:
            key = repeated_key(body)
            return key if key in self._as_keys else None
        for name, literal in self._literals:
            if body.count(literal) > 1 and len(self._as_keys[name].findall(body)) > 1:
                return name
        return None
