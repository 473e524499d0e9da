"""Scenario files: every shipped one loads, the schema is current, and bad files are rejected
with the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import msgspec
import pytest
import yaml
from paystream_ops.errors import UserError
from paystream_ops.lab.scenario import (
    SCHEMA_FILE,
    available,
    faults_json,
    load_scenario,
    parse_scenario,
    scenario_dir,
    schema_json,
)

REQUIRED = {
    "incident-visa-timeouts": "aborted",
    "healthy": "promoted",
    "latency-regression": "aborted",
    "error-burst": "aborted",
    "exception-burst": "aborted",
    "crash-on-start": "aborted",
    "low-traffic": "paused-inconclusive",
}


def test_every_required_scenario_exists_with_its_expected_verdict() -> None:
    for name, verdict in REQUIRED.items():
        scenario, _ = load_scenario(name)
        assert scenario.name == name
        assert scenario.expect.verdict == verdict


def test_schema_file_matches_the_scenario_classes() -> None:
    assert (scenario_dir() / SCHEMA_FILE).read_bytes() == schema_json()


@pytest.mark.parametrize("name", available())
def test_every_scenario_file_validates_against_the_schema_and_names_it(name: str) -> None:
    path = scenario_dir() / f"{name}.yaml"
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=./scenario.schema.json\n")
    schema = json.loads((scenario_dir() / SCHEMA_FILE).read_text())
    jsonschema.validate(yaml.safe_load(text), schema)


def test_a_path_works_as_well_as_a_name(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: mine\ndescription: d\nexpect: {verdict: promoted}\ncanary: {version: '2'}\n"
    )
    scenario, found = load_scenario(str(path))
    assert scenario.name == "mine" and found == path


def test_the_incident_carries_its_fault_as_the_service_reads_it() -> None:
    scenario, _ = load_scenario("incident-visa-timeouts")
    assert json.loads(faults_json(scenario.canary) or "") == {"visa": {"timeout_rate": 0.03}}
    assert faults_json(scenario.stable) is None
    # Started with the everyday baseline under both: the canary's 3% comes on top of it.
    baseline = json.loads(msgspec.json.encode(scenario.baseline))
    assert json.loads(faults_json(scenario.release("stable")) or "") == baseline
    canary = json.loads(faults_json(scenario.release("canary")) or "")
    assert canary["visa"]["timeout_rate"] == pytest.approx(0.03 + baseline["visa"]["timeout_rate"])
    assert canary["visa"]["error_rate"] == baseline["visa"]["error_rate"]
    assert canary["amex"] == baseline["amex"]


def test_a_release_field_other_than_a_rate_replaces_the_baseline() -> None:
    scenario = parse_scenario(
        BASE + "baseline: {visa: {decline_rate: 0.06, added_latency_ms: 5}}\n"
        "canary: {faults: {visa: {decline_rate: 0.5, added_latency_ms: 10}}}\n",
        "f.yaml",
    )
    assert json.loads(faults_json(scenario.release("canary")) or "") == {
        "visa": {"added_latency_ms": 15.0, "decline_rate": 0.5}
    }


def test_a_raw_profile_gets_no_baseline() -> None:
    scenario, _ = load_scenario("crash-on-start")
    assert scenario.baseline.items()
    assert faults_json(scenario.release("canary")) == scenario.canary.faults_json


BASE = "name: x\ndescription: d\nexpect: {verdict: aborted}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\n", "f.yaml: (top level): Object missing required field `description`"),
        (
            BASE + "canary: {faults: {vissa: {}}}\n",
            "f.yaml: canary.faults: Object contains unknown field `vissa`",
        ),
        (
            BASE + "canary: {faults: {visa: {timeout_rate: 3}}}\n",
            "f.yaml: canary.faults.visa.timeout_rate: expected 0..1",
        ),
        (
            BASE + "baseline: {visa: {error_rate: 2}}\ncanary: {}\n",
            "f.yaml: baseline.visa.error_rate: expected 0..1",
        ),
        (
            BASE + "baseline: {visa: {error_rate: 0.6}}\n"
            "canary: {faults: {visa: {timeout_rate: 0.6}}}\n",
            "f.yaml: canary.faults.visa: timeout_rate + error_rate + exception_rate, with the",
        ),
        (
            BASE + "baseline: {visa: {error_rate: 0.5}}\n"
            "canary: {faults: {visa: {exception_rate: 0.6}}}\n",
            "f.yaml: canary.faults.visa: timeout_rate + error_rate + exception_rate, with the",
        ),
        (
            BASE + "canary: {faults: {visa: {exception_rate: -0.1}}}\n",
            "f.yaml: canary.faults.visa.exception_rate: expected 0..1",
        ),
        (
            BASE + "canary: {faults: {visa: {timout_rate: 0.1}}}\n",
            "f.yaml: canary.faults.visa: Object contains unknown field `timout_rate`",
        ),
        (
            BASE + "canary: {}\ntraffic: {rate_per_second: 'fast'}\n",
            "f.yaml: traffic.rate_per_second: Expected `float`, got `str`",
        ),
        (
            BASE + "canary: {}\ntraffic: {card_mix: {visa: 0.5}}\n",
            "f.yaml: traffic.card_mix: shares add up to 0.5",
        ),
        (
            BASE + "canary: {}\ntraffic: {card_mix: {diners: 1.0}}\n",
            "f.yaml: traffic.card_mix.diners: unknown network",
        ),
        (BASE + "canary: {}\ntime_scale: 1000\n", "f.yaml: time_scale: expected 1..100"),
        (
            BASE + "canary: {}\ntraffic: {callers: retrying, retrying_share: 0}\n",
            "f.yaml: traffic.retrying_share: expected more than 0, at most 1",
        ),
        (
            BASE + "canary: {}\ntraffic: {callers: always}\n",
            "f.yaml: traffic.callers: Invalid enum value 'always'",
        ),
        (
            BASE + "canary: {faults: {visa: {timeout_authorized_rate: 1.5}}}\n",
            "f.yaml: canary.faults.visa.timeout_authorized_rate: expected 0..1",
        ),
        (
            BASE + "canary: {}\npause_hold_seconds: -1\n",
            "f.yaml: pause_hold_seconds: expected 0..3600",
        ),
        (
            BASE + "canary: {env: {HOME: /}}\n",
            "f.yaml: canary.env.HOME: only PAYSTREAM_* variables",
        ),
        (
            BASE + "canary: {faults: {visa: {}}, faults_json: '{}'}\n",
            "f.yaml: canary: set faults or faults_json",
        ),
        (
            "name: x\ndescription: d\nexpect: {verdict: maybe}\ncanary: {}\n",
            "f.yaml: expect.verdict: Invalid enum value 'maybe'",
        ),
        (
            "name: x\ndescription: d\nexpect: {verdict: promoted, overlays: {dev: "
            "{verdict: aborted}}}\ncanary: {}\n",
            "f.yaml: expect.overlays: Object contains unknown field `dev`",
        ),
        (
            "name: x\ndescription: d\nexpect: {verdict: promoted, overlays: {staging: "
            "{decided_by: steps}}}\ncanary: {}\n",
            "f.yaml: expect.overlays.staging: Object missing required field `verdict`",
        ),
        (
            "name: x\ndescription: d\nexpect: {verdict: promoted, overlays: {staging: "
            "{verdict: promoted, overlays: {}}}}\ncanary: {}\n",
            "f.yaml: expect.overlays.staging: Object contains unknown field `overlays`",
        ),
        ("- a\n- b\n", "f.yaml: expected a mapping"),
        ("name: [\n", "f.yaml: invalid YAML"),
    ],
)
def test_bad_scenarios_name_the_file_and_field(text: str, message: str) -> None:
    with pytest.raises(UserError) as info:
        parse_scenario(text, "f.yaml")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_unknown_scenario_name_lists_the_available_ones() -> None:
    with pytest.raises(UserError, match="available: crash-on-start, error-burst"):
        load_scenario("no-such-scenario")


@pytest.mark.parametrize("hold", ["-1", "3601"])
def test_a_pause_hold_out_of_range_is_a_one_line_error(
    hold: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from paystream_ops.cli import main

    code = main(["lab", "--scenario", "low-traffic", "--pause-hold", hold, "--quiet"])
    err = capsys.readouterr().err
    assert code != 0
    assert err == "paystream-ops lab: error: --pause-hold: expected 0..3600 seconds\n"


def test_an_overlay_states_its_own_whole_expectation() -> None:
    """low-traffic pauses prod but is promoted on staging (the synthetic load decides it); an
    overlay's expectation replaces every field, and an overlay without one gets the default."""
    scenario, _ = load_scenario("low-traffic")
    assert scenario.expect.for_overlay("overlays/prod").verdict == "paused-inconclusive"
    assert scenario.expect.for_overlay("prod").verdict == "paused-inconclusive"
    assert scenario.expect.for_overlay("overlays/staging").verdict == "promoted"
    text = (
        "name: x\ndescription: d\ncanary: {}\nexpect: {verdict: aborted, decided_by: steps, "
        "max_affected_transactions: 5, overlays: {staging: {verdict: promoted}}}\n"
    )
    expect = parse_scenario(text, "f.yaml").expect
    staging = expect.for_overlay("staging")
    assert (staging.verdict, staging.decided_by, staging.max_affected_transactions) == (
        "promoted",
        None,
        None,
    )
    prod = expect.for_overlay("prod")
    assert (prod.verdict, prod.decided_by, prod.max_affected_transactions) == (
        "aborted",
        "steps",
        5,
    )
