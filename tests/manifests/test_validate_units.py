"""Pure pieces of the validator: waivers, headers, PromQL names, schemas, image references."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest
from paystream_ops.errors import UserError
from paystream_ops.validate.checks.argocd import WAVE, _namespace_order, _store_order
from paystream_ops.validate.checks.images import split_image
from paystream_ops.validate.crds import crds_dir
from paystream_ops.validate.headers import check_headers
from paystream_ops.validate.metrics import definitions_in_source, exposed_names, metric_names
from paystream_ops.validate.model import K8sObject
from paystream_ops.validate.scanner import Finding, judge
from paystream_ops.validate.structural import to_json_schema
from paystream_ops.validate.waivers import Waiver, load_waivers


def test_waived_finding_is_silent_and_stale_waiver_is_reported() -> None:
    finding = Finding("KSV-0014", "overlays/prod", "Rollout/auth-service", "HIGH", "writable")
    waiver = Waiver(0, "KSV-0014", "overlays/*", "Rollout/*", "a reason")
    stale = Waiver(1, "KSV-0001", "overlays/*", "*", "another reason")
    problems = judge([finding], [waiver, stale], {"overlays/prod"})
    assert [p.field for p in problems] == ["waivers[1]"]
    assert "matches no finding" in problems[0].message
    assert judge([finding], [], {"overlays/prod"})[0].field == "KSV-0014"


def test_waiver_without_reason_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n  - check: KSV-0014\n    target: '*'\n    object: '*'\n")
    with pytest.raises(UserError, match=r"waivers\[0\]: missing reason"):
        load_waivers(path)


def test_kubernetes_yaml_without_schema_header_is_reported(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "bare.yaml").write_text("apiVersion: v1\nkind: Service\n")
    (tmp_path / "base" / "ok.yaml").write_text(
        "# yaml-language-server: $schema=https://example.test/s.json\n"
        "apiVersion: v1\nkind: Service\n"
    )
    (tmp_path / "base" / "transformer.yaml").write_text(
        "apiVersion: builtin\nkind: PatchTransformer\n"
    )
    (tmp_path / "base" / "patch.yaml").write_text("- op: remove\n  path: /x\n")
    assert [p.line() for p in check_headers(tmp_path)] == [
        "base/bare.yaml: line 1: does not start with # yaml-language-server: $schema=<url>"
    ]


def test_metric_names_skip_functions_labels_ranges_and_templates() -> None:
    expr = (
        'sum by (network) (increase(paystream_auth_requests_total{job="a", ns="{{args.namespace}}"}'
        '[{{args.window}}])) / ignoring (outcome) group_left () x:y:ratio{a="b"} offset 5m '
        "and on (network) up > bool 0 * NaN + rate(foo_bucket[$__rate_interval])"
    )
    assert metric_names(expr) == {"paystream_auth_requests_total", "x:y:ratio", "up", "foo_bucket"}


def test_exported_names_follow_prometheus_client_conventions() -> None:
    source = textwrap.dedent(
        """
        from prometheus_client import Counter, Histogram, Info
        NAME = "paystream_auth_requests"
        REQUESTS = Counter(NAME, "help", ["network", "outcome"])
        LATENCY = Histogram("paystream_auth_request_duration_seconds", "help")
        BUILD = Info(name="paystream_auth_build", documentation="help")
        """
    )
    found = dict(definitions_in_source(source))
    assert found == {
        "paystream_auth_requests": "Counter",
        "paystream_auth_request_duration_seconds": "Histogram",
        "paystream_auth_build": "Info",
    }
    assert exposed_names("paystream_auth_requests_total", "Counter") == {
        "paystream_auth_requests_total",
        "paystream_auth_requests_created",
    }
    assert "paystream_auth_request_duration_seconds_bucket" in exposed_names(
        "paystream_auth_request_duration_seconds", "Histogram"
    )
    assert ast.parse(source)  # the sample itself is valid Python


def test_structural_schema_closes_objects_unless_preserving_unknown_fields() -> None:
    schema = to_json_schema(
        {
            "type": "object",
            "properties": {
                "closed": {"type": "object", "properties": {"a": {"type": "string"}}},
                "open": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "port": {"x-kubernetes-int-or-string": True},
            },
        }
    )
    assert schema["additionalProperties"] is False
    assert schema["properties"]["closed"]["additionalProperties"] is False
    assert "additionalProperties" not in schema["properties"]["open"]
    assert schema["properties"]["port"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        ("ghcr.io/paystream/auth-service", ("ghcr.io/paystream/auth-service", None, None)),
        ("registry:5000/x:1.2.3", ("registry:5000/x", "1.2.3", None)),
        ("ghcr.io/p/a:1.0.0@sha256:" + "a" * 64, ("ghcr.io/p/a", "1.0.0", "sha256:" + "a" * 64)),
    ],
)
def test_image_references_split_into_repository_tag_and_digest(
    image: str, parts: tuple[str, str | None, str | None]
) -> None:
    assert split_image(image) == parts


def test_no_crd_directory_anywhere_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PAYSTREAM_CRDS_DIR", raising=False)
    with pytest.raises(UserError, match=r"no CRD directory: pass --crds DIR or set"):
        crds_dir(None, tmp_path / "repo")


def _obj(kind: str, name: str, wave: int, namespace: str = "", **spec: object) -> K8sObject:
    metadata = {"name": name, "annotations": {WAVE: str(wave)}}
    if namespace:
        metadata["namespace"] = namespace
    return {"kind": kind, "metadata": metadata, "spec": dict(spec)}


def test_a_secret_store_syncs_before_its_external_secrets_in_its_own_or_an_earlier_app() -> None:
    es = _obj(
        "ExternalSecret",
        "e",
        -1,
        "ns",
        secretStoreRef={"kind": "SecretStore", "name": "s"},
    )
    app = _obj("Application", "service", 0, destination={"namespace": "ns"})
    earlier = _obj("Application", "secrets", -5)
    same_wave = _obj("Application", "secrets", 0)
    key = ("SecretStore", "ns", "s")
    store_first, store_later = _obj("SecretStore", "s", -2, "ns"), _obj("SecretStore", "s", 0, "ns")
    assert _store_order(es, app, {key: (app, store_first)}) is None
    assert _store_order(es, app, {key: (app, _obj("SecretStore", "s", -1, "ns"))}) is None
    assert "this Application syncs later (wave 0 > -1)" in str(
        _store_order(es, app, {key: (app, store_later)})
    )
    assert _store_order(es, app, {key: (earlier, store_later)}) is None
    assert "Application secrets syncs at wave 0, not before this Application (wave 0)" in str(
        _store_order(es, app, {key: (same_wave, store_first)})
    )
    assert _store_order(es, app, {}) is None  # no Application syncs it: the secrets check's
    namespace = ("Namespace", "", "ns")
    assert _namespace_order(app, {namespace: (earlier, _obj("Namespace", "ns", -3))}) is None
    assert "creates at wave 0, not before this Application (wave 0)" in str(
        _namespace_order(app, {namespace: (same_wave, _obj("Namespace", "ns", -3))})
    )
