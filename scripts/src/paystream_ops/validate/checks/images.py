"""Images: never `latest` or untagged; prod pinned by digest; the overlay's one `images:` entry.

CI edits only ``images:`` in ``overlays/<env>/kustomization.yaml``: exactly one entry named
after the service image, with a semver ``newTag`` (what people read) and, for prod, a
``digest`` (what runs). An entry whose name matches no container would silently change nothing,
so the rendered image is checked as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from paystream_ops.validate.checks import TargetContext
from paystream_ops.validate.checks.workloads import WORKLOAD_KINDS
from paystream_ops.validate.model import K8sObject, Problem, as_dict, as_list, dig

NAME = "images"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
SEMVER = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
DIGEST_REQUIRED_ENVS = frozenset({"prod"})


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """``repo[:tag][@digest]`` -> (repo, tag, digest); a port in the registry is not a tag."""
    rest, _, digest = image.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return rest[:colon], rest[colon + 1 :], digest or None
    return rest, None, digest or None


def containers(obj: K8sObject) -> Iterator[tuple[str, dict[str, Any]]]:
    spec = as_dict(dig(obj, "spec", "template", "spec"))
    for field in ("initContainers", "containers"):
        for i, container in enumerate(as_list(spec.get(field))):
            yield f"spec.template.spec.{field}[{i}].image", as_dict(container)


def check(ctx: TargetContext) -> Iterator[Problem]:
    for obj in ctx.objects:
        if obj.get("kind") not in WORKLOAD_KINDS:
            continue
        for where, container in containers(obj):
            yield from _image(ctx, obj, where, str(container.get("image", "")))
    # Only an environment's own overlay carries the image (overlays/<env>/alertmanager does not).
    if ctx.env is not None and ctx.name.rstrip("/").endswith(f"overlays/{ctx.env}"):
        yield from _kustomization_images(ctx)


def _image(ctx: TargetContext, obj: K8sObject, where: str, image: str) -> Iterator[Problem]:
    _, tag, digest = split_image(image)
    if tag is None and digest is None:
        yield ctx.problem(obj, where, f"{image!r} has no tag or digest (means latest)", NAME)
    elif tag == "latest":
        yield ctx.problem(obj, where, f"{image!r}: `latest` is not a version", NAME)
    if digest is not None and not DIGEST.match(digest):
        yield ctx.problem(obj, where, f"{image!r}: digest is not sha256:<64 hex>", NAME)
    if ctx.env in DIGEST_REQUIRED_ENVS and digest is None:
        yield ctx.problem(obj, where, f"{image!r}: {ctx.env} must pin the image by digest", NAME)


def _kustomization_images(ctx: TargetContext) -> Iterator[Problem]:
    path = ctx.rendered.target.path / "kustomization.yaml"
    target = f"{ctx.name}/kustomization.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return
    wanted = ctx.settings.service_image
    entries = [as_dict(e) for e in as_list(as_dict(data).get("images"))]
    ours = [(i, e) for i, e in enumerate(entries) if e.get("name") == wanted]
    if len(entries) != 1 or len(ours) != 1:
        names = [e.get("name") for e in entries]
        yield Problem(
            target,
            "",
            "images",
            f"must hold exactly one entry, named {wanted!r} (found {names})",
            NAME,
        )
        if not ours:
            return
    index, entry = ours[0]
    tag = str(entry.get("newTag", ""))
    if not SEMVER.match(tag):
        yield Problem(
            target, "", f"images[{index}].newTag", f"{tag!r} is not a semver version", NAME
        )
    digest = entry.get("digest")
    if digest is not None and not DIGEST.match(str(digest)):
        yield Problem(
            target, "", f"images[{index}].digest", f"{digest!r} is not sha256:<64 hex>", NAME
        )
    if digest is None and ctx.env in DIGEST_REQUIRED_ENVS:
        yield Problem(
            target,
            "",
            f"images[{index}].digest",
            f"missing: {ctx.env} must be pinned by digest",
            NAME,
        )
    if entry.get("newName"):
        yield Problem(
            target,
            "",
            f"images[{index}].newName",
            "set: the image name is fixed; CI only moves the tag and digest",
            NAME,
        )
    rendered = {
        split_image(str(c.get("image", "")))[0]
        for obj in ctx.objects
        if obj.get("kind") in WORKLOAD_KINDS
        for _, c in containers(obj)
    }
    if wanted not in rendered:
        yield Problem(
            target,
            "",
            f"images[{index}].name",
            f"no container image is {wanted!r}: the entry changes nothing",
            NAME,
        )
