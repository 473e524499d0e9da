"""The fault profile: strict parsing (pure) and the runtime state with its admin override.

A profile maps a network to the faults its simulated processor injects, e.g.
``{"visa": {"timeout_rate": 0.03}, "amex": {"added_latency_ms": 400}}``. Unknown networks,
unknown fields and repeated keys are errors, never silently ignored: a typo in a drill must not
look like a pass. Errors name only names the service knows: a key a client made up is never
echoed (it could be a card number).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from paystream_auth.duplicate_keys import repeated_key
from paystream_auth.networks import NETWORKS, Network

MAX_LATENCY_MS: Final = 600_000.0


class FaultProfileError(ValueError):
    """A profile that does not validate; the message names the network and field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RepeatedKeyError(FaultProfileError):
    """A key given twice in one object: ambiguous, refused (the admin API answers 400)."""


class NetworkFaults(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Faults for one network. Rates are fractions of requests (0..1); latencies milliseconds.

    ``added_latency_ms`` delays every request; ``slow_rate`` of requests also get
    ``slow_latency_ms`` (a tail-latency regression); ``timeout_rate`` hang until the deadline;
    ``error_rate`` fail with a processor error; ``exception_rate`` raise an unexpected exception
    in the service's own code (a release's bug: 500, outcome ``unexpected_error``);
    ``decline_rate`` replaces the default decline rate.
    ``timeout_authorized_rate`` of timed-out calls were authorized at the network all the same
    (a timeout is an unknown outcome); reversals fail at ``reversal_error_rate``, hang at
    ``reversal_timeout_rate`` and take ``reversal_latency_ms`` more
    (docs/decisions/0100-timeouts-are-reversed-before-the-key-is-freed.md).
    """

    added_latency_ms: float = 0.0
    slow_rate: float = 0.0
    slow_latency_ms: float = 0.0
    timeout_rate: float = 0.0
    error_rate: float = 0.0
    exception_rate: float = 0.0
    decline_rate: float | None = None
    timeout_authorized_rate: float = 0.0
    reversal_error_rate: float = 0.0
    reversal_timeout_rate: float = 0.0
    reversal_latency_ms: float = 0.0


class InjectedFault(RuntimeError):
    """The exception ``exception_rate`` raises: nothing in the request path expects it."""

    def __init__(self, network: Network) -> None:
        super().__init__(f"injected exception on {network}")


class FaultProfile(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    visa: NetworkFaults | None = None
    mastercard: NetworkFaults | None = None
    amex: NetworkFaults | None = None
    discover: NetworkFaults | None = None

    def for_network(self, network: Network) -> NetworkFaults | None:
        faults: NetworkFaults | None = getattr(self, network)
        return faults

    def is_empty(self) -> bool:
        return all(self.for_network(n) is None for n in NETWORKS)


_RATE_FIELDS: Final = ("slow_rate", "timeout_rate", "error_rate", "exception_rate", "decline_rate")
_REVERSAL_RATE_FIELDS: Final = (
    "timeout_authorized_rate",
    "reversal_error_rate",
    "reversal_timeout_rate",
)
_LATENCY_FIELDS: Final = ("added_latency_ms", "slow_latency_ms", "reversal_latency_ms")
_FIELDS: Final = tuple(NetworkFaults.__struct_fields__)
_KNOWN_KEYS: Final = frozenset((*NETWORKS, *_FIELDS))


def _check_network(network: Network, faults: NetworkFaults) -> None:
    for field in (*_RATE_FIELDS, *_REVERSAL_RATE_FIELDS):
        value = getattr(faults, field)
        if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise FaultProfileError(
                f"{network}.{field}: expected a fraction from 0 to 1", f"{network}.{field}"
            )
    for field in _LATENCY_FIELDS:
        value = getattr(faults, field)
        if not (math.isfinite(value) and 0.0 <= value <= MAX_LATENCY_MS):
            raise FaultProfileError(
                f"{network}.{field}: expected ms (milliseconds) from 0 to {MAX_LATENCY_MS:.0f}",
                f"{network}.{field}",
            )
    if faults.timeout_rate + faults.error_rate + faults.exception_rate > 1.0:
        raise FaultProfileError(
            f"{network}: timeout_rate + error_rate + exception_rate must not exceed 1",
            f"{network}.timeout_rate",
        )
    if faults.reversal_timeout_rate + faults.reversal_error_rate > 1.0:
        raise FaultProfileError(
            f"{network}: reversal_timeout_rate + reversal_error_rate must not exceed 1",
            f"{network}.reversal_timeout_rate",
        )
    if faults.slow_rate > 0 and faults.slow_latency_ms == 0:
        raise FaultProfileError(
            f"{network}.slow_latency_ms: required when slow_rate is set",
            f"{network}.slow_latency_ms",
        )


def _explain(raw: Any) -> FaultProfileError:
    """Name the network and field msgspec refused, without echoing any value."""
    if not isinstance(raw, dict):
        return FaultProfileError("expected a JSON object mapping network names to faults")
    for key, value in raw.items():
        if key not in NETWORKS:
            return FaultProfileError(f"unknown network (expected {', '.join(NETWORKS)})")
        if value is None:
            continue
        if not isinstance(value, dict):
            return FaultProfileError(f"{key}: expected an object of fault fields", key)
        for field, field_value in value.items():
            if field not in _FIELDS:
                return FaultProfileError(
                    f"{key}: unknown field (expected {', '.join(_FIELDS)})", key
                )
            not_number = isinstance(field_value, bool) or not isinstance(field_value, int | float)
            if not_number and not (field == "decline_rate" and field_value is None):
                return FaultProfileError(f"{key}.{field}: expected a number", f"{key}.{field}")
    return FaultProfileError("not a valid fault profile")


def parse_profile(raw: bytes | str) -> FaultProfile:
    """Decode and validate a profile; raise FaultProfileError naming the network and field."""
    try:
        data = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        # Invalid UTF-8 inside a string is a UnicodeDecodeError, and an untyped decode of
        # thousands of nested arrays a RecursionError: both are just bad JSON to the caller.
        raise FaultProfileError("not valid JSON") from None
    if (repeated := repeated_key(raw)) is not None:
        if repeated in _KNOWN_KEYS:
            raise RepeatedKeyError(f"{repeated} appears more than once", repeated)
        raise RepeatedKeyError("a key appears more than once")
    try:
        profile = msgspec.convert(data, FaultProfile)
    except msgspec.ValidationError:
        raise _explain(data) from None
    for network in NETWORKS:
        faults = profile.for_network(network)
        if faults is not None:
            _check_network(network, faults)
    return profile


def profile_to_builtins(profile: FaultProfile) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.to_builtins(profile)
    return result


@dataclass(frozen=True)
class Override:
    """A profile set through the admin API, valid until ``expires_at`` (Unix seconds)."""

    profile: FaultProfile
    expires_at: float


class OverrideDocument(msgspec.Struct, frozen=True):
    """How an override is shared between granian workers through a file."""

    profile: FaultProfile
    expires_at: float


class FaultState:
    """The start-up profile (from configuration) and the admin override that expires.

    Reading the effective profile is one comparison per request; expiry is noticed lazily.
    """

    def __init__(self, startup: FaultProfile) -> None:
        self.startup = startup
        self._override: Override | None = None

    @property
    def override(self) -> Override | None:
        return self._override

    def effective(self, now: float) -> FaultProfile:
        override = self._override
        if override is not None and now < override.expires_at:
            return override.profile
        return self.startup

    def set_override(self, override: Override | None) -> None:
        self._override = override

    def expired(self, now: float) -> Override | None:
        """Drop and return an override whose TTL has passed (for the audit log)."""
        override = self._override
        if override is not None and now >= override.expires_at:
            self._override = None
            return override
        return None
