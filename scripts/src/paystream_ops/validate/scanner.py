"""trivy's Kubernetes misconfiguration checks on the rendered output, offline.

trivy only knows built-in workload kinds, so a Rollout is scanned as the Deployment it stands
in for (same metadata, same pod template) and its findings are reported against the Rollout.
Each object is written to its own file so a finding maps back to exactly one object.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from paystream_ops.errors import UserError
from paystream_ops.paths import pinned_tool
from paystream_ops.validate.model import K8sObject, Problem, Rendered, obj_id
from paystream_ops.validate.waivers import WAIVERS_FILE, Waiver

NAME = "scanner"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Finding:
    check: str
    target: str
    obj: str
    severity: str
    message: str


def trivy_binary() -> str:
    return pinned_tool("trivy")


def scannable(obj: K8sObject) -> K8sObject:
    """A Rollout as the Deployment trivy understands; anything else unchanged."""
    if obj.get("kind") != "Rollout":
        return obj
    spec = obj.get("spec") or {}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": obj.get("metadata") or {},
        "spec": {"selector": spec.get("selector"), "template": spec.get("template")},
    }


def _write(renders: Iterable[Rendered], directory: Path) -> dict[str, tuple[str, str]]:
    files: dict[str, tuple[str, str]] = {}
    for t_index, rendered in enumerate(renders):
        folder = directory / f"{t_index:02d}-{_SAFE.sub('_', rendered.target.name)}"
        folder.mkdir(parents=True)
        for o_index, obj in enumerate(rendered.objects):
            name = f"{o_index:03d}-{_SAFE.sub('_', obj_id(obj))}.yaml"
            (folder / name).write_text(yaml.safe_dump(scannable(obj), sort_keys=False))
            files[f"{folder.name}/{name}"] = (rendered.target.name, obj_id(obj))
    return files


def run_trivy(renders: list[Rendered]) -> list[Finding]:
    with tempfile.TemporaryDirectory(prefix="paystream-scan-") as tmp:
        root = Path(tmp) / "rendered"
        files = _write(renders, root)
        proc = subprocess.run(
            [
                trivy_binary(),
                "config",
                "--skip-check-update",
                "--quiet",
                "--format",
                "json",
                "--cache-dir",
                str(Path(tmp) / "cache"),
                str(root),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        reason = " ".join(proc.stderr.split())[-300:] or f"exit code {proc.returncode}"
        raise UserError(f"trivy config failed: {reason}")
    return list(parse_report(json.loads(proc.stdout or "{}"), files))


def parse_report(report: dict[str, Any], files: dict[str, tuple[str, str]]) -> Iterator[Finding]:
    for result in report.get("Results") or []:
        target, obj = files.get(str(result.get("Target")), ("?", str(result.get("Target"))))
        for finding in result.get("Misconfigurations") or []:
            if finding.get("Status", "FAIL") != "FAIL":
                continue
            yield Finding(
                check=str(finding.get("ID")),
                target=target,
                obj=obj,
                severity=str(finding.get("Severity", "")),
                message=f"{finding.get('Title')}: {finding.get('Message')}",
            )


def judge(findings: list[Finding], waivers: list[Waiver], scanned: set[str]) -> list[Problem]:
    """Unwaived findings, plus waivers that match nothing among the scanned targets."""
    used: set[int] = set()
    problems = []
    for f in sorted(set(findings), key=lambda f: (f.target, f.obj, f.check)):
        matching = [w for w in waivers if w.matches(f.check, f.target, f.obj)]
        if matching:
            used.update(w.index for w in matching)
            continue
        problems.append(
            Problem(
                f.target,
                f.obj,
                f.check,
                f"{f.severity} {f.message} (fix it, or waive it with a reason in {WAIVERS_FILE})",
                NAME,
            )
        )
    for waiver in waivers:
        applies = any(fnmatch.fnmatchcase(t, waiver.target) for t in scanned)
        if applies and waiver.index not in used:
            problems.append(
                Problem(
                    WAIVERS_FILE,
                    "",
                    f"waivers[{waiver.index}]",
                    f"{waiver.check} on {waiver.target} {waiver.obj} matches no "
                    "finding: remove the stale waiver",
                    NAME,
                )
            )
    return problems
