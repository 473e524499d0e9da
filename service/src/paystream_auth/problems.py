"""RFC 9457 problem details: the one error shape of the API, for our errors and Litestar's.

`Problem` is a plain exception the core raises; `problem_response` renders it. Litestar's own
exceptions (404, 405, 413, 401 from a guard, anything unexpected) go through the same renderer,
so every error is `application/problem+json`. Details never echo request data: anything that
looks like a card number is masked as a last line of defence.
"""

from __future__ import annotations

import dataclasses
from http import HTTPStatus
from typing import Final

import msgspec

from paystream_auth.cards import scrub_card_numbers

MEDIA_TYPE: Final = "application/problem+json"
TYPE_PREFIX: Final = "urn:paystream:problem:"


class ProblemBody(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str | None = None
    field: str | None = None
    instance: str | None = None


@dataclasses.dataclass
class Problem(Exception):
    """An error answer. `slug` names the problem type; `field` the offending request field."""

    status: int
    slug: str
    detail: str
    field: str | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    def body(self, instance: str | None = None) -> ProblemBody:
        return ProblemBody(
            type=TYPE_PREFIX + self.slug if self.slug != "about:blank" else "about:blank",
            title=_title(self.status, self.slug),
            status=self.status,
            detail=scrub_card_numbers(self.detail),
            field=scrub_card_numbers(self.field) if self.field is not None else None,
            instance=instance,
        )


_TITLES: Final = {
    "malformed-json": "Malformed JSON",
    "duplicate-key": "Duplicate key in the JSON body",
    "invalid-field": "Invalid field",
    "body-too-large": "Request body too large",
    "body-timeout": "Request body too slow",
    "unsupported-media-type": "Unsupported media type",
    "idempotency-key-reused": "Idempotency key reused with a different request",
    "idempotency-key-in-flight": "Idempotency key in use by a request still running",
    "idempotency-key-reversing": "Idempotency key held while a timed-out call is reversed",
    "authorization-unresolved": "Timed-out authorization could not be reversed",
    "idempotency-store-unavailable": "Idempotency store unavailable",
    "circuit-open": "Card network circuit open",
    "processor-timeout": "Card network timed out",
    "processor-error": "Card network error",
    "not-ready": "Not ready",
    "unauthorized": "Unauthorized",
    "internal-error": "Internal error",
}


def _title(status: int, slug: str) -> str:
    if slug in _TITLES:
        return _TITLES[slug]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def http_problem(status: int, detail: str | None = None) -> Problem:
    """A generic problem for a plain HTTP error (404, 405, ...): `about:blank` per RFC 9457."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return Problem(status=status, slug="about:blank", detail=detail or phrase)


_ENCODER: Final = msgspec.json.Encoder()


def encode_problem(problem: Problem, instance: str | None = None) -> bytes:
    return _ENCODER.encode(problem.body(instance))
