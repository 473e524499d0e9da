"""Render the targets, run every layer, collect the problems (the I/O edge of the validator)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from paystream_ops.errors import UserError
from paystream_ops.render import render
from paystream_ops.validate import headers, scanner
from paystream_ops.validate.checks import (
    Settings,
    TargetContext,
    analysis,
    argocd,
    env_of,
    external_secrets,
    freeze,
    images,
    labelled_env,
    limits,
    monitoring,
    notifications,
    platform_charts,
    pods,
    rollout,
    routes,
    synthetic_load,
    workloads,
)
from paystream_ops.validate.crds import CrdIndex, load_crds
from paystream_ops.validate.kubernetes_schemas import KUBERNETES_VERSION
from paystream_ops.validate.metrics import service_metrics
from paystream_ops.validate.model import Problem, Rendered, Target, obj_id, sorted_problems
from paystream_ops.validate.schemas import SchemaValidator
from paystream_ops.validate.waivers import WAIVERS_FILE, load_waivers

CHECKS = (
    workloads,
    rollout,
    analysis,
    routes,
    external_secrets,
    monitoring,
    notifications,
    images,
    pods,
    limits,
    argocd,
    platform_charts,
    freeze,
    synthetic_load,
)
DISCOVERED = ("overlays", "clusters")


@dataclass(frozen=True)
class Options:
    root: Path
    crds: Path
    paths: tuple[Path, ...] = ()
    scan: bool = True
    waivers: Path | None = None
    kubernetes_version: str = KUBERNETES_VERSION
    jobs: int = 4


@dataclass
class Report:
    problems: list[Problem]
    targets: list[str]
    objects: int
    seconds: float
    metrics_source: str
    by_check: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.problems


def target_for(path: Path, root: Path) -> Target:
    resolved = path.resolve()
    try:
        name = resolved.relative_to(root.resolve()).as_posix()
    except ValueError:
        name = path.as_posix()
    return Target(name=name or ".", path=resolved)


def discover(root: Path) -> list[Target]:
    """Every overlay and every cluster folder (the root Applications' paths)."""
    found = []
    for folder in DISCOVERED:
        base = root / folder
        if base.is_dir():
            found += [target_for(p.parent, root) for p in sorted(base.glob("*/kustomization.yaml"))]
    if not found:
        raise UserError(
            f"{root}: nothing to validate (no overlays/*/ or clusters/*/ kustomization)"
        )
    return found


def _render_one(target: Target) -> Rendered:
    try:
        return Rendered(target, render(target.path))
    except UserError as exc:
        return Rendered(target, error=str(exc).removeprefix(f"{target.path}: "))


def render_all(targets: list[Target], root: Path, repo_url: str, jobs: int) -> dict[str, Rendered]:
    """Render the targets, then every path an Application in them deploys from this repo, and
    the cluster of each target's environment: its ClusterSecretStore is in an Application of
    its own, and a store and what reads through it are checked together."""
    renders: dict[str, Rendered] = {}
    pending = list(targets)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while pending:
            for rendered in pool.map(_render_one, pending):
                renders[rendered.target.name] = rendered
            pending = []
            for rendered in list(renders.values()):
                for path in [*_application_paths(rendered, repo_url), *_cluster_of(rendered)]:
                    if path not in renders and (root / path / "kustomization.yaml").is_file():
                        target = target_for(root / path, root)
                        if target not in pending:
                            pending.append(target)
    return renders


def _cluster_of(rendered: Rendered) -> Iterator[str]:
    env = env_of(rendered.target.name) or labelled_env(rendered.objects)
    if env is not None:
        yield f"clusters/{env}"


def _application_paths(rendered: Rendered, repo_url: str) -> Iterator[str]:
    for app in rendered.of_kind("Application"):
        for source in argocd.sources(app):
            if source.get("repoURL") == repo_url and source.get("path"):
                yield str(source["path"]).strip("/")


def validate(options: Options, crds: CrdIndex | None = None) -> Report:
    """Run every layer; ``crds`` lets callers (tests) load the CRD directory once."""
    started = time.monotonic()
    crds = crds or load_crds(options.crds)
    exported, metrics_source = service_metrics(options.root)
    settings = Settings(root=options.root, exported_metrics=exported, crds=crds)
    targets = (
        [target_for(p, options.root) for p in options.paths]
        if options.paths
        else discover(options.root)
    )
    renders = render_all(targets, options.root, settings.gitops_repo_url, options.jobs)
    schema = SchemaValidator(crds, options.kubernetes_version)
    problems: list[Problem] = []
    for name, rendered in sorted(renders.items()):
        if rendered.error:
            problems.append(
                Problem(name, "", "", f"kustomize build failed: {rendered.error}", "render")
            )
            continue
        for obj in rendered.objects:
            problems += [
                Problem(name, obj_id(obj), e.path, e.message, "schema")
                for e in schema.validate(obj)
            ]
        ctx = TargetContext(rendered, settings, env_of(name), renders)
        for module in CHECKS:
            problems += list(module.check(ctx))
    good = [r for r in renders.values() if not r.error]
    if options.scan:
        waivers = load_waivers(options.waivers or options.root / WAIVERS_FILE)
        findings = scanner.run_trivy(good)
        problems += scanner.judge(findings, waivers, {r.target.name for r in good})
    if not options.paths:
        problems += list(headers.check_headers(options.root))
    final = sorted_problems(problems)
    return Report(
        problems=final,
        targets=sorted(renders),
        objects=sum(len(r.objects) for r in renders.values()),
        seconds=time.monotonic() - started,
        metrics_source=metrics_source,
        by_check=Counter(p.check for p in final),
    )
