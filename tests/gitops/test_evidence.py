"""Promotion on staging evidence, on real git repositories with a bare remote: a completed,
healthy staging rollout becomes exactly one evidence commit on main and then exactly one prod
pull-request branch carrying that evidence; every hostile or odd event is refused with one line
naming the field and changes nothing; promote refuses an image without evidence unless a
person gives a reason."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from paystream_ops.cli import main

pytestmark = pytest.mark.integration

STAGING = "overlays/staging/kustomization.yaml"
EVIDENCE_C = "evidence/staging/sha256-" + "c" * 64 + ".json"
REASON = "INC-4711: staging's Rollouts controller is down, prod needs the fix tonight"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def bumped(remote, capsys, letter: str = "c", tag: str = "1.5.0") -> Path:
    clone = remote.clone("dev")
    code, _, err = run(
        capsys, "bump", "staging", "--image", remote.ref(tag, letter), "--repo", str(clone)
    )
    assert code == 0, err
    return clone


def send(capsys, clone: Path, payload: Any, tmp_path: Path) -> tuple[int, str, str]:
    """What staging-evidence.yaml does with a dispatch: the payload as a file, then record."""
    path = tmp_path / "payload.json"
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return run(capsys, "evidence", "record", "--payload", str(path), "--repo", str(clone), "--push")


def state(remote, clone: Path) -> tuple[str, ...]:
    return (
        remote.head(),
        remote.git(clone, "rev-parse", "HEAD"),
        remote.git(clone, "status", "--porcelain"),
        remote.git(remote.bare, "for-each-ref", "--format=%(refname) %(objectname)"),
    )


def test_a_completed_rollout_becomes_one_evidence_commit_then_one_evidence_carrying_branch(
    remote, capsys, tmp_path: Path, completed_payload
) -> None:
    image = remote.ref("1.5.0", "c")
    clone = bumped(remote, capsys)
    bump_commit = remote.head()

    code, out, err = send(capsys, clone, completed_payload(image), tmp_path)

    assert code == 0, err
    assert remote.log(f"{bump_commit}..main") == [
        f"{remote.head()} chore(staging): evidence auth-service 1.5.0@sha256:cccccccccccc "
        "(rollout revision 7 completed)"
    ]
    assert remote.git(remote.bare, "diff", "--name-only", bump_commit, "main") == EVIDENCE_C
    recorded = json.loads(remote.show(EVIDENCE_C))
    assert recorded["image"] == image
    assert recorded["revision"] == "7"
    assert recorded["staging_commit"] == bump_commit
    assert recorded["generated_by"] == "paystream-ops evidence record"
    assert recorded["rollout_status"]["message"] == 'canary "ok"\nsecond line'

    code, out, err = run(
        capsys, "promote", "--repo", str(clone), "--push", "--json", "--repo-url", "https://x.test"
    )

    assert code == 0, err
    result = json.loads(out)
    assert result["evidence"] is True and result["without_evidence"] is None
    branches = remote.git(remote.bare, "branch", "--list", "promote/*").split()
    assert branches == ["promote/prod-1.5.0-cccccccccccc"]
    prod = remote.show("overlays/prod/kustomization.yaml", branches[0])
    assert "    digest: sha256:" + "c" * 64 + "\n" in prod
    message = remote.git(remote.bare, "log", "-1", "--format=%B", branches[0])
    assert f"Paystream-Staging-Evidence: {EVIDENCE_C}" in message
    body = result["body"]
    assert "## Staging evidence" in body
    assert "revision 7 of `paystream-staging/auth-service`, 5 of 5 canary steps" in body
    assert f"https://x.test/commit/{remote.head()}" in body
    # Per network, from the last step run (not the first step's 0.0031): the figures, then
    # each verdict's score against the run's own bar.
    assert (
        "| Network | canary requests | failure ratio | approval ratio | P99 | failures score | "
        "declines score | latency score |"
    ) in body
    assert (
        "| visa | 1,250 | 0.16% | 93.12% | 0.212 s | 0.0012 (bar 4.61) | 0.931 (bar 4.61) | "
        "0.212 (bar 5.00) |"
    ) in body
    assert (
        "| mastercard | 12 | no data | not measured | not measured | 0.0009 (bar 4.61) | "
        "not measured | not measured |"
    ) in body
    assert "step analysis `auth-service-5b9c7d8e1-7-3` (started 2026-12-04T10:03:00Z" in body
    assert "below 30 canary requests only a score over its bar decides" in body
    assert "Not measured:" not in body
    assert "`auth-service-5b9c7d8e1-7-3` | Step | Successful" in body


def test_show_prints_the_evidence_or_exits_5(
    remote, capsys, tmp_path: Path, completed_payload
) -> None:
    clone = bumped(remote, capsys)
    code, out, err = run(capsys, "evidence", "show", "--repo", str(clone))
    assert (code, out) == (5, "")
    assert "missing: no completed, healthy staging rollout of 1.5.0@sha256:cccccccccccc" in err
    assert send(capsys, clone, completed_payload(remote.ref("1.5.0", "c")), tmp_path)[0] == 0
    remote.git(clone, "pull", "--quiet", "--ff-only")
    code, out, _ = run(capsys, "evidence", "show", "--repo", str(clone))
    assert code == 0 and out.startswith("## Staging evidence\n")


def _set(payload: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    node: Any = changed
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    last = keys[-1]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return changed


_DELETE = object()
Mutation = Callable[[dict[str, Any]], Any]

# (id, how the healthy payload is broken, exit code, what the one error line says)
HOSTILE: list[tuple[str, Mutation, int, str]] = [
    (
        "digest-never-in-staging",
        lambda p: _set(p, "image", p["image"].replace("c" * 64, "e" * 64)),
        2,
        "client_payload.image: ghcr.io/paystream/auth-service:1.5.0@sha256:eeee",
    ),
    (
        "digest-staging-ran-before",
        lambda p: _set(p, "image", "ghcr.io/paystream/auth-service:1.4.0@sha256:" + "a" * 64),
        3,
        "is no longer what staging's overlay runs",
    ),
    ("prod-completion", lambda p: _set(p, "environment", "prod"), 3, "only staging's"),
    ("missing-revision", lambda p: _set(p, "revision", _DELETE), 2, "revision: missing"),
    ("revision-injection", lambda p: _set(p, "revision", "7; rm -rf /"), 2, "revision: "),
    ("revision-number", lambda p: _set(p, "revision", 7), 2, "revision: expected a string"),
    (
        "image-with-newline",
        lambda p: _set(p, "image", p["image"] + "\nenvironment=prod"),
        2,
        "client_payload.image",
    ),
    ("unexpected-field", lambda p: _set(p, "extra", "x"), 2, "client_payload.extra: unexpected"),
    ("runs-not-a-list", lambda p: _set(p, "analysis_runs", {}), 2, "expected a list"),
    (
        "value-with-markup",
        lambda p: _set(p, "analysis_runs.0.metrics.0.value", "0.1` | <script>"),
        2,
        "analysis_runs[0].metrics[0].value",
    ),
    (
        "metric-name-with-pipe",
        lambda p: _set(p, "analysis_runs.0.metrics.0.name", "visa|x"),
        2,
        "metrics[0].name",
    ),
    ("bad-time", lambda p: _set(p, "completed_at", "yesterday"), 2, "completed_at: "),
    ("step-index-bool", lambda p: _set(p, "rollout_status.step_index", True), 2, "step_index"),
    ("not-json", lambda p: "{'environment': 'staging'", 2, "payload.json: not a JSON object"),
    (
        "repeated-key",
        lambda p: json.dumps(p)[:-1] + ', "revision": "8"}',
        2,
        "key 'revision' repeated",
    ),
    ("not-an-object", lambda p: [p], 2, "client_payload: expected an object, got list"),
    (
        "aborted-reported-as-completed",
        lambda p: _set(p, "rollout_status.aborted", True),
        2,
        "rollout_status.aborted: true",
    ),
    (
        "failed-run-reported-as-completed",
        lambda p: _set(p, "analysis_runs.1.phase", "Failed"),
        2,
        "the analysis did not pass",
    ),
    (
        "failed-metric-reported-as-completed",
        lambda p: _set(p, "analysis_runs.2.metrics.0.phase", "Error"),
        2,
        "auth-service-5b9c7d8e1-7/visa-failures Error",
    ),
    (
        "figure-with-two-values",
        lambda p: _set(p, "analysis_runs.0.metrics.5.value", "[1250,3]"),
        2,
        "metrics[5].value: visa-canary-requests: a figure holds one network's value",
    ),
    (
        "ratio-over-one",
        lambda p: _set(p, "analysis_runs.0.metrics.6.value", "[1.5]"),
        2,
        "visa-canary-failure-ratio: a ratio between 0 and 1",
    ),
    (
        "negative-request-count",
        lambda p: _set(p, "analysis_runs.0.metrics.5.value", "-3"),
        2,
        "visa-canary-requests: a count",
    ),
    (
        "infinite-request-count",
        lambda p: _set(p, "analysis_runs.0.metrics.5.value", "[+Inf]"),
        2,
        "visa-canary-requests: a count",
    ),
    (
        "unknown-figure",
        lambda p: _set(p, "analysis_runs.0.metrics.5.name", "visa-canary-revenue"),
        2,
        "visa-canary-revenue: not a figure this platform measures",
    ),
    (
        "bar-with-markup",
        lambda p: _set(p, "analysis_runs.0.args.1.value", "4.61` | <b>"),
        2,
        "analysis_runs[0].args[1].value",
    ),
    (
        "arg-not-a-bar",
        lambda p: _set(p, "analysis_runs.0.args.0.name", "prometheus-address"),
        2,
        "analysis_runs[0].args[0].name",
    ),
    (
        "arg-with-extra-field",
        lambda p: _set(p, "analysis_runs.0.args.0.valueFrom", {"secretKeyRef": {}}),
        2,
        "args[0].valueFrom: unexpected field",
    ),
    (
        "bar-given-twice",
        lambda p: _set(p, "analysis_runs.0.args.0.name", "max-failures-score"),
        2,
        'args: "max-failures-score" given twice',
    ),
    (
        "args-not-a-list",
        lambda p: _set(p, "analysis_runs.0.args", "4.61"),
        2,
        "args: expected a list",
    ),
    (
        "deciding-metric-errored-beside-the-figures",
        lambda p: _set(p, "analysis_runs.0.metrics.1.phase", "Error"),
        2,
        "auth-service-5b9c7d8e1-7-3/visa-approvals Error",
    ),
    (
        "promoted-past-an-inconclusive-step",
        lambda p: _set(p, "analysis_runs.1.phase", "Inconclusive"),
        3,
        "a person promoted past an analysis that could not decide",
    ),
    ("degraded", lambda p: _set(p, "rollout_status.phase", "Degraded"), 2, "Degraded"),
    (
        "promoted-in-full-by-a-person",
        lambda p: _set(p, "rollout_status.promote_full", True),
        3,
        "promoted revision 7 in full",
    ),
    (
        "steps-skipped",
        lambda p: _set(p, "rollout_status.step_index", 2),
        3,
        "2 of 5 steps",
    ),
    (
        "no-step-analysis",
        lambda p: _set(p, "analysis_runs", None),
        3,
        "no Successful step analysis",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "code", "says"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_a_hostile_or_odd_event_is_refused_in_one_line_and_changes_nothing(
    remote, capsys, tmp_path: Path, completed_payload, mutate: Mutation, code: int, says: str
) -> None:
    clone = bumped(remote, capsys)
    before = state(remote, clone)

    got, out, err = send(
        capsys, clone, mutate(completed_payload(remote.ref("1.5.0", "c"))), tmp_path
    )

    assert got == code, err
    assert out == ""
    [line] = err.strip().splitlines()
    assert line.startswith("paystream-ops evidence: error: ")
    assert says in line
    assert "Traceback" not in err
    assert state(remote, clone) == before
    # and so promote still refuses
    assert run(capsys, "promote", "--repo", str(clone))[0] == 5


ACCEPTED: list[tuple[str, Mutation]] = [
    ("unchanged", lambda p: p),
    # A measurement failed within the metric's failureLimit: the controller passed it.
    ("one-failure-within-the-limit", lambda p: _set(p, "analysis_runs.0.metrics.0.failed", 1)),
    ("background-run-finished", lambda p: _set(p, "analysis_runs.2.phase", "Successful")),
    ("paused-before-a-persons-promote", lambda p: _set(p, "rollout_status.phase", "Paused")),
    ("vector-value", lambda p: _set(p, "analysis_runs.0.metrics.0.value", "[NaN,0.1,+Inf]")),
    # A figure is shown, never judged: errored (dry-run) or empty, the verdict still stands.
    ("figure-errored", lambda p: _set(p, "analysis_runs.0.metrics.8.phase", "Error")),
    ("figure-empty", lambda p: _set(p, "analysis_runs.0.metrics.5.value", "[]")),
    ("p99-past-the-last-bucket", lambda p: _set(p, "analysis_runs.0.metrics.8.value", "+Inf")),
    # A payload from before the bars were sent: the table shows the scores without them.
    ("no-args", lambda p: _set(p, "analysis_runs.0.args", _DELETE)),
]


@pytest.mark.parametrize("mutate", [a[1] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED])
def test_the_healthy_payload_of_the_hostile_cases_is_accepted(
    remote, capsys, tmp_path: Path, completed_payload, mutate: Mutation
) -> None:
    """Negative of the above: the same payload records when unchanged or changed only in ways
    a healthy completion can look (so each hostile case fails for its own mutation)."""
    clone = bumped(remote, capsys)
    payload = mutate(completed_payload(remote.ref("1.5.0", "c")))
    code, _, err = send(capsys, clone, payload, tmp_path)
    assert code == 0, err
    assert remote.git(remote.bare, "ls-tree", "-r", "--name-only", "main", "--", "evidence") == (
        EVIDENCE_C
    )


def test_a_replayed_or_older_event_records_nothing_a_newer_revision_replaces(
    remote, capsys, tmp_path: Path, completed_payload
) -> None:
    image = remote.ref("1.5.0", "c")
    clone = bumped(remote, capsys)
    assert send(capsys, clone, completed_payload(image, "7"), tmp_path)[0] == 0
    remote.git(clone, "pull", "--quiet", "--ff-only")
    before = state(remote, clone)

    code, _, err = send(capsys, clone, completed_payload(image, "7"), tmp_path)
    assert code == 3 and "already recorded (a replayed or duplicate event)" in err
    code, _, err = send(capsys, clone, completed_payload(image, "6"), tmp_path)
    assert code == 3 and "revision: 6 is older than revision 7 already recorded" in err
    assert state(remote, clone) == before

    # A config-only change re-rolls the same image as revision 8: newer evidence replaces it.
    code, _, err = send(capsys, clone, completed_payload(image, "8"), tmp_path)
    assert code == 0, err
    assert json.loads(remote.show(EVIDENCE_C))["revision"] == "8"


def test_a_revision_recorded_for_another_image_is_refused(
    remote, capsys, tmp_path: Path, completed_payload
) -> None:
    clone = bumped(remote, capsys)
    assert send(capsys, clone, completed_payload(remote.ref("1.5.0", "c"), "7"), tmp_path)[0] == 0
    remote.git(clone, "pull", "--quiet", "--ff-only")
    assert (
        run(capsys, "bump", "staging", "--image", remote.ref("1.6.0", "d"), "--repo", str(clone))[0]
        == 0
    )
    before = state(remote, clone)
    code, _, err = send(capsys, clone, completed_payload(remote.ref("1.6.0", "d"), "7"), tmp_path)
    assert code == 2
    assert "revision 7 is recorded with 1.5.0@sha256:cccccccccccc" in err
    assert state(remote, clone) == before


def test_promote_refuses_without_evidence_and_opens_with_a_logged_reason(remote, capsys) -> None:
    clone = bumped(remote, capsys)
    before = state(remote, clone)

    code, out, err = run(capsys, "promote", "--repo", str(clone), "--push", "--json")
    assert (code, out) == (5, "")
    [line] = err.strip().splitlines()
    assert line.startswith(f"paystream-ops promote: error: {EVIDENCE_C}: missing: ")
    assert "--without-evidence REASON" in line
    assert state(remote, clone) == before

    code, _, err = run(capsys, "promote", "--repo", str(clone), "--without-evidence", "because")
    assert code == 2 and "--without-evidence: give one line" in err
    assert state(remote, clone) == before

    code, out, err = run(
        capsys, "promote", "--repo", str(clone), "--push", "--json", "--without-evidence", REASON
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["evidence"] is False and result["without_evidence"] == REASON
    assert result["body"].startswith(f"BREAK-GLASS without staging evidence: {REASON}")
    message = remote.git(remote.bare, "log", "-1", "--format=%B", result["branch"])
    assert f"Paystream-Without-Evidence: {REASON}" in message


def test_evidence_of_an_earlier_change_of_the_same_image_does_not_count(
    remote, capsys, tmp_path: Path, completed_payload
) -> None:
    """Staging ran c (recorded), then d, then c again through a new bump: only that new
    rollout's completion is evidence for what staging runs now."""
    clone = bumped(remote, capsys)
    assert send(capsys, clone, completed_payload(remote.ref("1.5.0", "c"), "7"), tmp_path)[0] == 0
    remote.git(clone, "pull", "--quiet", "--ff-only")
    for letter, tag in (("d", "1.6.0"), ("c", "1.5.0")):
        ref = remote.ref(tag, letter)
        assert run(capsys, "bump", "staging", "--image", ref, "--repo", str(clone))[0] == 0

    code, _, err = run(capsys, "promote", "--repo", str(clone))
    assert code == 5
    assert "staging_commit: the evidence is for staging's change" in err

    code, _, err = send(capsys, clone, completed_payload(remote.ref("1.5.0", "c"), "9"), tmp_path)
    assert code == 0, err
    remote.git(clone, "pull", "--quiet", "--ff-only")
    assert run(capsys, "promote", "--repo", str(clone))[0] == 0


