"""How a validation report reads: one line per problem, then a tally."""

from __future__ import annotations

import json

from paystream_ops.validate.runner import Report


def text(report: Report) -> str:
    lines = [p.line() for p in report.problems]
    scope = (
        f"{report.objects} objects in {len(report.targets)} targets "
        f"({', '.join(report.targets)}), {report.seconds:.1f}s"
    )
    if report.ok:
        lines.append(f"validate: OK: {scope}")
    else:
        checks = ", ".join(f"{name} {count}" for name, count in sorted(report.by_check.items()))
        lines.append(f"validate: {len(report.problems)} problem(s) ({checks}): {scope}")
    return "\n".join(lines)


def as_json(report: Report) -> str:
    return json.dumps(
        {
            "ok": report.ok,
            "problems": [
                {
                    "target": p.target,
                    "object": p.obj,
                    "field": p.field,
                    "message": p.message,
                    "check": p.check,
                    "line": p.line(),
                }
                for p in report.problems
            ],
            "targets": report.targets,
            "objects": report.objects,
            "seconds": round(report.seconds, 2),
            "metrics_source": report.metrics_source,
        },
        indent=2,
    )
