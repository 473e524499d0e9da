"""The sections of the figures page, in page order, and the command that measures each.

A section's key says what was measured (`lab/<overlay>/<scenario>`, `/x<runs>` for a repeat,
`@<rate>` for a rate other than the scenario's, `bench`); a run whose key is not listed here is
still recorded, after the listed ones.
"""

from __future__ import annotations

from dataclasses import dataclass

PAGE_PATH = "docs/figures.md"
CHART_DIR = "docs/figures"


@dataclass(frozen=True)
class Section:
    key: str
    title: str  # the page heading (its anchor is what other pages link to)
    command: str  # what to run to (re)measure it
    chart: bool = False  # a single lab run whose chart the page shows


def lab_key(overlay: str, scenario: str, runs: int = 1, rate: float | None = None) -> str:
    key = f"lab/{overlay}/{scenario}"
    if rate is not None:
        key += f"@{rate:g}"
    if runs > 1:
        key += f"/x{runs}"
    return key


def chart_name(key: str) -> str:
    """The chart's file name under CHART_DIR: the key with its separators as dashes."""
    return key.replace("/", "-").replace("@", "-at-") + ".png"


SCENARIOS = (
    "healthy",
    "latency-regression",
    "error-burst",
    "crash-on-start",
    "low-traffic",
    "exception-burst",
    "false-declines",
    "network-latency-regression",
)

SECTIONS: tuple[Section, ...] = (
    Section(
        lab_key("prod", "incident-visa-timeouts"),
        "Incident replay, one run",
        "make lab",
        chart=True,
    ),
    Section(
        lab_key("prod", "incident-visa-timeouts", runs=20),
        "Incident replay, 20 seeds",
        "make lab-repeat REPEAT_SCENARIO=incident-visa-timeouts",
    ),
    Section(
        lab_key("prod", "healthy", runs=20),
        "Healthy release, 20 seeds",
        "make lab-repeat",
    ),
    *(
        Section(lab_key("prod", name), f"Scenario {name}", f"make lab SCENARIO={name}")
        for name in SCENARIOS
    ),
    Section(
        lab_key("staging", "healthy", runs=20),
        "Staging, healthy release with synthetic load, 20 seeds",
        "make lab-repeat OVERLAY=staging",
    ),
    Section(
        lab_key("staging", "incident-visa-timeouts"),
        "Staging, incident replay with synthetic load",
        "make lab OVERLAY=staging",
    ),
    Section(
        lab_key("staging", "low-traffic"),
        "Staging, low traffic with synthetic load",
        "make lab OVERLAY=staging SCENARIO=low-traffic",
    ),
    Section(
        lab_key("staging", "healthy", rate=5),
        "Staging, healthy release at 5 auth/s",
        "paystream-ops lab --scenario healthy --overlay staging --rate 5 --record-figures",
    ),
    Section(
        lab_key("staging", "healthy", rate=100),
        "Staging, healthy release at 100 auth/s",
        "paystream-ops lab --scenario healthy --overlay staging --rate 100 --record-figures",
    ),
    Section("bench", "Service benchmark", "make bench"),
    Section("bench-hostile", "Normal requests under a connection attack", "make bench-hostile"),
)


def find(key: str) -> Section | None:
    return next((section for section in SECTIONS if section.key == key), None)


def section_for(key: str) -> Section:
    """The listed section, or one made up for a key the catalogue does not list."""
    return find(key) or Section(key, f"Other run: {key}", "(see the section)")