def _race(remote, clone: Path, other_change: Callable[[Path], None]) -> None:
    """Arrange for another writer to push to main while `clone` pushes (its pre-push hook
    pushes the other clone's commit first, once), like two workflow runs at the same moment."""
    other = remote.clone("other")
    other_change(other)
    hook = clone / ".git" / "hooks" / "pre-push"
    hook.write_text(
        "#!/bin/sh\n"
        f'if [ ! -e "{clone}/.raced" ]; then touch "{clone}/.raced"; '
        f'git -C "{other}" push --quiet origin main; fi\n'
    )
    hook.chmod(0o755)
    (clone / ".git" / "info" / "exclude").write_text(".raced\n")


def test_a_push_race_is_re_checked_on_the_new_main_and_lands_once(
    remote, capsys, tmp_path: Path, completed_payload
) -> None:
    clone = bumped(remote, capsys)

    def unrelated(other: Path) -> None:
        (other / "NOTES.md").write_text("unrelated\n")
        remote.git(other, "add", "NOTES.md")
        remote.git(other, "commit", "--quiet", "-m", "docs: unrelated")

    _race(remote, clone, unrelated)
    code, _, err = send(capsys, clone, completed_payload(remote.ref("1.5.0", "c")), tmp_path)
    assert code == 0, err
    subjects = [line.split(" ", 1)[1] for line in remote.log("-2")]
    assert subjects[0].startswith("chore(staging): evidence auth-service 1.5.0@")
    assert subjects[1] == "docs: unrelated"
    assert json.loads(remote.show(EVIDENCE_C))["revision"] == "7"


