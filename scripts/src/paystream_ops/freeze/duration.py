"""A sync window's `duration`, read as Go's `time.ParseDuration` reads it (Argo CD v3.5.1,
`SyncWindow.active`): `[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+`, units ns us µs ms s m h, no days; "0"
alone is allowed; the result must fit an int64 of nanoseconds (go/src/time/format.go)."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # U+00B5 micro sign
    "\u03bcs": 1_000,  # U+03BC Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_MAX_NS = 2**63 - 1


class DurationError(ValueError):
    """Not a Go duration."""


def parse_go_duration(text: str) -> timedelta:
    """The duration, or DurationError with Go's reason."""
    invalid = DurationError(f'time: invalid duration "{text}"')
    s = text
    negative = False
    if s[:1] in ("-", "+"):
        negative, s = s[0] == "-", s[1:]
    if s == "0":
        return timedelta(0)
    if not s:
        raise invalid
    total = Fraction(0)
    while s:
        if not (s[0] == "." or (s[0].isascii() and s[0].isdigit())):
            raise invalid
        i = 0
        while i < len(s) and s[i].isascii() and s[i].isdigit():
            i += 1
        whole, s = s[:i], s[i:]
        frac = ""
        if s[:1] == ".":
            j = 1
            while j < len(s) and s[j].isascii() and s[j].isdigit():
                j += 1
            frac, s = s[1:j], s[j:]
            if not whole and not frac:
                raise invalid
        elif not whole:
            raise invalid
        k = 0
        while k < len(s) and s[k] != "." and not (s[k].isascii() and s[k].isdigit()):
            k += 1
        unit, s = s[:k], s[k:]
        if not unit:
            raise DurationError(f'time: missing unit in duration "{text}"')
        if unit not in _UNITS_NS:
            raise DurationError(f'time: unknown unit "{unit}" in duration "{text}"')
        value = Fraction(int(whole or "0")) + (Fraction(int(frac), 10 ** len(frac)) if frac else 0)
        total += value * _UNITS_NS[unit]
        if total > _MAX_NS:
            raise invalid
    nanoseconds = int(total)  # Go truncates the fraction of a nanosecond
    return timedelta(microseconds=(-nanoseconds if negative else nanoseconds) / 1000)
