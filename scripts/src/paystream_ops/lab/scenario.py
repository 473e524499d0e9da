"""Lab scenarios: YAML files describing a release, its traffic and the verdict it must get.

A scenario is found by name in `paystream_ops/lab/scenarios/NAME.yaml`, or read from a path.
The format is documented field by field below and in `scenarios/README.md`; its JSON schema
(`scenarios/scenario.schema.json`, generated from these classes) lets editors check the files.
A file that does not fit is a `UserError` naming the file and the field.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Literal

import msgspec
import yaml
from paystream_ops.errors import UserError

NETWORKS: tuple[str, ...] = ("visa", "mastercard", "amex", "discover")
SCHEMA_FILE = "scenario.schema.json"
Verdict = Literal["promoted", "aborted", "paused-inconclusive", "paused", "degraded"]
OVERLAYS: tuple[str, ...] = ("staging", "prod")
DecidedBy = Literal["step analysis", "background analysis", "progress deadline", "steps"]


DEFAULT_PAUSE_HOLD_SECONDS = 300.0
MAX_PAUSE_HOLD_SECONDS = 3600.0


class NetworkFaults(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Faults the release injects for one card network (the service's fault profile fields).

    Latencies are real-time milliseconds; the lab's `PAYSTREAM_LATENCY_SCALE` shrinks them.
    """

    added_latency_ms: float | None = None
    slow_rate: float | None = None
    slow_latency_ms: float | None = None
    timeout_rate: float | None = None
    # The share of timed-out calls the network authorized all the same (decision 0100).
    timeout_authorized_rate: float | None = None
    error_rate: float | None = None
    exception_rate: float | None = None
    decline_rate: float | None = None


