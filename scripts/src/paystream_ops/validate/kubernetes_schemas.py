"""Core Kubernetes kinds against the pinned version's strict schemas (PyPI kubernetes-validate).

kubernetes-validate's own ``validate()`` stops at the first error and its CLI lets an unknown
kind pass with a warning; here every error is reported and an unknown kind or apiVersion is a
problem (``SchemaMissing``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

# The Kubernetes minor the clusters run; the strict schemas of this version are the contract.
KUBERNETES_VERSION = "1.35.0"
_DEFINITIONS = "_definitions.json"


class SchemaMissing(LookupError):
    """No schema for this kind/apiVersion in the pinned Kubernetes version."""


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str


def _schema_dir(version: str) -> Any:
    return resources.files("kubernetes_validate").joinpath(
        "kubernetes-json-schema", f"v{version}-local-strict"
    )


@functools.cache
def _registry(version: str) -> referencing.Registry[Any]:
    definitions = json.loads(_schema_dir(version).joinpath(_DEFINITIONS).read_text())
    resource = referencing.Resource.from_contents(
        definitions, default_specification=referencing.jsonschema.DRAFT202012
    )
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(
        str(definitions["$id"]), resource
    )
    return registry


def _schema_file(kind: str, api_version: str) -> str:
    # apps/v1 -> apps-v1, rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return f"{kind.lower()}-{group.split('.', 1)[0]}-{version}.json"
    return f"{kind.lower()}-{api_version}.json"


@functools.cache
def _validator(kind: str, api_version: str, version: str) -> jsonschema.protocols.Validator:
    path = _schema_dir(version).joinpath(_schema_file(kind, api_version))
    if not path.is_file():
        raise SchemaMissing(f"{kind} {api_version}")
    schema = json.loads(path.read_text())
    enum = ((schema.get("properties") or {}).get("apiVersion") or {}).get("enum")
    if enum and api_version not in enum:  # apps-v1 also matches e.g. apps.example.com/v1
        raise SchemaMissing(f"{kind} {api_version}")
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, registry=_registry(version))


@functools.cache
def _object_meta_validator(version: str) -> jsonschema.protocols.Validator:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "https://kubernetes.io/api/_definitions.json#/$defs/"
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    }
    return jsonschema.Draft202012Validator(schema, registry=_registry(version))


def has_schema(kind: str, api_version: str, version: str = KUBERNETES_VERSION) -> bool:
    try:
        _validator(kind, api_version, version)
    except SchemaMissing:
        return False
    return True


def validate_core(obj: Mapping[str, Any], version: str = KUBERNETES_VERSION) -> list[FieldError]:
    """Every schema error of a core object; raises ``SchemaMissing`` for an unknown kind."""
    validator = _validator(str(obj.get("kind")), str(obj.get("apiVersion")), version)
    return list(describe_errors(validator.iter_errors(obj)))


def validate_object_meta(
    meta: Mapping[str, Any], version: str = KUBERNETES_VERSION
) -> list[FieldError]:
    errors = _object_meta_validator(version).iter_errors(meta)
    return [
        FieldError("metadata" + (f".{e.path}" if e.path else ""), e.message)
        for e in describe_errors(errors)
    ]


def json_path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe_errors(errors: Iterator[jsonschema.ValidationError]) -> Iterator[FieldError]:
    """One readable line per error: unknown fields named, anyOf/oneOf reduced to the best branch."""
    for error in errors:
        best = jsonschema.exceptions.best_match([error, *error.context]) if error.context else error
        path = json_path(best.absolute_path)
        schema = best.schema if isinstance(best.schema, dict) else {}
        if best.validator == "additionalProperties" and isinstance(best.instance, dict):
            allowed = set((schema.get("properties") or {}).keys())
            for extra in sorted(set(best.instance) - allowed):
                where = f"{path}.{extra}" if path else str(extra)
                yield FieldError(
                    where,
                    "unknown field (not in the schema; the API server would drop or reject it)",
                )
            continue
        yield FieldError(path, _short(best.message))


def _short(message: str, limit: int = 200) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 3] + "..."
