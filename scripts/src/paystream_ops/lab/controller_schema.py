"""The objects a lab run wrote (`controller_objects`) against the pinned CRDs and Kubernetes'
own schemas, as the API server would take them: every lab test checks its run with this."""

from __future__ import annotations

from pathlib import Path

import yaml
from paystream_ops.validate.crds import CrdIndex
from paystream_ops.validate.schemas import SchemaValidator


def schema_errors(directory: Path, crds: CrdIndex) -> list[str]:
    """`file: field: problem` for every object in `directory` that its schema rejects."""
    validator = SchemaValidator(crds)
    errors: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        obj = yaml.safe_load(path.read_text())
        errors.extend(f"{path.name}: {e.path}: {e.message}" for e in validator.validate(obj))
    return errors
