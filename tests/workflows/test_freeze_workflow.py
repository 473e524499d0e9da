"""promote.yaml during a change freeze: the scheduled run stays green and opens nothing, a
person's run without a reason fails loudly, and a reason reaches `paystream-ops promote
--break-glass` with who asked. `uv` is a stand-in that answers as the CLI does (exit 4 when
frozen without --break-glass); the CLI itself is proven in tests/gitops/test_freeze_gates.py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "promote.yaml"
FAKE_UV = """#!/bin/bash
printf '%s\\n' "$@" > uv-args
for a in "$@"; do [ "$a" = "--break-glass" ] && { echo '{"branch": "b"}'; exit 0; }; done
echo "paystream-ops promote: error: prod is in a change freeze" >&2
exit 4
"""


def promote_step() -> dict[str, Any]:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["promote"]["steps"]
    found: dict[str, Any] = next(s for s in steps if s.get("id") == "promote")
    return found


def run(tmp_path: Path, event: str, reason: str) -> tuple[int, str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "uv").write_text(FAKE_UV)
    (bin_dir / "uv").chmod(0o755)
    output = tmp_path / "github_output"
    output.write_text("")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_EVENT_NAME": event,
        "GITHUB_ACTOR": "oncall-ana",
        "GH_TOKEN": "not-a-token",
        "MIN_SOAK_HOURS": "0",
        "BREAK_GLASS_REASON": reason,
    }
    proc = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", promote_step()["run"]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return proc.returncode, output.read_text(), proc.stdout + proc.stderr


def test_a_scheduled_run_during_a_freeze_opens_nothing_and_stays_green(tmp_path: Path) -> None:
    code, outputs, log = run(tmp_path, "schedule", "")
    assert code == 0, log
    assert "opened=false" in outputs
    assert "change freeze" in log


def test_a_person_without_a_reason_is_told_to_give_one(tmp_path: Path) -> None:
    code, outputs, log = run(tmp_path, "workflow_dispatch", "")
    assert code == 4
    assert "break-glass-reason" in log
    assert "opened=true" not in outputs


@pytest.mark.parametrize("reason", ["INC-4711 Visa timeouts", 'it\'s "urgent"; $(touch pwned)'])
def test_a_reason_reaches_the_cli_verbatim_with_who_asked(tmp_path: Path, reason: str) -> None:
    code, outputs, log = run(tmp_path, "workflow_dispatch", reason)
    assert code == 0, log
    assert "opened=true" in outputs
    args = (tmp_path / "uv-args").read_text().splitlines()
    assert args[args.index("--break-glass") + 1] == f"{reason} (requested by @oncall-ana)"
    assert not (tmp_path / "pwned").exists()


def test_the_dispatch_input_exists_and_schedules_never_break_glass() -> None:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert "break-glass-reason" in data[True]["workflow_dispatch"]["inputs"]
    assert "workflow_dispatch" in promote_step()["env"]["BREAK_GLASS_REASON"]
