"""The parts every message body is built from: ids, texts, attachments, person identifiers,
withheld fields, and what every request states about itself.

Bodies are the `"body"` of a signed envelope. They are strict (`extra="forbid"`) so a partner's
node cannot slip a field past screening that no rule knows about, and frozen so a screened body
cannot change between screening and storing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
    model_validator,
)

from migrex.agreements import PERSON_FIELDS, Urgency

# One attachment, and all attachments of one message together, stay below 1 MiB. A body is
# base64 (x4/3) inside a JWS inside a JWE (each base64url again), so 1 MiB of attachments is
# about 2.4 MiB on the wire, inside the 4 MiB envelope cap agreements set (`max_envelope_bytes`).
MAX_ATTACHMENT_BYTES = 1_048_576
MAX_ATTACHMENTS = 10
# Bounds on what one body may list, so parsing stays cheap. The agreement's own volume limits
# are lower and are applied by screening, where an excess becomes a proposed refusal.
MAX_PERSONS_PER_MESSAGE = 1_000
MAX_LIST = 100

NOT_HELD = "not held"
OUTSIDE_PROFILE = "outside the purpose's data profile"

AgreementId = Annotated[
    str, StringConstraints(max_length=64, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]
# ISO 3166-1 alpha-3, as in passports' machine-readable zone and in the registries.
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
# A hit reference is opaque: 24 bytes as base64url (see disclosure.hit_reference).
HitReference = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{32}$")]
Step = Literal["hit-check", "full"]


def _person_field(name: str) -> str:
    if name not in PERSON_FIELDS:
        raise ValueError(f"{name!r} is not a person field the agreements know")
    return name


def _unique(names: list[str]) -> list[str]:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{name!r} is listed twice")
        seen.add(name)
    return names


PersonField = Annotated[str, AfterValidator(_person_field)]
RequestedFields = Annotated[
    list[PersonField], Field(max_length=len(PERSON_FIELDS)), AfterValidator(_unique)
]
# A person's data as disclosed: PERSON_FIELDS names to JSON values (dates as ISO strings).
PersonRecord = Annotated[dict[PersonField, JsonValue], Field(max_length=len(PERSON_FIELDS))]


class Body(BaseModel):
    """Base of every body and of the parts bodies are made of."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Attachment(Body):
    """A file sent with a message; `content` is standard base64 and must match size and hash."""

    name: Annotated[
        str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^/\\\x00-\x1f\x7f]+$")
    ]
    media_type: Annotated[
        str,
        StringConstraints(
            max_length=255, pattern=r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$"
        ),
    ]
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    size: int = Field(ge=0, le=MAX_ATTACHMENT_BYTES)
    # Checked before decoding, so an oversized attachment is never decoded at all.
    content: str = Field(max_length=4 * ((MAX_ATTACHMENT_BYTES + 2) // 3))

    @field_validator("content")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error:
            raise ValueError("content is not valid base64") from None
        return value

    @model_validator(mode="after")
    def _matches(self) -> Self:
        data = self.data()
        if len(data) != self.size:
            raise ValueError(f"content holds {len(data)} bytes, size says {self.size}")
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise ValueError("content does not match its sha256")
        return self

    def data(self) -> bytes:
        return base64.b64decode(self.content, validate=True)

    @classmethod
    def of(cls, name: str, media_type: str, data: bytes) -> Attachment:
        """An attachment holding `data`, with its size and hash filled in."""
        return cls(
            name=name,
            media_type=media_type,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            content=base64.b64encode(data).decode("ascii"),
        )


def _attachments_fit(attachments: Sequence[Attachment]) -> None:
    total = sum(a.size for a in attachments)
    if total > MAX_ATTACHMENT_BYTES:
        raise ValueError(
            f"attachments hold {total} bytes together; at most {MAX_ATTACHMENT_BYTES} are allowed"
        )


class WithAttachments(Body):
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)

    @field_validator("attachments")
    @classmethod
    def _total(cls, value: list[Attachment]) -> list[Attachment]:
        _attachments_fit(value)
        return value


class PersonIdentifiers(Body):
    """Who a request is about, as the requesting party knows the person.

    The names of these fields are PERSON_FIELDS names, so identifiers and disclosed data speak
    the same vocabulary. Enough to find one person is required: both local names, both Latin
    names, a document number or a national id.
    """

    surname: Name | None = None
    given_name: Name | None = None
    patronymic: Name | None = None
    surname_latin: Name | None = None
    given_name_latin: Name | None = None
    birth_date: date | None = None
    citizenship: Country | None = None
    document_type: Literal["P", "I"] | None = None  # passport, identity card
    document_number: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    national_id: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None

    @model_validator(mode="after")
    def _identifies(self) -> Self:
        named = self.surname is not None and self.given_name is not None
        named_latin = self.surname_latin is not None and self.given_name_latin is not None
        if not (named or named_latin or self.document_number or self.national_id):
            raise ValueError(
                "a person needs both names, both Latin names, a document number or a national id"
            )
        if self.document_type is not None and self.document_number is None:
            raise ValueError("document_type is given without document_number")
        return self


class Withheld(Body):
    """A requested field the reply does not carry, and why (partial fulfilment is explicit)."""

    field: PersonField
    reason: ShortText


class RequestBase(Body):
    """What every request carrying personal data states about itself.

    Purpose and legal basis are optional in the schema on purpose: a request without them is
    still a request, and screening turns the gap into a proposed refusal the reviewer sees,
    rather than the envelope being thrown away as malformed.
    """

    purpose: AgreementId | None = None
    legal_basis: Annotated[str, StringConstraints(max_length=2_000)] | None = None
    urgency: Urgency = Urgency.NORMAL
    urgency_reason: Annotated[str, StringConstraints(max_length=2_000)] | None = None

    @field_validator("legal_basis", "urgency_reason")
    @classmethod
    def _blank_is_absent(cls, value: str | None) -> str | None:
        # Whitespace is stripped first; an empty statement states nothing.
        return value or None
