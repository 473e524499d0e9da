"""The documents stay true (README.md, RUNBOOK.md, DESIGN.md, CONTRIBUTING.md and every page under
docs/): every command they show exists (or is skipped for a named reason), every repository path,
link and section they name exists, every excerpt is still in its file, and the service's settings
are documented with their real defaults. Each checker has a negative case."""

from __future__ import annotations

import re

import pytest
from paystream_auth.config import load_settings

from .document_checks import (
    REPO,
    anchors,
    check_commands,
    check_excerpts,
    check_paths,
    excerpts,
    extract_commands,
    help_problem,
    load,
    parse_markdown,
)

DOCUMENTS = (
    "README.md",
    "RUNBOOK.md",
    "DESIGN.md",
    "CONTRIBUTING.md",
    ".github/pull_request_template.md",
    *sorted(str(path.relative_to(REPO)) for path in (REPO / "docs").rglob("*.md")),
)
# Documents that show commands to run (an empty extraction there means a broken extractor).
COMMAND_DOCUMENTS = ("README.md", "RUNBOOK.md", "CONTRIBUTING.md")
# The folders the README must show an excerpt of (issue: one real excerpt per folder).
EXCERPT_FOLDERS = (
    "apps/",
    "clusters/",
    "base/",
    "overlays/",
    "service/",
    "scripts/",
    "tests/",
    ".github/",
)


# --- The documents -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_command_shown_exists_or_is_skipped_for_a_named_reason(name: str) -> None:
    report = check_commands(load(name))
    if name in COMMAND_DOCUMENTS:
        assert report.checked, f"{name}: no command found; is the extractor broken?"
    assert report.problems == [], "\n".join(report.problems)


def test_the_readme_shows_the_commands_the_issue_asks_for() -> None:
    shown = {str(command) for command in check_commands(load("README.md")).checked}
    for command in ("make lab", "make test", "make lab-repeat"):
        assert command in shown
    for prefix in (
        "paystream-ops lab --scenario",
        "paystream-ops bootstrap --env",
        "paystream-ops vault bootstrap --env",
        "paystream-ops bump staging",
        "paystream-ops promote",
        "paystream-ops rollback",
    ):
        assert any(command.startswith(prefix) for command in shown), prefix


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_path_link_and_section_named_exists(name: str) -> None:
    problems = check_paths(load(name))
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_excerpt_is_verbatim_in_its_file(name: str) -> None:
    problems = check_excerpts(load(name))
    assert problems == [], "\n".join(problems)


def test_the_readme_has_an_excerpt_from_every_top_level_folder() -> None:
    named = {excerpt.path for excerpt in excerpts(load("README.md"))}
    for folder in EXCERPT_FOLDERS:
        assert any(path.startswith(folder) for path in named), folder


def test_every_service_setting_is_documented_with_its_real_default() -> None:
    source = (REPO / "service/src/paystream_auth/config.py").read_text(encoding="utf-8")
    read = set(re.findall(r"\"((?:PAYSTREAM|PROMETHEUS)_[A-Z0-9_]+)\"", source))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    row = re.compile(r"^\| `(?P<name>[A-Z][A-Z0-9_]+)` \| (?P<default>[^|]+)\|", re.M)
    rows = {match["name"]: match["default"].strip() for match in row.finditer(readme)}
    assert read == set(rows), "settings read by config.py vs documented in README.md"
    defaults = load_settings({})
    for name, default in rows.items():
        if default in ("none", "random"):  # unset means off (or a random seed): nothing to compare
            continue
        value = default.strip("`")
        assert default == f"`{value}`", f"{name}: default {default!r} is not `x`, none or random"
        # Setting the documented default explicitly must change nothing.
        assert load_settings({name: value}) == defaults, f"{name}: documented default {value}"


# --- The checkers catch what they are for (negative cases) ------------------------------------

FAKE = """\
# Fake

Run `paystream-ops no-such-command --yes`, then `make no-such-target`, and
`paystream-ops vault
no-such-action` too; `paystream-ops lab --scenario healthy` is fine.

```bash
paystream-ops lab --no-such-flag          # an option the command does not have
frobnicate --now
kubectl get pods -n paystream
PAYSTREAM_SEED=1 uv run --frozen paystream-ops lab --scenario healthy \\
  --overlay prod
```
"""


def test_a_command_that_does_not_exist_is_reported() -> None:
    report = check_commands(parse_markdown("FAKE.md", FAKE))
    text = "\n".join(report.problems)
    assert "FAKE.md:3: `paystream-ops no-such-command --yes`: no such command" in text
    assert "no make target 'no-such-target'" in text
    assert "no such command `paystream-ops vault no-such-action`" in text
    assert "`paystream-ops lab` has no option --no-such-flag" in text
    assert "FAKE.md:9: `frobnicate --now`: 'frobnicate' is neither checkable" in text
    assert len(report.problems) == 5, text
    assert [str(command) for command, _ in report.skipped] == ["kubectl get pods -n paystream"]


