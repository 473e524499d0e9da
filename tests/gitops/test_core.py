"""Pure core: image references, the in-place kustomization edit, history and risk rules."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from paystream_ops.errors import UserError
from paystream_ops.gitops.history import ImageChange, live_changes
from paystream_ops.gitops.imageref import ImageRef, check_deployable, parse_image_ref
from paystream_ops.gitops.kustomization import read_image, set_image
from paystream_ops.gitops.objdiff import FieldChange, ObjectChange
from paystream_ops.gitops.risk import Category, categories_for, classify

IMAGE = "ghcr.io/paystream/auth-service"
DIGEST = "sha256:" + "0123456789abcdef" * 4

KUSTOMIZATION = f"""\
# yaml-language-server: $schema=https://json.schemastore.org/kustomization.json
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../../base/auth-service   # comment kept
images:
# the one pin
- name: {IMAGE}
  newTag: "1.2.3"   # quoted on purpose
  digest: '{DIGEST}'
- name: docker.io/library/busybox
  newTag: 1.36.1
replicas:
  - name: auth-service
    count: 3
"""


def test_parse_accepts_both_reference_forms() -> None:
    assert parse_image_ref(f"{IMAGE}:1.2.3@{DIGEST}") == ImageRef(IMAGE, "1.2.3", DIGEST)
    assert parse_image_ref(f"{IMAGE}@{DIGEST}") == ImageRef(IMAGE, None, DIGEST)
    assert parse_image_ref("localhost:5000/a/b:1.0.0") == ImageRef(
        "localhost:5000/a/b", "1.0.0", None
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ghcr.io/PayStream/auth:1.0.0",
        "a b:1.0.0",
        f"{IMAGE}:1.0.0@sha256:abc",
        f"{IMAGE}@md5:{'a' * 32}",
        IMAGE,
    ],
)
def test_parse_rejects_malformed_references_in_one_line(text: str) -> None:
    with pytest.raises(UserError) as err:
        parse_image_ref(text)
    assert "\n" not in str(err.value)


semver = st.tuples(st.integers(0, 999), st.integers(0, 999), st.integers(0, 999)).map(
    lambda t: ".".join(map(str, t))
)


@given(tag=semver, digest=st.text("0123456789abcdef", min_size=64, max_size=64))
def test_reference_round_trips_through_text(tag: str, digest: str) -> None:
    ref = ImageRef(IMAGE, tag, f"sha256:{digest}")
    assert parse_image_ref(str(ref)) == ref
    check_deployable(ref, "prod")


def test_policy_rejects_mutable_tags_and_prod_without_digest() -> None:
    with pytest.raises(UserError, match="mutable"):
        check_deployable(ImageRef(IMAGE, "latest", DIGEST), "staging")
    with pytest.raises(UserError, match="prod requires a digest"):
        check_deployable(ImageRef(IMAGE, "1.2.3", None), "prod")
    check_deployable(ImageRef(IMAGE, "1.2.3-rc.1", None), "staging")


def test_read_image_finds_the_one_entry() -> None:
    entry = read_image(KUSTOMIZATION, "k.yaml")
    assert (entry.new_tag, entry.digest, entry.index) == ("1.2.3", DIGEST, 0)


def test_set_image_changes_only_the_two_values_and_keeps_quoting() -> None:
    new_digest = "sha256:" + "f" * 64
    out = set_image(KUSTOMIZATION, "k.yaml", ImageRef(IMAGE, "1.3.0", new_digest))
    expected = KUSTOMIZATION.replace('"1.2.3"', '"1.3.0"').replace(DIGEST, new_digest)
    assert out == expected


def test_set_image_adds_and_removes_fields_on_their_own_lines() -> None:
    no_digest = set_image(KUSTOMIZATION, "k.yaml", ImageRef(IMAGE, "1.3.0", None))
    assert "digest" not in no_digest.split("docker.io")[0]
    assert no_digest.count("\n") == KUSTOMIZATION.count("\n") - 1
    back = set_image(no_digest, "k.yaml", ImageRef(IMAGE, "1.3.0", DIGEST))
    assert f'  newTag: "1.3.0"   # quoted on purpose\n  digest: {DIGEST}\n' in back
    assert yaml.safe_load(back)["images"][0] == {"name": IMAGE, "newTag": "1.3.0", "digest": DIGEST}


def test_set_image_keeps_crlf_line_endings() -> None:
    crlf = KUSTOMIZATION.replace("\n", "\r\n")
    out = set_image(crlf, "k.yaml", ImageRef(IMAGE, "1.3.0", None))
    assert "\n" not in out.replace("\r\n", "")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("kind: Kustomization\n", "images: missing"),
        ("images:\n- name: other\n  newTag: 1.0.0\n", "no entry named"),
        (f"images:\n- name: {IMAGE}\n- name: {IMAGE}\n", "2 entries"),
        (f"images:\n- {{name: {IMAGE}, newTag: 1.0.0}}\n", "flow style"),
        (f"images:\n- name: {IMAGE}\n  newTag: 1.5\n", "quote it"),
        ("images: [\n", "invalid YAML"),
    ],
)
def test_bad_kustomizations_give_one_line_errors_naming_the_file(text: str, needle: str) -> None:
    where = "overlays/prod/kustomization.yaml"
    with pytest.raises(UserError) as err:
        read_image(text, where)
        set_image(text, where, ImageRef(IMAGE, "1.3.0", DIGEST))
    message = str(err.value)
    assert message.startswith("overlays/prod/kustomization.yaml: ")
    assert needle in message and "\n" not in message


def change(
    sha: str, old: str | None, new: str | None, reverts: tuple[str, ...] = ()
) -> ImageChange:
    ref = lambda t: ImageRef(IMAGE, t, None) if t else None  # noqa: E731
    return ImageChange(sha, None, False, ref(old), ref(new), reverts, "", 0)


def test_live_changes_follow_reverts_and_reverts_of_reverts() -> None:
    created = change("c0", None, "1.0.0")
    b1, b2 = change("b1", "1.0.0", "1.1.0"), change("b2", "1.1.0", "1.2.0")
    r2 = change("r2", "1.2.0", "1.1.0", ("b2",))
    rr2 = change("rr2", "1.1.0", "1.2.0", ("r2",))
    assert live_changes([created]) == []
    assert live_changes([created, b1, b2]) == [b1, b2]
    assert live_changes([created, b1, b2, r2]) == [b1]
    assert live_changes([created, b1, b2, r2, rr2]) == [b1, rr2]
    assert live_changes([created, b1, b2, change("r1", "x", "y", ("b1",))]) == [b2]


def obj_change(kind: str, path: tuple[str, ...], old: object, new: object) -> ObjectChange:
    return ObjectChange(
        "t", f"{kind} x", kind, "changed", {}, {}, "", (FieldChange(path, old, new),)
    )


@pytest.mark.parametrize(
    ("kind", "path", "old", "new", "expected"),
    [
        (
            "Deployment",
            ("spec", "template", "spec", "initContainers", "[name=i]", "image"),
            "a",
            "b",
            [Category.IMAGE],
        ),
        (
            "CronJob",
            ("spec", "jobTemplate", "spec", "template", "spec", "containers", "[name=c]"),
            None,
            {"name": "c"},
            [Category.IMAGE],
        ),
        ("Rollout", ("spec", "template", "spec", "serviceAccountName"), "a", "b", [Category.RBAC]),
        (
            "Rollout",
            (
                "spec",
                "template",
                "spec",
                "containers",
                "[name=c]",
                "env",
                "[name=DB]",
                "valueFrom",
                "secretKeyRef",
                "name",
            ),
            "a",
            "b",
            [Category.SECRETS],
        ),
        (
            "Rollout",
            ("spec", "strategy", "canary", "steps"),
            [{"setWeight": 5}],
            [{"setWeight": 5}, {"analysis": {"templates": []}}],
            [Category.CANARY, Category.ANALYSIS],
        ),
        (
            "Rollout",
            ("spec", "strategy", "canary", "analysis", "args", "[name=window]", "value"),
            "2m",
            "5m",
            [Category.ANALYSIS],
        ),
        ("Rollout", ("spec", "rollbackWindow", "revisions"), 3, 0, [Category.CANARY]),
        ("Rollout", ("spec", "replicas"), 3, 4, []),
        (
            "HTTPRoute",
            ("spec", "rules", "[0]", "backendRefs", "[name=canary]", "weight"),
            0,
            50,
            [Category.CANARY],
        ),
        ("HTTPRoute", ("spec", "hostnames"), ["a"], ["b"], []),
        ("ClusterRoleBinding", ("subjects",), [], [{"kind": "Group"}], [Category.RBAC]),
        ("ClusterRole", ("metadata", "labels", "team"), "a", "b", []),
        ("CiliumNetworkPolicy", ("spec", "egress"), [], [{}], [Category.NETWORK_POLICY]),
        (
            "PeerAuthentication",
            ("spec", "mtls", "mode"),
            "STRICT",
            "PERMISSIVE",
            [Category.AUTHORIZATION_POLICY],
        ),
        (
            "ClusterSecretStore",
            ("spec", "provider", "vault", "path"),
            "paystream",
            "kv",
            [Category.SECRETS],
        ),
        ("AppProject", ("spec", "sourceRepos"), ["a"], ["*"], [Category.RBAC]),
        ("AppProject", ("spec", "syncWindows"), [], [{}], [Category.SYNC_POLICY]),
        ("Application", ("spec", "ignoreDifferences"), [], [{}], [Category.SYNC_POLICY]),
        (
            "ApplicationSet",
            ("spec", "template", "spec", "syncPolicy", "automated"),
            {},
            None,
            [Category.SYNC_POLICY],
        ),
        (
            "Service",
            ("metadata", "annotations", "argocd.argoproj.io/sync-options"),
            None,
            "Prune=false",
            [Category.SYNC_POLICY],
        ),
        ("ConfigMap", ("data", "x"), "a", "b", []),
    ],
)
def test_risk_rules(
    kind: str, path: tuple[str, ...], old: object, new: object, expected: list[Category]
) -> None:
    assert categories_for(kind, FieldChange(path, old, new)) == expected
    assert [r.category for r in classify(obj_change(kind, path, old, new))] == expected


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("NetworkPolicy", [Category.NETWORK_POLICY]),
        ("Role", [Category.RBAC]),
        ("AuthorizationPolicy", [Category.AUTHORIZATION_POLICY]),
        ("Application", [Category.SYNC_POLICY]),
        ("ConfigMap", []),
    ],
)
def test_removed_objects_of_risky_kinds_are_flagged(kind: str, expected: list[Category]) -> None:
    removed = ObjectChange("t", f"{kind} x", kind, "removed", {}, None, "")
    assert [r.category for r in classify(removed)] == expected
