"""Cross-reference checks over rendered objects: what a cluster would only find at 3 a.m.

Each module exposes ``NAME`` and ``check(ctx) -> Iterator[Problem]`` over one rendered target;
``argocd`` and ``platform_charts`` also look across targets (an Application and the path it
deploys).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from paystream_ops.validate.crds import CrdIndex
from paystream_ops.validate.model import K8sObject, Problem, Rendered, as_dict, obj_id


@dataclass(frozen=True)
class Settings:
    """What checks need to know beyond the objects themselves."""

    root: Path
    exported_metrics: frozenset[str]
    crds: CrdIndex | None = None
    gitops_repo_url: str = "https://github.com/paystream/platform.git"
    service_image: str = "ghcr.io/paystream/auth-service"


@dataclass
class TargetContext:
    rendered: Rendered
    settings: Settings
    env: str | None = None
    # Every rendered target by name, for checks that follow references across targets.
    all_targets: dict[str, Rendered] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.rendered.target.name

    @property
    def objects(self) -> list[K8sObject]:
        return self.rendered.objects

    def problem(self, obj: K8sObject | None, where: str, message: str, check: str) -> Problem:
        return Problem(self.name, obj_id(obj) if obj is not None else "", where, message, check)


def env_of(target_name: str) -> str | None:
    """``overlays/prod`` -> ``prod``; anything not under an ``overlays`` folder has no env."""
    parts = Path(target_name).parts
    if "overlays" in parts:
        index = parts.index("overlays")
        if index + 1 < len(parts):
            return parts[index + 1]
    return None


ENV_LABEL = "paystream.io/environment"  # every overlay labels its objects with its environment


def labelled_env(objects: Iterable[K8sObject]) -> str | None:
    """The environment a target's objects are labelled with (a fixture outside overlays/)."""
    for obj in objects:
        labels = as_dict(as_dict(obj.get("metadata")).get("labels"))
        if isinstance(env := labels.get(ENV_LABEL), str):
            return env
    return None


__all__ = ["ENV_LABEL", "Iterator", "Settings", "TargetContext", "env_of", "labelled_env"]