def test_a_push_race_that_moves_staging_on_makes_the_event_stale(
    remote, capsys, tmp_path: Path, completed_payload
) -> None:
    clone = bumped(remote, capsys)

    def newer_release(other: Path) -> None:
        code, _, err = run(
            capsys,
            "bump",
            "staging",
            "--image",
            remote.ref("1.6.0", "d"),
            "--repo",
            str(other),
            "--no-push",
        )
        assert code == 0, err

    _race(remote, clone, newer_release)
    code, _, err = send(capsys, clone, completed_payload(remote.ref("1.5.0", "c")), tmp_path)
    assert code == 3
    assert "no longer what staging's overlay runs (1.6.0@sha256:dddddddddddd)" in err
    assert "chore(staging): bump" in remote.log("-1")[0]
    assert remote.git(remote.bare, "ls-tree", "-r", "--name-only", "main", "--", "evidence") == ""
    assert remote.git(clone, "status", "--porcelain") == ""


def test_the_evidence_body_stays_within_a_pull_requests_limit(completed_payload) -> None:
    """The largest payload the reader accepts (20 runs of 64 metrics) still makes a body GitHub
    accepts, and the rows left out are counted; a small one is shown whole (negative)."""
    from paystream_ops.gitops.evidence import Evidence, parse_event
    from paystream_ops.gitops.evidence_markdown import MAX_ROWS, evidence_markdown

    payload = completed_payload("ghcr.io/paystream/auth-service:1.5.0@sha256:" + "c" * 64)
    run = payload["analysis_runs"][0]
    metric = run["metrics"][0]
    payload["analysis_runs"] = [
        {**run, "name": f"auth-service-5b9c7d8e1-7-{i}", "metrics": [metric] * 64}
        for i in range(20)
    ]
    body = evidence_markdown(Evidence(parse_event(payload), "f" * 40), EVIDENCE_C, None)
    assert len(body) < 60_000
    assert f"| {20 * 64 - MAX_ROWS} more rows in `{EVIDENCE_C}` |" in body
    small = completed_payload("ghcr.io/paystream/auth-service:1.5.0@sha256:" + "c" * 64)
    assert "more rows" not in evidence_markdown(
        Evidence(parse_event(small), "f" * 40), EVIDENCE_C, None
    )


