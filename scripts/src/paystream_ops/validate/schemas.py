"""Every rendered object against its schema: a CRD's for custom resources, Kubernetes' otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import jsonschema

from paystream_ops.validate.crds import Crd, CrdIndex
from paystream_ops.validate.kubernetes_schemas import (
    KUBERNETES_VERSION,
    FieldError,
    SchemaMissing,
    describe_errors,
    validate_core,
    validate_object_meta,
)
from paystream_ops.validate.model import K8sObject, group_of, namespace_of
from paystream_ops.validate.structural import crd_object_schema


@dataclass
class SchemaValidator:
    """Validates objects; compiled CRD schemas are cached per (group, kind, version)."""

    crds: CrdIndex
    kubernetes_version: str = KUBERNETES_VERSION
    _compiled: dict[tuple[str, str, str], jsonschema.protocols.Validator] = field(
        default_factory=dict
    )
    # An object's errors depend on its content only; a batch (the fixtures, every overlay)
    # renders the same objects many times. Keyed by repr, which keeps Python types apart.
    _results: dict[str, tuple[FieldError, ...]] = field(default_factory=dict)

    def validate(self, obj: K8sObject) -> list[FieldError]:
        key = repr(obj)
        if key not in self._results:
            self._results[key] = tuple(self._validate(obj))
        return list(self._results[key])

    def _validate(self, obj: K8sObject) -> list[FieldError]:
        kind = obj.get("kind")
        api_version = obj.get("apiVersion")
        if not isinstance(kind, str) or not isinstance(api_version, str):
            return [FieldError("", "object without apiVersion/kind")]
        group = group_of(obj)
        crd = self.crds.get(group, kind)
        if crd is not None:
            return list(self._validate_custom(obj, crd, api_version))
        if group and group in self.crds.groups():
            kinds = sorted(k for g, k in self.crds.by_kind if g == group)
            return [
                FieldError("kind", f"no CRD defines {kind} in {group} (it has {', '.join(kinds)})")
            ]
        try:
            return validate_core(obj, self.kubernetes_version)
        except SchemaMissing:
            return [
                FieldError(
                    "apiVersion",
                    f"unknown kind {kind} {api_version}: not a Kubernetes "
                    f"{self.kubernetes_version} kind and no CRD in {self.crds.directory}",
                )
            ]

    def _validate_custom(self, obj: K8sObject, crd: Crd, api_version: str) -> Iterator[FieldError]:
        version = api_version.split("/", 1)[1] if "/" in api_version else ""
        crd_version = crd.versions.get(version)
        if crd_version is None or not crd_version.served:
            served = sorted(v.name for v in crd.versions.values() if v.served)
            state = "not served" if crd_version is not None else "not defined"
            yield FieldError(
                "apiVersion",
                f"{api_version} is {state} by the {crd.kind} CRD "
                f"(served: {', '.join(f'{crd.group}/{v}' for v in served)})",
            )
            return
        key = (crd.group, crd.kind, version)
        if key not in self._compiled:
            schema = crd_object_schema(crd_version.schema)
            self._compiled[key] = jsonschema.Draft202012Validator(schema)
        yield from describe_errors(self._compiled[key].iter_errors(obj))
        meta = obj.get("metadata")
        if isinstance(meta, dict):
            yield from validate_object_meta(meta, self.kubernetes_version)
        if crd.cluster_scoped and namespace_of(obj):
            yield FieldError(
                "metadata.namespace",
                f"{crd.kind} is cluster-scoped (CRD scope: Cluster): remove the namespace",
            )
