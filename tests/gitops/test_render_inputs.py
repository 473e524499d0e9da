"""A target's inputs digest (gitops/render_inputs.py): it changes with every file a kustomize
render can read, and only then; `diff` renders a target once when the digest is the same."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from paystream_ops.gitops import render_tree
from paystream_ops.gitops.diff import rendered_diff
from paystream_ops.gitops.render_inputs import inputs_digest

from .test_diff import commit_change, edit

pytestmark = pytest.mark.integration  # the diff test renders with the pinned kubectl


def layout(root: Path) -> Path:
    """overlays/prod -> ../../base, whose nested kustomization names a component elsewhere."""
    files = {
        "overlays/prod/kustomization.yaml": "resources:\n  - ../../base\n",
        "overlays/prod/patch.yaml": "spec:\n  replicas: 3\n",
        "base/kustomization.yaml": "resources:\n  - app\n",
        "base/app/kustomization.yaml": (
            "resources:\n  - deploy.yaml\ncomponents:\n  - ../../shared\n"
        ),
        "base/app/deploy.yaml": "kind: Deployment\n",
        "shared/kustomization.yaml": "kind: Component\n",
        "shared/labels.yaml": "team: payments\n",
        "unrelated/kustomization.yaml": "resources:\n  - cm.yaml\n",
        "unrelated/cm.yaml": "kind: ConfigMap\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_the_same_files_give_the_same_digest_in_another_checkout(tmp_path: Path) -> None:
    one = layout(tmp_path / "one")
    two = shutil.copytree(one, tmp_path / "two")
    assert inputs_digest(one, "overlays/prod") is not None
    assert inputs_digest(one, "overlays/prod") == inputs_digest(two, "overlays/prod")
    (two / "unrelated/cm.yaml").write_text("kind: Secret\n")
    assert inputs_digest(one, "overlays/prod") == inputs_digest(two, "overlays/prod")


@pytest.mark.parametrize(
    "rel",
    [
        "overlays/prod/patch.yaml",  # the target's own tree
        "base/app/deploy.yaml",  # a directory its kustomization names
        "shared/labels.yaml",  # named by a kustomization nested in that directory
    ],
)
def test_any_file_a_render_can_read_changes_the_digest(tmp_path: Path, rel: str) -> None:
    one = layout(tmp_path / "one")
    two = shutil.copytree(one, tmp_path / "two")
    (two / rel).write_text((two / rel).read_text() + "# edited\n")
    assert inputs_digest(one, "overlays/prod") != inputs_digest(two, "overlays/prod")


@pytest.mark.parametrize(
    "resource",
    ["https://github.com/example/repo//base?ref=v1", "github.com/example/repo/base", "../../.."],
)
def test_inputs_it_cannot_see_give_no_digest(tmp_path: Path, resource: str) -> None:
    """A remote base, or a path outside the repository: the target is rendered at both refs."""
    root = layout(tmp_path / "repo")
    (root / "overlays/prod/kustomization.yaml").write_text(f"resources:\n  - {resource}\n")
    assert inputs_digest(root, "overlays/prod") is None


def test_a_symlink_gives_no_digest(tmp_path: Path) -> None:
    root = layout(tmp_path / "repo")
    (root / "overlays/prod/linked.yaml").symlink_to(root / "unrelated/cm.yaml")
    assert inputs_digest(root, "overlays/prod") is None


@pytest.mark.parametrize(
    ("rel", "old", "new", "prod_renders"),
    [
        ("apps/prod/auth-service.yaml", "selfHeal: true", "selfHeal: false", 1),
        ("base/auth-service/rollout.yaml", "setWeight: 10", "setWeight: 25", 2),
    ],
)
def test_diff_renders_a_target_at_both_refs_only_when_its_inputs_changed(
    remote, monkeypatch: pytest.MonkeyPatch, rel: str, old: str, new: str, prod_renders: int
) -> None:
    rendered: list[str] = []
    real = render_tree.render_to_text

    def counting(path: Path) -> str:
        rendered.append(path.as_posix())
        return real(path)

    monkeypatch.setattr(render_tree, "render_to_text", counting)
    clone = remote.clone("dev")
    base, head = commit_change(remote, clone, lambda c: edit(c, rel, old, new))

    report = rendered_diff(clone, base, head)

    assert report.changes
    assert sum(p.endswith("/overlays/prod") for p in rendered) == prod_renders, rendered
    assert sum(p.endswith("/overlays/staging") for p in rendered) == prod_renders, rendered
