"""Synthetic load in the lab: the overlay's Job metric, run as the same generator on loopback.

Argo Rollouts' Job provider (argo-rollouts `metricproviders/job/job.go`) creates the Job when the
AnalysisRun takes the metric's measurement (`Run`) and deletes it (foreground propagation) when
the run is terminated (`Terminate`); the rollout terminates its runs when it is fully promoted or
aborted (`rollout/analysis.go` `reconcileAnalysisRuns`). The lab does the same with a process:
it starts `paystream_loadgen`'s engine with the ConfigMap's rate and card mix (the Job's
envFrom, parsed by the Job's own `paystream_loadgen.settings`) when the analysis that holds the
metric starts, and stops it when that run completes or the rollout ends. The route's split is the
lab's, by the current weight, as for the scenario's traffic. Dry-run, the Job's own result never
decides, so the lab does not record it. Not emulated: the pod's start-up time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from paystream_loadgen.settings import Settings, SettingsError, parse_settings
from paystream_ops.errors import UserError
from paystream_ops.lab.manifests import LabManifests, is_job_metric
from paystream_ops.render import K8sObject


@dataclass(frozen=True)
class SyntheticLoad:
    """One dry-run Job metric of one of the Rollout's analyses, with its generator settings."""

    analysis: str  # the lab's label: "background" or "step N"
    template: str
    metric: str
    config_map: str
    settings: Settings


def _env_from(
    container: Mapping[str, Any], objects: Sequence[K8sObject]
) -> tuple[str, dict[str, str]]:
    maps = {
        str(o["metadata"]["name"]): o.get("data") or {}
        for o in objects
        if o.get("kind") == "ConfigMap" and (o.get("metadata") or {}).get("name")
    }
    env: dict[str, str] = {}
    names: list[str] = []
    for source in container.get("envFrom") or []:
        ref = str((source.get("configMapRef") or {}).get("name", ""))
        if ref in maps:
            names.append(ref)
            env.update({str(k): str(v) for k, v in maps[ref].items()})
    for item in container.get("env") or []:
        if "value" in item:
            env[str(item["name"])] = str(item["value"])
    return ", ".join(names), env


def read_synthetic_load(
    manifests: LabManifests, objects: Sequence[K8sObject]
) -> list[SyntheticLoad]:
    """Every dry-run Job metric in the Rollout's analyses, its settings parsed and checked."""
    found: list[SyntheticLoad] = []
    for label, analysis in manifests.analyses():
        for ref in analysis.templates:
            template = manifests.templates[(ref.name, ref.cluster_scope)]
            spec = template.get("spec") or {}
            patterns = list(analysis.dry_run) + [
                str(d.get("metricName", "")) for d in spec.get("dryRun") or []
            ]
            for raw in spec.get("metrics") or []:
                if not is_job_metric(raw):
                    continue
                name = str(raw.get("name", ""))
                where = f"{manifests.source}: {template['kind']}/{ref.name}: metrics[{name}]"
                if not any(re.search(p, name) for p in patterns):
                    raise UserError(f"{where}: the lab runs Job metrics only as dry-run")
                pod = ((raw["provider"]["job"].get("spec") or {}).get("template") or {}).get(
                    "spec"
                ) or {}
                containers = pod.get("containers") or []
                if len(containers) != 1:
                    raise UserError(f"{where}: expected one container (the generator)")
                config_map, env = _env_from(containers[0], objects)
                try:
                    settings = parse_settings(env)
                except SettingsError as exc:
                    raise UserError(f"{where}: ConfigMap {config_map or '?'}: {exc}") from None
                found.append(SyntheticLoad(label, ref.name, name, config_map, settings))
    return found