def test_running_help_reports_a_command_the_cli_does_not_have() -> None:
    assert help_problem(("lab",)) is None
    problem = help_problem(("no-such-command",))
    assert problem is not None and "exited 2" in problem


def test_commands_are_extracted_from_shell_blocks_inline_code_and_pipelines() -> None:
    doc = parse_markdown(
        "X.md",
        "Pipe: `bao kv get x | paystream-ops vault rotate --env prod --stdin`; not a command:"
        " `images:`.\n\n"
        "```console\n$ make lab SCENARIO=healthy\nsome output\n$ git status && make test\n```\n"
        "```yaml\nrun: make nothing-here\n```\n",
    )
    assert [(c.where, str(c)) for c in extract_commands(doc)] == [
        ("X.md:4", "make lab SCENARIO=healthy"),
        ("X.md:6", "git status"),
        ("X.md:6", "make test"),
        ("X.md:1", "paystream-ops vault rotate --env prod --stdin"),
    ]


def test_a_missing_path_link_anchor_or_section_is_reported() -> None:
    doc = parse_markdown(
        "FAKE.md",
        "# Fake heading\n\n"
        "Real: `overlays/<env>/kustomization.yaml`, `base/{analysis,secrets}/kustomization.yaml`,"
        " `revert-on-abort.yaml`, [up](#fake-heading), [x](RUNBOOK.md#abort-a-canary),"
        ' DESIGN.md, "The canary lab".\n\n'
        "Fake: `base/analysis/no-such-template.yaml`, `overlays/ENV/no-such.yaml`,"
        " `no-such-workflow.yaml`, [a](DESIGN.md#no-such-section), [b](no-such-file.md),"
        ' [c](#nowhere), RUNBOOK.md, "No such section".\n',
    )
    problems = check_paths(doc)
    assert problems == [
        "FAKE.md:5: `base/analysis/no-such-template.yaml` does not exist",
        "FAKE.md:5: `overlays/ENV/no-such.yaml` does not exist",
        "FAKE.md:5: `no-such-workflow.yaml` does not exist",
        "FAKE.md:5: link to DESIGN.md#no-such-section: DESIGN.md has no heading with the anchor"
        " #no-such-section",
        "FAKE.md:5: link to no-such-file.md: no no-such-file.md",
        "FAKE.md:5: link to #nowhere: FAKE.md has no heading with the anchor #nowhere",
        'FAKE.md:5: RUNBOOK.md, "No such section": no such section',
    ]


def test_anchors_follow_githubs_rules() -> None:
    doc = parse_markdown(
        "X.md",
        "## Analysis (`base/analysis/analysis-canary-vs-stable.yaml`)\n"
        "### Abort notification contract (Argo Rollouts -> revert-on-abort.yaml)\n"
        "## Secrets: rotation and secret_failures\n"
        "## Twice\n## Twice\n"
        "```bash\n# not a heading\n```\n",
    )
    assert anchors(doc) == {
        "analysis-baseanalysisanalysis-canary-vs-stableyaml",
        "abort-notification-contract-argo-rollouts---revert-on-abortyaml",
        "secrets-rotation-and-secret_failures",
        "twice",
        "twice-1",
    }


def test_an_excerpt_that_drifted_from_its_file_is_reported() -> None:
    doc = parse_markdown(
        "FAKE.md",
        "Excerpt from `clusters/prod/kustomization.yaml`:\n"
        "```yaml\n  resources:\n      - ../common\n```\n\n"  # indentation does not matter
        "Excerpt from [`clusters/prod/kustomization.yaml`](clusters/prod/kustomization.yaml):\n"
        "```yaml\nresources:\n  - ../common\n  - no-such-file.yaml\n```\n\n"
        "Excerpt from `clusters/prod/no-such-file.yaml`:\n```yaml\nresources:\n```\n\n"
        "Excerpt from `clusters/prod/kustomization.yaml`: (no block follows)\n\nText.\n",
    )
    assert check_excerpts(doc) == [
        "FAKE.md:7: excerpt from clusters/prod/kustomization.yaml: not in the file verbatim from"
        " the line '- no-such-file.yaml' on",
        "FAKE.md:14: excerpt from clusters/prod/no-such-file.yaml: no such file",
        "FAKE.md:19: excerpt from clusters/prod/kustomization.yaml: no fenced block follows",
    ]
