"""The same delivery commands against a copy of this repository's own manifests: bump edits only
the two image lines of the real overlay, the diff flags only the image, and the revert restores
the rendered overlay byte for byte."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from paystream_ops.cli import main
from paystream_ops.gitops.diff import rendered_diff
from paystream_ops.gitops.kustomization import read_image
from paystream_ops.gitops.risk import Category
from paystream_ops.render import render_to_text

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TREES = ("base", "overlays", "apps", "clusters")


@pytest.fixture
def real_remote(tmp_path: Path, remote_factory):
    tree = tmp_path / "tree"
    for name in TREES:
        shutil.copytree(REPO / name, tree / name)
    return remote_factory(tmp_path / "git", tree)


def test_real_overlay_follows_the_images_contract() -> None:
    for env in ("staging", "prod"):
        path = REPO / "overlays" / env / "kustomization.yaml"
        entry = read_image(path.read_text(), f"overlays/{env}/kustomization.yaml")
        assert entry.new_tag and entry.digest and entry.digest.startswith("sha256:")


def test_bump_and_revert_on_the_real_staging_overlay(real_remote, capsys) -> None:
    clone = real_remote.clone("dev")
    overlay = clone / "overlays" / "staging"
    before_file = (overlay / "kustomization.yaml").read_text()
    before_render = render_to_text(overlay)
    image = "ghcr.io/paystream/auth-service:9.9.9@sha256:" + "9" * 64

    assert main(["bump", "staging", "--image", image, "--repo", str(clone)]) == 0
    after_file = (overlay / "kustomization.yaml").read_text()
    changed = [
        (a, b)
        for a, b in zip(before_file.splitlines(), after_file.splitlines(), strict=True)
        if a != b
    ]
    assert len(changed) == 2
    assert "newTag: 9.9.9" in changed[0][1] and "9" * 64 in changed[1][1]

    report = rendered_diff(clone, "HEAD~1", "HEAD")
    assert {r.category for r in report.risks} == {Category.IMAGE}
    assert {(c.target, c.kind) for c in report.changes} == {("overlays/staging", "Rollout")}

    assert main(["rollback", "staging", "--repo", str(clone)]) == 0
    capsys.readouterr()
    assert (overlay / "kustomization.yaml").read_text() == before_file
    assert render_to_text(overlay) == before_render