def test_the_table_says_what_was_not_measured_and_the_file_keeps_the_bars(
    completed_payload,
) -> None:
    """Pure: a completion without figures (a template from before them) lists each as not
    measured, the scores still shown against their bars; the evidence file round-trips the
    bars; and the figures of an older step run never stand in for the last one's."""
    from paystream_ops.gitops.evidence import Evidence, dump_evidence, load_evidence, parse_event
    from paystream_ops.gitops.evidence_markdown import evidence_markdown

    image = "ghcr.io/paystream/auth-service:1.5.0@sha256:" + "c" * 64
    payload = completed_payload(image)
    last = payload["analysis_runs"][0]
    without = [m for m in last["metrics"] if "-canary-" not in m["name"]]
    payload["analysis_runs"][0] = {**last, "metrics": without}
    body = evidence_markdown(Evidence(parse_event(payload), "f" * 40), EVIDENCE_C, None)
    assert "Not measured: canary requests, failure ratio, approval ratio, P99" in body
    assert "| visa | not measured | not measured | not measured | not measured | 0.0012 (bar" in (
        body
    )
    assert "step analysis `auth-service-5b9c7d8e1-7-3`" in body

    healthy = Evidence(parse_event(completed_payload(image)), "f" * 40)
    again = load_evidence(dump_evidence(healthy), "evidence.json")
    assert again == healthy
    assert {a.name for a in again.event.analysis_runs[0].args} >= {"max-failures-score"}