class FaultProfile(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Per-network faults, as `PAYSTREAM_FAULTS` takes them."""

    visa: NetworkFaults | None = None
    mastercard: NetworkFaults | None = None
    amex: NetworkFaults | None = None
    discover: NetworkFaults | None = None

    def items(self) -> list[tuple[str, NetworkFaults]]:
        return [(n, f) for n in NETWORKS if (f := getattr(self, n)) is not None]


class Release(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A version of the service as the lab starts it.

    `faults`: the fault profile the release carries (`PAYSTREAM_FAULTS`).
    `faults_json`: raw `PAYSTREAM_FAULTS` text instead, to ship a profile that does not parse.
    `env`: extra `PAYSTREAM_*` environment for this release only.
    `missing_secrets`: secret files the release expects that are not mounted.
    """

    version: str = "1.0.0"
    faults: FaultProfile = msgspec.field(default_factory=FaultProfile)
    faults_json: str | None = None
    env: dict[str, str] = msgspec.field(default_factory=dict)
    missing_secrets: list[Literal["admin-token", "processor-api-key"]] = msgspec.field(
        default_factory=list
    )


class Traffic(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Customer traffic in real-time-equivalent terms (the lab multiplies the rate by F)."""

    rate_per_second: float = 300.0
    card_mix: dict[str, float] = msgspec.field(
        default_factory=lambda: {"visa": 0.5, "mastercard": 0.3, "amex": 0.12, "discover": 0.08}
    )
    # `retrying`: callers send an Idempotency-Key and retry a failed authorization with it
    # (docs/decisions/0118-lab-callers-retry-with-the-same-key.md); `single`: each request once.
    callers: Literal["single", "retrying"] = "single"
    # The share of customers who are retrying callers (the rest send once, without a key): each
    # keyed request costs the service two store round trips, more than this host can give at
    # every scenario's rate.
    retrying_share: float = 1.0


class Expectation(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """What the platform must decide on one overlay."""

    verdict: Verdict
    decided_by: DecidedBy | None = None
    max_affected_transactions: int | None = None
    max_analysis_intervals: float | None = None  # decision within N intervals of first traffic


class OverlayExpectations(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The overlays whose expectation differs from the scenario's default."""

    staging: Expectation | None = None
    prod: Expectation | None = None


class Expect(Expectation, forbid_unknown_fields=True, omit_defaults=True):
    """What the platform must decide. Checked by the tests and by the CLI's exit code.

    `overlays`: an overlay whose verdict differs (staging brings its own synthetic load, so a
    quiet hour that pauses prod is decided there) states its whole expectation, replacing the
    fields above for runs on that overlay.
    see docs/decisions/0124-scenario-expectation-per-overlay.md
    """

    overlays: OverlayExpectations = msgspec.field(default_factory=OverlayExpectations)

    def for_overlay(self, overlay: str) -> Expectation:
        """The expectation a run on `overlay` (`staging` or `overlays/staging`) must meet."""
        name = overlay.rstrip("/").rpartition("/")[2]
        own = getattr(self.overlays, name, None) if name in OVERLAYS else None
        if isinstance(own, Expectation):
            return own
        return Expectation(
            self.verdict,
            self.decided_by,
            self.max_affected_transactions,
            self.max_analysis_intervals,
        )


class Scenario(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A release, the traffic it meets and the verdict it must get.

    `baseline`: the card networks' everyday failures, carried by both stable and canary (real
    networks time out and error now and then; without it a healthy canary could never be
    falsely aborted, and "no false abort" would prove nothing). A release's own `faults` come
    on top: `added_latency_ms`, `timeout_rate`, `error_rate` and `exception_rate` add to the
    baseline's, any
    other field the release sets replaces it. A release given as `faults_json` gets none.
    """

    name: str
    description: str
    expect: Expect
    canary: Release
    stable: Release = msgspec.field(default_factory=Release)
    baseline: FaultProfile = msgspec.field(default_factory=FaultProfile)
    traffic: Traffic = msgspec.field(default_factory=Traffic)
    time_scale: float = 10.0  # default compression; --time-scale overrides
    seed: int = 1
    # Real-time seconds a pause is held, the background analysis still running, before the
    # verdict (the on-call engineer's response to the page; docs/decisions/0081-*).
    pause_hold_seconds: float = DEFAULT_PAUSE_HOLD_SECONDS

    def release(self, role: Literal["stable", "canary"]) -> Release:
        """The release as the lab starts it: its own faults on top of the baseline."""
        return with_baseline(self.stable if role == "stable" else self.canary, self.baseline)


_ADDED_FIELDS: tuple[str, ...] = (
    "added_latency_ms",
    "timeout_rate",
    "error_rate",
    "exception_rate",
)


def _on_top(base: NetworkFaults, own: NetworkFaults) -> NetworkFaults:
    values: dict[str, float | None] = {}
    for name in NetworkFaults.__struct_fields__:
        mine, theirs = getattr(own, name), getattr(base, name)
        if name in _ADDED_FIELDS and mine is not None and theirs is not None:
            values[name] = mine + theirs
        else:
            values[name] = mine if mine is not None else theirs
    return NetworkFaults(**values)


def with_baseline(release: Release, baseline: FaultProfile) -> Release:
    """`release` with `baseline` under its own faults (pure; see `Scenario`)."""
    if release.faults_json is not None or not baseline.items():
        return release
    merged: dict[str, NetworkFaults | None] = {}
    for network in NETWORKS:
        base, own = getattr(baseline, network), getattr(release.faults, network)
        if base is not None and own is not None:
            merged[network] = _on_top(base, own)
        else:
            merged[network] = own if own is not None else base
    return msgspec.structs.replace(release, faults=FaultProfile(**merged))


def _field_path(message: str) -> tuple[str, str]:
    """Split msgspec's `Expected ... - at `$.a.b`` into (`a.b`, `Expected ...`)."""
    if " - at `$" in message:
        text, _, at = message.rpartition(" - at `$")
        return at.rstrip("`").lstrip(".") or "(top level)", text
    return "(top level)", message


def _check(scenario: Scenario, where: str) -> None:
    if not 1.0 <= scenario.time_scale <= 100.0:
        raise UserError(f"{where}: time_scale: expected 1..100, got {scenario.time_scale:g}")
    if not 0.0 <= scenario.pause_hold_seconds <= MAX_PAUSE_HOLD_SECONDS:
        raise UserError(
            f"{where}: pause_hold_seconds: expected 0..{MAX_PAUSE_HOLD_SECONDS:g}, "
            f"got {scenario.pause_hold_seconds:g}"
        )
    traffic = scenario.traffic
    if not (math.isfinite(traffic.rate_per_second) and traffic.rate_per_second > 0):
        raise UserError(f"{where}: traffic.rate_per_second: expected a positive number")
    for network, share in traffic.card_mix.items():
        if network not in NETWORKS:
            raise UserError(f"{where}: traffic.card_mix.{network}: unknown network")
        if not 0.0 <= share <= 1.0:
            raise UserError(f"{where}: traffic.card_mix.{network}: expected a share from 0 to 1")
    total = sum(traffic.card_mix.values())
    if abs(total - 1.0) > 1e-6:
        raise UserError(f"{where}: traffic.card_mix: shares add up to {total:g}, expected 1")
    for role, release in (
        ("canary", scenario.canary),
        ("stable", scenario.stable),
        ("baseline", Release(faults=scenario.baseline)),
    ):
        prefix = "baseline" if role == "baseline" else f"{role}.faults"
        if release.faults.items() and release.faults_json is not None:
            raise UserError(f"{where}: {role}: set faults or faults_json, not both")
        for network, faults in release.faults.items():
            for field in (
                "slow_rate",
                "timeout_rate",
                "timeout_authorized_rate",
                "error_rate",
                "exception_rate",
                "decline_rate",
            ):
                value = getattr(faults, field)
                if value is not None and not 0.0 <= value <= 1.0:
                    raise UserError(f"{where}: {prefix}.{network}.{field}: expected 0..1")
            for field in ("added_latency_ms", "slow_latency_ms"):
                value = getattr(faults, field)
                if value is not None and value < 0:
                    raise UserError(f"{where}: {prefix}.{network}.{field}: expected >= 0")
        for key in release.env:
            if not key.startswith("PAYSTREAM_"):
                raise UserError(f"{where}: {role}.env.{key}: only PAYSTREAM_* variables")
    if not 0.0 < scenario.traffic.retrying_share <= 1.0:
        raise UserError(f"{where}: traffic.retrying_share: expected more than 0, at most 1")
    roles: tuple[Literal["canary", "stable"], ...] = ("canary", "stable")
    for role in roles:
        for network, faults in scenario.release(role).faults.items():
            rates = (faults.timeout_rate, faults.error_rate, faults.exception_rate)
            if sum(rate or 0.0 for rate in rates) > 1.0:
                raise UserError(
                    f"{where}: {role}.faults.{network}: timeout_rate + error_rate + "
                    "exception_rate, with the baseline's, must not exceed 1"
                )


def parse_scenario(text: str, where: str) -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"{where}: invalid YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping at the top level")
    try:
        scenario = msgspec.convert(data, Scenario, strict=True)
    except msgspec.ValidationError as exc:
        field, message = _field_path(str(exc))
        raise UserError(f"{where}: {field}: {message}") from exc
    _check(scenario, where)
    return scenario


def scenario_dir() -> Path:
    return Path(str(resources.files("paystream_ops.lab") / "scenarios"))


def available() -> list[str]:
    return sorted(p.stem for p in scenario_dir().glob("*.yaml"))


def load_scenario(name_or_path: str) -> tuple[Scenario, Path]:
    """A scenario by name (`healthy`) or by path (`./my-scenario.yaml`)."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.exists():
        path = candidate
    else:
        path = scenario_dir() / f"{name_or_path}.yaml"
        if not path.exists():
            raise UserError(
                f"--scenario: no scenario named {name_or_path!r} "
                f"(available: {', '.join(available())}; or give a path to a YAML file)"
            )
    try:
        text = path.read_text()
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_scenario(text, str(path)), path


def schema_json() -> bytes:
    """The JSON schema of the scenario format (kept in `scenarios/scenario.schema.json`)."""
    schema = msgspec.json.schema(Scenario)
    return msgspec.json.format(msgspec.json.encode(schema), indent=2) + b"\n"


def faults_json(release: Release) -> str | None:
    """`PAYSTREAM_FAULTS` for a release (None: no profile)."""
    if release.faults_json is not None:
        return release.faults_json
    if not release.faults.items():
        return None
    return msgspec.json.encode(release.faults).decode()
