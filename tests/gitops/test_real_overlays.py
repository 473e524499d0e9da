"""The repository's own overlays: each pins its image the way bump, promote and rollback edit
it, and a bump reverted by `rollback` renders the overlay byte for byte as before."""

from __future__ import annotations

import pytest
from paystream_ops.cli import main
from paystream_ops.gitops.diff import rendered_diff
from paystream_ops.gitops.kustomization import read_image
from paystream_ops.gitops.risk import Category
from paystream_ops.render import render_to_text

from .conftest import REPO

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_real_overlay_follows_the_images_contract(env: str) -> None:
    path = REPO / "overlays" / env / "kustomization.yaml"
    entry = read_image(path.read_text(), f"overlays/{env}/kustomization.yaml")
    assert entry.new_tag and entry.digest and entry.digest.startswith("sha256:")


def test_bump_and_revert_on_the_real_staging_overlay(remote, capsys) -> None:
    clone = remote.clone("dev")
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
