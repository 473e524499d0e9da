"""A CRD's structural openAPIV3Schema as a strict JSON Schema.

The API server prunes fields a structural schema does not declare (unless the schema says
``x-kubernetes-preserve-unknown-fields``): a typo such as ``failureLimt`` silently disappears
and the default applies. Offline, the same field is reported as an error instead. CEL rules
(``x-kubernetes-validations``) are not evaluated here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_PASSTHROUGH = (
    "type",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "multipleOf",
    "required",
)

_EMBEDDED_RESOURCE_FIELDS = ("apiVersion", "kind", "metadata")


def to_json_schema(node: Mapping[str, Any]) -> dict[str, Any]:
    """Translate one openAPIV3Schema node (recursively) into Draft 2020-12 JSON Schema."""
    out: dict[str, Any] = {key: node[key] for key in _PASSTHROUGH if key in node}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in node:
        out["properties"] = {k: to_json_schema(v) for k, v in node["properties"].items()}
    if "items" in node and isinstance(node["items"], Mapping):
        out["items"] = to_json_schema(node["items"])
    additional = node.get("additionalProperties")
    if isinstance(additional, Mapping):
        out["additionalProperties"] = to_json_schema(additional)
    elif isinstance(additional, bool):
        out["additionalProperties"] = additional
    for combinator in ("allOf", "anyOf", "oneOf"):
        if combinator in node:
            branches = [_branch(b) for b in node[combinator]]
            if combinator in out:  # int-or-string already used anyOf
                out.setdefault("allOf", []).append({combinator: branches})
            else:
                out[combinator] = branches
    if "not" in node:
        out["not"] = _branch(node["not"])
    preserve = bool(node.get("x-kubernetes-preserve-unknown-fields"))
    embedded = bool(node.get("x-kubernetes-embedded-resource"))
    if embedded:
        props = out.setdefault("properties", {})
        for name in _EMBEDDED_RESOURCE_FIELDS:
            props.setdefault(name, {})
    is_object = node.get("type") == "object" or "properties" in node
    if is_object and "additionalProperties" not in out and not preserve:
        # Structural: an object with no declared properties and no preserve flag keeps nothing.
        out["additionalProperties"] = False
    return out


def _branch(node: Mapping[str, Any]) -> dict[str, Any]:
    """Combinator branches only constrain; they never close an object to unknown fields."""
    out = to_json_schema(node)
    if out.get("additionalProperties") is False:
        out.pop("additionalProperties")
    return out


def crd_object_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The whole-object schema; ``metadata`` is checked separately (as an ObjectMeta)."""
    out = to_json_schema(schema)
    props = out.setdefault("properties", {})
    props["metadata"] = {"type": "object"}
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    return out
