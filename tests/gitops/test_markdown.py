"""The pull-request comment: summary and risks first, always under GitHub's limit."""

from __future__ import annotations

import secrets

from paystream_ops.gitops.markdown import (
    GITHUB_COMMENT_LIMIT,
    STICKY_MARKER,
    fence_for,
    render_markdown,
    render_text,
)
from paystream_ops.gitops.objdiff import diff_target
from paystream_ops.gitops.risk import classify


def configmaps(count: int, value: str) -> list[dict[str, object]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{i:05d}", "namespace": "paystream"},
            "data": {f"key-{j}": f"{value}-{i}-{j}" for j in range(40)},
        }
        for i in range(count)
    ]


def rollout(image: str) -> dict[str, object]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "auth-service", "namespace": "paystream"},
        "spec": {"template": {"spec": {"containers": [{"name": "auth-service", "image": image}]}}},
    }


def test_a_huge_diff_stays_under_githubs_comment_limit_with_the_risks_first() -> None:
    key = secrets.token_bytes(16)
    old = [*configmaps(2000, "old"), rollout("ghcr.io/paystream/auth-service:1.0.0")]
    new = [*configmaps(2000, "new"), rollout("ghcr.io/paystream/auth-service:1.1.0")]
    changes = diff_target("overlays/prod", old, new, key)
    risks = [r for c in changes for r in classify(c)]
    full = render_text(changes, risks)
    assert len(full) > 10 * GITHUB_COMMENT_LIMIT

    comment = render_markdown("a" * 40, "b" * 40, ["overlays/prod"], changes, risks)

    assert len(comment) <= GITHUB_COMMENT_LIMIT
    assert comment.startswith(STICKY_MARKER)
    assert comment.index("risky change") < comment.index("<details>")
    assert "| image |" in comment
    assert "| `overlays/prod` | 0 | 0 | 2001 |" in comment
    # The risky object comes first among the diffs, and the cut is announced.
    assert comment.index("Rollout.argoproj.io") < comment.index("ConfigMap paystream/cm-00000")
    assert "object diffs are not shown" in comment
    assert "`rendered-diff` artifact" in comment


def test_one_enormous_object_is_cut_not_dropped() -> None:
    old = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "big"},
            "data": {f"k{i}": "x" * 100 for i in range(3000)},
        }
    ]
    new = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "big"},
            "data": {f"k{i}": "y" * 100 for i in range(3000)},
        }
    ]
    changes = diff_target("apps", old, new, b"k")
    comment = render_markdown("a" * 40, "b" * 40, ["apps"], changes, [])
    assert len(comment) <= GITHUB_COMMENT_LIMIT
    assert "this object's diff is cut here" in comment
    assert "No risky changes" in comment


def test_backticks_in_content_cannot_close_the_code_fence() -> None:
    assert fence_for("plain") == "```"
    assert fence_for("a ```` b") == "`````"
    old = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": "a"}}]
    new = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "x"},
            "data": {"k": "```\n</details>"},
        }
    ]
    comment = render_markdown("a" * 40, "b" * 40, ["apps"], diff_target("apps", old, new, b"k"), [])
    assert "````diff" in comment


def test_no_changes_says_so() -> None:
    comment = render_markdown("a" * 40, "b" * 40, ["overlays/prod"], [], [])
    assert "No rendered object changes." in comment
    assert "<details>" not in comment
