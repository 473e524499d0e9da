"""Image references: `name:tag@sha256:digest` or `name@sha256:digest`, parsed and checked."""

from __future__ import annotations

import re
from dataclasses import dataclass

from paystream_ops.errors import UserError
from paystream_ops.gitops import DIGEST_REQUIRED

# The distribution reference grammar (registry host[:port]/path components), lower-case paths.
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?/)"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = rf"(?:{_DOMAIN}?{_COMPONENT}(?:/{_COMPONENT})*)"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_REFERENCE = re.compile(rf"^(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>[^@]+))?$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# SemVer 2.0.0 without build metadata (`+` is not allowed in an image tag).
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$"
)
# Tags that name a moving target rather than a build.
_MUTABLE_TAGS = frozenset({"latest", "main", "master", "stable", "edge", "dev", "nightly"})


@dataclass(frozen=True)
class ImageRef:
    name: str
    tag: str | None
    digest: str | None

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    @property
    def short(self) -> str:
        """`1.4.1@sha256:0123456789ab`: enough to tell two builds apart in a subject line."""
        parts = [self.tag] if self.tag else []
        if self.digest:
            parts.append(f"sha256:{self.digest.removeprefix('sha256:')[:12]}")
        return "@".join(parts) if parts else self.name

    def same_build(self, other: ImageRef) -> bool:
        """Same build: equal digests when both pin one, else equal tag and digest."""
        if self.name != other.name:
            return False
        if self.digest and other.digest:
            return self.digest == other.digest
        return self.tag == other.tag and self.digest == other.digest


def parse_image_ref(text: str, *, where: str = "--image") -> ImageRef:
    """Parse a reference; the error names `where` and says which form is expected."""
    raw = text.strip()
    match = _REFERENCE.match(raw)
    if match is None:
        raise UserError(
            f"{where} {text!r}: not an image reference "
            "(expected NAME:TAG@sha256:DIGEST or NAME@sha256:DIGEST)"
        )
    tag, digest = match.group("tag"), match.group("digest")
    if digest is not None and _DIGEST.match(digest) is None:
        raise UserError(f"{where} {text!r}: digest must be sha256: followed by 64 hex digits")
    if tag is None and digest is None:
        raise UserError(f"{where} {text!r}: no tag and no digest; pin NAME:TAG@sha256:DIGEST")
    return ImageRef(name=match.group("name"), tag=tag, digest=digest)


def check_deployable(ref: ImageRef, env: str, *, where: str = "--image") -> None:
    """The policy for what may run in `env`: a version tag, never a mutable one, and a digest
    where the environment requires it."""
    if ref.tag is not None:
        if ref.tag.lower() in _MUTABLE_TAGS:
            raise UserError(
                f"{where} {ref}: tag {ref.tag!r} is mutable; pin a version and a digest"
            )
        if _SEMVER.match(ref.tag) is None:
            raise UserError(
                f"{where} {ref}: tag {ref.tag!r} is not a semantic version "
                "(MAJOR.MINOR.PATCH[-PRERELEASE])"
            )
    if ref.digest is None and env in DIGEST_REQUIRED:
        raise UserError(f"{where} {ref}: {env} requires a digest (NAME:TAG@sha256:DIGEST)")


def is_semver(tag: str) -> bool:
    return _SEMVER.match(tag) is not None
