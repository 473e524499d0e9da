"""The real repository passes, the CLI speaks in one line per problem, and the pieces behave."""

from __future__ import annotations

from pathlib import Path

import pytest
from paystream_ops.cli import main
from paystream_ops.validate.crds import CrdIndex
from paystream_ops.validate.runner import Options, validate

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent


def test_real_repository_passes_every_check_and_the_scan(
    repo_root: Path, crds_dir: Path, crd_index: CrdIndex
) -> None:
    report = validate(Options(root=repo_root, crds=crds_dir), crd_index)
    assert [p.line() for p in report.problems] == []
    assert {"overlays/prod", "overlays/staging", "clusters/prod", "clusters/staging"} <= set(
        report.targets
    )
    assert report.objects > 50
    print(f"\nvalidate on the repository: {report.objects} objects, {report.seconds:.1f}s")


def test_scanner_reports_a_writable_root_filesystem(
    repo_root: Path, crds_dir: Path, crd_index: CrdIndex
) -> None:
    fixture = HERE / "invalid" / "scanner-writable-root"
    report = validate(Options(root=repo_root, crds=crds_dir, paths=(fixture,)), crd_index)
    lines = [p.line() for p in report.problems if p.check == "scanner"]
    assert any("Rollout/auth-service: KSV-0014" in line for line in lines), lines
    assert {p.check for p in report.problems} == {"scanner"}


def test_cli_prints_one_line_per_problem_a_tally_and_exits_1(
    crds_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(HERE.parents[1])
    code = main(
        [
            "validate",
            "--crds",
            str(crds_dir),
            "--no-scan",
            "tests/manifests/invalid/selector-mismatch",
        ]
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 1
    assert out[0].startswith(
        "tests/manifests/invalid/selector-mismatch: Service/auth-service-canary: spec.selector: "
        "selects no pods"
    )
    assert out[-1].startswith("validate: 1 problem(s) (workloads 1): ")


def test_cli_with_a_missing_crd_directory_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(HERE.parents[1])
    assert main(["validate", "--no-scan", "--crds", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "CRD directory does not exist" in err[0]
