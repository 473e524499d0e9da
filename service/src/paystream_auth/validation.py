"""Decoding and validating `POST /v1/authorize`: bytes in, a valid request or a Problem out.

Pure and total: any byte string either yields an `AuthorizeRequest` with its network or raises
`Problem` (400 malformed JSON or a repeated field, 422 naming the field). Messages are written
here, never copied from the decoder, so no input value (a card number in the wrong field, say) is
ever echoed, and neither is a key the API does not know (it could be a card number too).
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

import msgspec

from paystream_auth.cards import luhn_valid, network_for
from paystream_auth.duplicate_keys import FieldNames
from paystream_auth.networks import Network
from paystream_auth.problems import Problem

# ISO 4217 alpha-3 codes the (simulated) acquirer settles in.
Currency = Literal[
    "USD", "EUR", "GBP", "CAD", "AUD", "NZD", "JPY", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK",
    "HUF", "SGD", "HKD", "MXN", "BRL",
]  # fmt: skip
MAX_AMOUNT: Final = 100_000_000


class AuthorizeRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    card_number: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^[0-9]{12,19}$",
            description="12-19 digits passing the Luhn check; the BIN selects the network.",
            examples=["4111111111111111"],
        ),
    ]
    amount: Annotated[
        int,
        msgspec.Meta(ge=1, le=MAX_AMOUNT, description="Amount in minor units (cents)."),
    ]
    currency: Annotated[Currency, msgspec.Meta(description="ISO 4217 alpha-3 code.")]
    merchant_id: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^[A-Za-z0-9_-]{1,64}$", description="1-64 characters of [A-Za-z0-9_-]."
        ),
    ]


FIELD_RULES: Final[dict[str, str]] = {
    "card_number": "must be a string of 12 to 19 digits",
    "amount": f"must be an integer amount in minor units from 1 to {MAX_AMOUNT}",
    "currency": "must be a supported ISO 4217 alpha-3 code (e.g. USD, EUR, GBP)",
    "merchant_id": "must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'",
}
_DECODER: Final = msgspec.json.Decoder(AuthorizeRequest)
_FIELDS: Final = FieldNames(FIELD_RULES)
_AT_FIELD: Final = re.compile(r"- at `\$\.([A-Za-z_]+)")
_MISSING: Final = re.compile(r"missing required field `([A-Za-z_]+)`")


def _invalid(field: str, detail: str) -> Problem:
    return Problem(status=422, slug="invalid-field", detail=detail, field=field)


def _explain(exc: msgspec.ValidationError) -> Problem:
    message = str(exc)
    if match := _MISSING.search(message):
        name = match.group(1)
        return _invalid(name, f"{name} is required")
    if "unknown field" in message:
        return _invalid(
            "body", f"the body has an unknown field: expected only {', '.join(FIELD_RULES)}"
        )
    if match := _AT_FIELD.search(message):
        name = match.group(1)
        return _invalid(name, f"{name} {FIELD_RULES.get(name, 'is invalid')}")
    return _invalid("body", "the body must be a JSON object with " + ", ".join(FIELD_RULES))


def decode_authorize(body: bytes) -> tuple[AuthorizeRequest, Network]:
    """Decode and validate; return the request and its network, or raise Problem."""
    if (repeated := _FIELDS.repeated_field(body)) is not None:
        raise repeated_field(repeated)
    try:
        request = _DECODER.decode(body)
    except msgspec.ValidationError as exc:
        raise _explain(exc) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        # msgspec raises UnicodeDecodeError (not a DecodeError) for invalid UTF-8 inside a string.
        raise Problem(
            status=400, slug="malformed-json", detail="the body is not valid JSON", field="body"
        ) from None
    # msgspec matches patterns with `re.search`, where `$` also matches before a final newline:
    # that newline is the one character the patterns let through, so refuse it here (it must
    # never reach a log line).
    if request.merchant_id.endswith("\n"):
        raise _invalid("merchant_id", f"merchant_id {FIELD_RULES['merchant_id']}")
    if request.card_number.endswith("\n"):
        raise _invalid("card_number", f"card_number {FIELD_RULES['card_number']}")
    network = network_for(request.card_number)
    if network is None:
        raise _invalid("card_number", "card_number has a BIN of an unsupported card network")
    if not luhn_valid(request.card_number):
        raise CardProblem(network)
    return request, network


def repeated_field(name: str) -> Problem:
    return Problem(
        status=400,
        slug="duplicate-key",
        detail=f"{name} appears more than once: an ambiguous request is refused",
        field=name,
    )


class CardProblem(Problem):
    """A card number of a known network that fails the Luhn check (the network label is known)."""

    def __init__(self, network: Network) -> None:
        super().__init__(
            status=422,
            slug="invalid-field",
            detail="card_number fails the Luhn check",
            field="card_number",
        )
        self.network = network


_KEY: Final = re.compile(r"[\x21-\x7e]{1,255}")


def check_idempotency_key(value: str) -> str:
    """1-255 visible ASCII characters, or a 422 naming the header."""
    if not _KEY.fullmatch(value):
        raise _invalid(
            "Idempotency-Key",
            "the Idempotency-Key header must be 1 to 255 visible ASCII characters",
        )
    return value
