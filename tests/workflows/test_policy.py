"""House rules for the workflows that the linters do not know: pins with version comments,
least privilege per job, concurrency, one final job for branch protection, no untrusted input
in `run:`, and the same commands developers run. Each rule has a negative case."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
ACTIONS = REPO / ".github" / "actions"

PINNED = re.compile(
    r"uses:\s*(?P<action>[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+)@(?P<sha>[0-9a-f]{40})\s+#\s*(?P<version>v\d+\.\d+\.\d+)\s*$"
)
USES = re.compile(r"^\s*(?:-\s*)?uses:\s*(?P<ref>\S+)")
UNTRUSTED = re.compile(
    r"\$\{\{[^}]*\b(github\.event\.|github\.head_ref|inputs\.|client_payload|steps\.[^}]*outputs)"
)
# Jobs allowed to hold a write permission, and why.
WRITE_ALLOWED: dict[tuple[str, str], set[str]] = {
    ("ci.yaml", "diff-comment"): {"pull-requests"},  # the one sticky diff comment
    ("release.yaml", "build"): {"packages", "id-token"},  # push to ghcr.io, cosign keyless
    ("release.yaml", "bump-staging"): {"contents"},  # the bump commit on main
    ("staging-evidence.yaml", "record"): {"contents"},  # the evidence commit on main
    ("synthetic-load-image.yaml", "build"): {"packages", "id-token"},  # push, cosign keyless
}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def workflows() -> dict[str, dict[str, Any]]:
    return {p.name: load(p) for p in sorted(WORKFLOWS.glob("*.yaml"))}


def yaml_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yaml")) + sorted(ACTIONS.glob("*/action.yaml"))


# -- rules (pure functions over text or parsed YAML) ----------------------------------------
def pin_violations(text: str) -> list[str]:
    bad = []
    for line in text.splitlines():
        match = USES.match(line)
        if match is None:
            continue
        ref = match.group("ref").strip("'\"")
        if ref.startswith(("./", "$/", "docker://")):
            continue
        if PINNED.search(line) is None:
            bad.append(line.strip())
    return bad


def write_violations(name: str, wf: dict[str, Any]) -> list[str]:
    bad = []
    if wf.get("permissions") != {"contents": "read"}:
        bad.append(f"{name}: top-level permissions must be exactly contents: read")
    for job_id, job in (wf.get("jobs") or {}).items():
        perms = job.get("permissions") or {}
        if isinstance(perms, str):
            bad.append(f"{name}:{job_id}: permissions must be a mapping, not {perms!r}")
            continue
        writes = {scope for scope, level in perms.items() if level == "write"}
        allowed = WRITE_ALLOWED.get((name, job_id), set())
        if writes - allowed:
            bad.append(f"{name}:{job_id}: write access to {sorted(writes - allowed)}")
    return bad


def run_blocks(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["run"]] if isinstance(node.get("run"), str) else []
        for value in node.values():
            found += run_blocks(value)
        return found
    if isinstance(node, list):
        return [r for item in node for r in run_blocks(item)]
    return []


def injection_violations(doc: Any) -> list[str]:
    return [run for run in run_blocks(doc) if UNTRUSTED.search(run)]


def final_job_violations(wf: dict[str, Any]) -> list[str]:
    jobs = wf.get("jobs") or {}
    finals = [
        j for j, spec in jobs.items() if spec.get("if") == "${{ always() }}" and spec.get("needs")
    ]
    if len(finals) != 1:
        return [f"expected one final always() job, found {finals}"]
    final = finals[0]
    needs = set(jobs[final]["needs"])
    # Every other job gates the final one, except the comment poster (a courtesy, not a check).
    expected = set(jobs) - {final, "diff-comment"}
    return (
        [] if needs == expected else [f"{final} needs {sorted(needs)}, expected {sorted(expected)}"]
    )


# -- the rules hold for our files -------------------------------------------------------------
def test_every_action_is_pinned_by_full_sha_with_a_version_comment() -> None:
    for path in yaml_files():
        assert pin_violations(path.read_text()) == [], path.name


def test_one_sha_per_action_version_across_files() -> None:
    seen: dict[tuple[str, str], str] = {}
    versions: dict[tuple[str, str], str] = {}
    for path in yaml_files():
        for match in filter(None, map(PINNED.search, path.read_text().splitlines())):
            action, sha, version = match.group("action", "sha", "version")
            assert seen.setdefault((action, version), sha) == sha, (action, version)
            assert versions.setdefault((action, sha), version) == version, (action, sha)
    assert ("actions/checkout", "v6.0.2") in seen


def test_least_privilege_and_write_only_where_a_job_commits() -> None:
    for name, wf in workflows().items():
        assert write_violations(name, wf) == []


def test_no_untrusted_input_is_interpolated_in_run() -> None:
    for path in yaml_files():
        assert injection_violations(load(path)) == [], path.name


def test_every_workflow_has_concurrency_and_bumps_queue_per_environment() -> None:
    wfs = workflows()
    for name, wf in wfs.items():
        assert "concurrency" in wf, name
    bump = wfs["release.yaml"]["jobs"]["bump-staging"]
    assert bump["concurrency"] == {"group": "deploy-staging", "cancel-in-progress": False}


def test_ci_ends_in_one_job_for_branch_protection() -> None:
    assert final_job_violations(workflows()["ci.yaml"]) == []


def test_ci_runs_the_commands_developers_run() -> None:
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.M))
    runs = "\n".join(run_blocks(workflows()["ci.yaml"]))
    used = set(re.findall(r"\bmake ([a-z-]+)", runs))
    assert {"lint", "pytest", "validate", "lab"} <= used
    assert used <= targets
    assert "paystream-ops diff --base" in runs


def test_release_scans_before_it_pushes_and_signs_by_digest() -> None:
    steps = workflows()["release.yaml"]["jobs"]["build"]["steps"]
    names = [s.get("name", s.get("uses", "")) for s in steps]
    scan = next(i for i, n in enumerate(names) if n.startswith("Vulnerability scan"))
    push = next(i for i, n in enumerate(names) if n.startswith("Push"))
    sign = next(i for i, n in enumerate(names) if n.startswith("Sign"))
    sbom = next(i for i, n in enumerate(names) if n.startswith("SBOM"))
    build = next(i for i, s in enumerate(steps) if "build-push-action" in s.get("uses", ""))
    assert build < scan < push < sign and sbom < push
    assert steps[build]["with"]["push"] is False
    assert (
        "--severity HIGH,CRITICAL" in steps[scan]["run"] and "--exit-code 1" in steps[scan]["run"]
    )
    assert '"${IMAGE}@${DIGEST}"' in steps[sign]["run"]
    bump_run = "\n".join(run_blocks(workflows()["release.yaml"]["jobs"]["bump-staging"]))
    assert 'paystream-ops bump staging --image "$IMAGE_REF"' in bump_run


def test_uv_version_in_the_setup_action_matches_the_makefile() -> None:
    makefile_version = re.search(r"^UV_VERSION := (\S+)", (REPO / "Makefile").read_text(), re.M)
    action = load(ACTIONS / "setup" / "action.yaml")
    setup_uv = next(s for s in action["runs"]["steps"] if "setup-uv" in s.get("uses", ""))
    assert makefile_version is not None
    assert setup_uv["with"]["version"] == makefile_version.group(1)


# -- each rule rejects what it should -----------------------------------------------------------
@pytest.mark.parametrize(
    "line",
    [
        "      - uses: actions/checkout@v4",
        "      - uses: actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd",
        "      - uses: actions/checkout@de0fac2e # v6.0.2",
        "      - uses: actions/checkout@main # v6.0.2",
    ],
)
def test_pin_rule_rejects_tags_short_shas_and_missing_comments(line: str) -> None:
    assert pin_violations(line) == [line.strip()]
    assert pin_violations("      - uses: $/.github/actions/setup") == []


def test_write_rule_rejects_broad_defaults_and_unexpected_writes() -> None:
    wf = {"permissions": "write-all", "jobs": {"x": {"permissions": {"contents": "write"}}}}
    assert len(write_violations("ci.yaml", wf)) == 2
    ok = {
        "permissions": {"contents": "read"},
        "jobs": {"diff-comment": {"permissions": {"pull-requests": "write"}}},
    }
    assert write_violations("ci.yaml", ok) == []


def test_injection_rule_rejects_event_fields_in_run() -> None:
    doc = {"jobs": {"x": {"steps": [{"run": 'echo "${{ github.event.client_payload.message }}"'}]}}}
    assert injection_violations(doc) != []
    safe = {
        "jobs": {
            "x": {
                "steps": [
                    {"env": {"M": "${{ github.event.client_payload.message }}"}, "run": 'echo "$M"'}
                ]
            }
        }
    }
    assert injection_violations(safe) == []


def test_final_job_rule_rejects_a_job_that_misses_a_dependency() -> None:
    wf = {"jobs": {"a": {}, "b": {}, "ok": {"if": "${{ always() }}", "needs": ["a"]}}}
    assert final_job_violations(wf) != []
    wf["jobs"]["ok"]["needs"] = ["a", "b"]
    assert final_job_violations(wf) == []
